import { Command } from 'commander';
import { type ContextFactory, sessionHost } from '../context.js';
import { clusterOrCurrent } from '../current.js';
import { addFleetFlags, type FleetFlagValues, fleetSettings, parseDuration } from '../fleet-flags.js';

interface InfoOptions extends FleetFlagValues {
  watch?: boolean;
  interval?: string;
}

/**
 * `kubeon info NAME` (alias `display`): one screen that says whether the cluster is healthy. Reads
 * only: no lock, nothing changed on any node.
 */
export function infoCommand(makeCtx: ContextFactory): Command {
  const cmd = new Command('info')
    .alias('display')
    .description(
      'one screen: version, endpoint and HA mode, certificates, nodes, failing pods, control plane, etcd',
    )
    .argument('[name]', 'cluster name (default: the current cluster)')
    .option('-w, --watch', 'redraw until interrupted')
    .option('--interval <duration>', 'with --watch: time between redraws', '5s');
  addFleetFlags(cmd);
  cmd.action(async (nameArg: string | undefined, opts: InfoOptions, command: Command) => {
    const ctx = makeCtx(command);
    const name = await clusterOrCurrent(ctx, nameArg);
    const intervalMs = parseDuration(opts.interval ?? '5s', '--interval');
    const spec = await ctx.store.readSpec(name);
    const { showInfo } = await import('../../info/show.js');
    await showInfo(
      {
        ...sessionHost(ctx),
        format: ctx.out.format,
        tty: Boolean(ctx.streams.stdout.isTTY) && !ctx.env.NO_COLOR && ctx.env.TERM !== 'dumb',
        write: (t) => ctx.streams.stdout.write(t),
      },
      spec,
      {
        settings: fleetSettings(opts),
        watch: Boolean(opts.watch),
        intervalMs,
      },
    );
  });
  return cmd;
}

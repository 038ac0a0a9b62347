import { Command } from 'commander';
import { badInput } from '../../core/errors.js';
import { type ContextFactory, sessionHost } from '../context.js';
import { clusterOrCurrent } from '../current.js';
import { addFleetFlags, type FleetFlagValues, fleetSettings } from '../fleet-flags.js';
import { reporterFor } from '../progress.js';
import { askLine } from '../prompt.js';

interface DestroyOptions extends FleetFlagValues {
  yes?: boolean;
  force?: boolean;
  keepBackup?: boolean;
}

export function destroyCommand(makeCtx: ContextFactory): Command {
  const cmd = new Command('destroy')
    .description('reset and clean every node, then forget the cluster')
    .argument('[name]', 'cluster name (default: the current cluster, see kubeon use)')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--force', 'forget nodes that cannot be reached or cleaned')
    .option(
      '--keep-backup',
      'archive the cluster directory (spec, PKI, logs) under KUBEON_HOME/backups first',
    );
  addFleetFlags(cmd);
  cmd.action(async (nameArg: string | undefined, opts: DestroyOptions, command: Command) => {
    const ctx = makeCtx(command);
    const name = await clusterOrCurrent(ctx, nameArg);
    await ctx.store.requireCluster(name);
    if (!opts.yes && !ctx.yes) {
      if (!ctx.streams.stdin.isTTY)
        throw badInput(`destroy "${name}" needs confirmation`, 'add --yes when running without a terminal');
      const answer = await askLine(
        ctx,
        `destroy cluster "${name}" and clean its nodes? type its name to confirm: `,
      );
      if (answer !== name)
        throw badInput('not confirmed; nothing was changed', `type "${name}" exactly, or pass --yes`);
    }
    const { destroyCluster } = await import('../../phases/destroy.js');
    await destroyCluster(
      { ...sessionHost(ctx), info: (m) => ctx.out.info(m), reporter: () => reporterFor(ctx) },
      {
        name,
        settings: fleetSettings(opts),
        ...(opts.force ? { force: true } : {}),
        ...(opts.keepBackup ? { keepBackup: true } : {}),
      },
    );
  });
  return cmd;
}

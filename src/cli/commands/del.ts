import { Command, Option } from 'commander';
import { clusterNodes } from '../../cluster/nodes.js';
import { badInput } from '../../core/errors.js';
import { nodeName } from '../../fleet/cluster.js';
import { type ContextFactory, sessionHost } from '../context.js';
import { addFleetFlags, type FleetFlagValues, fleetSettings, parseDuration } from '../fleet-flags.js';
import { reporterFor } from '../progress.js';
import { askLine } from '../prompt.js';

interface DelOptions extends FleetFlagValues {
  yes?: boolean;
  force?: boolean;
  forceDrain?: boolean;
  drainTimeout: string;
}

const EXAMPLES = `
Examples:
  kubeon del prod w7                 # the seventh worker (or: kubeon del prod@w7)
  kubeon del prod name=node-a,node-b
  kubeon del prod ip=192.0.2.13 --yes
  kubeon del prod cp3 --force        # a dead master: out of etcd and the API, no SSH to it
`;

export function delCommand(makeCtx: ContextFactory): Command {
  const cmd = new Command('del')
    .alias('delete')
    .description('drain nodes and remove them from the cluster and etcd, reset and clean them')
    .argument('<target>', 'NAME@SELECTOR, or the cluster name followed by the selector')
    .argument('[selector]', 'nodes to remove: w3, cp2, a node name or address, name=a,b, ip=x,y')
    .option('-y, --yes', 'do not ask for confirmation')
    .addOption(
      new Option('--drain-timeout <duration>', 'give up draining a node after this long').default('300s'),
    )
    .option('--force-drain', 'also delete pods that no controller manages (kubectl drain --force)')
    .option('--force', 'the nodes are dead: remove them from etcd and the cluster without SSH to them')
    .addHelpText('after', EXAMPLES);
  addFleetFlags(cmd);
  cmd.action(async (target: string, sel: string | undefined, opts: DelOptions, command: Command) => {
    const ctx = makeCtx(command);
    if (target.includes('@') === (sel !== undefined))
      throw badInput(
        `"${[target, sel].filter(Boolean).join(' ')}" does not say which nodes to remove`,
        'write kubeon del NAME SELECTOR or kubeon del NAME@SELECTOR, e.g. kubeon del prod w3',
      );
    // Selectors parse addresses with ipaddr.js, which neither --help nor the other commands load.
    const { parseTarget, selectNodes } = await import('../../cluster/selectors.js');
    const parsed = parseTarget(sel === undefined ? target : `${target}@${sel}`, await ctx.store.current());
    const { cluster: name, selector } = parsed;
    await ctx.store.requireCluster(name);
    const drainTimeoutS = Math.ceil(parseDuration(opts.drainTimeout, '--drain-timeout') / 1000);
    const [spec, state] = await Promise.all([ctx.store.readSpec(name), ctx.store.readState(name)]);
    const named = clusterNodes(spec).map((n) => ({ ...n, name: nodeName(n, state) }));
    const picked = selectNodes(named, parsed.terms, selector);
    const { delNodes } = await import('../../phases/del.js');
    await delNodes(
      { ...sessionHost(ctx), info: (m) => ctx.out.info(m), reporter: () => reporterFor(ctx) },
      {
        name,
        ips: picked.map((n) => n.ip),
        settings: fleetSettings(opts),
        drainTimeoutS,
        ...(opts.force ? { force: true } : {}),
        ...(opts.forceDrain ? { forceDrain: true } : {}),
        async confirm(summary) {
          if (opts.yes || ctx.yes) {
            ctx.out.info(summary);
            return;
          }
          if (!ctx.streams.stdin.isTTY)
            throw badInput(
              `del on "${name}" needs confirmation`,
              'add --yes when running without a terminal',
            );
          const answer = await askLine(ctx, `${summary}\ntype the cluster name to confirm: `);
          if (answer !== name)
            throw badInput('not confirmed; nothing was changed', `type "${name}" exactly, or pass --yes`);
        },
      },
    );
  });
  return cmd;
}

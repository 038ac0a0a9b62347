import { Command } from 'commander';
import type { NodeFlags } from '../../cluster/from-flags.js';
import { badInput } from '../../core/errors.js';
import type { specWithNewNodes } from '../add-spec.js';
import { type ContextFactory, sessionHost } from '../context.js';
import { clusterOrCurrent } from '../current.js';
import { addFleetFlags, type FleetFlagValues, fleetSettings } from '../fleet-flags.js';
import { addNodeFlags } from '../node-flags.js';
import { reporterFor } from '../progress.js';

interface AddOptions extends NodeFlags, FleetFlagValues {
  resume?: boolean;
  dryRun?: boolean;
  force?: boolean;
}

const EXAMPLES = `
Examples:
  # two workers, reached with the same key as the cluster's other nodes
  kubeon add prod -w 192.0.2.41,192.0.2.42

  # one master and a range of workers, with their own key
  kubeon add prod -m 192.0.2.14 -w 192.0.2.43-192.0.2.50 --default-pk-file ~/.ssh/new_nodes

  # continue an add that stopped, or refresh existing nodes that were down
  kubeon add prod --resume
`;

export function addCommand(makeCtx: ContextFactory): Command {
  const cmd = new Command('add')
    .description('add masters and/or workers to a cluster, or continue an add that stopped')
    .argument('[name]', 'cluster name (default: the current cluster, see kubeon use)')
    .option('--resume', 'continue the last add: pending nodes, and existing nodes not yet refreshed')
    .option('--dry-run', 'validate and print the plan; change nothing')
    .option('--force', 'accept nodes that another cluster kubeon manages lists (they will be reset)')
    .addHelpText('after', EXAMPLES);
  addNodeFlags(cmd);
  cmd.optionsGroup('Execution:');
  addFleetFlags(cmd);
  cmd.action(async (nameArg: string | undefined, opts: AddOptions, command: Command) => {
    let ctx = makeCtx(command);
    const name = await clusterOrCurrent(ctx, nameArg);
    await ctx.store.requireCluster(name);
    const given = Boolean(opts.master?.length || opts.worker?.length);
    if (opts.resume && given)
      throw badInput('--resume takes no new nodes', `run kubeon add ${name} --resume first, then add them`);
    let added: Awaited<ReturnType<typeof specWithNewNodes>> | undefined;
    if (!opts.resume) {
      // Spec validation loads zod, which `kubeon --help` and the other commands' starts do without.
      const { specWithNewNodes } = await import('../add-spec.js');
      added = await specWithNewNodes(ctx, await ctx.store.readSpec(name), opts);
      ctx = added.ctx;
      for (const w of added.warnings) ctx.out.warn(w);
    }
    const { addNodes } = await import('../../phases/add.js');
    const out = ctx;
    await addNodes(
      { ...sessionHost(ctx), info: (m) => out.out.info(m), reporter: () => reporterFor(out) },
      {
        name,
        settings: fleetSettings(opts),
        ...(added ? { spec: added.spec, added: added.added } : {}),
        ...(opts.dryRun ? { dryRun: true } : {}),
      },
    );
  });
  return cmd;
}

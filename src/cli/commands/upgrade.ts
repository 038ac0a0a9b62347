import { Command } from 'commander';
import { validateClusterName } from '../../cluster/name.js';
import { badInput } from '../../core/errors.js';
import type { ProgressEvent, Reporter } from '../../phases/progress.js';
import { type ContextFactory, sessionHost } from '../context.js';
import { addFleetFlags, type FleetFlagValues, fleetSettings, parseDuration } from '../fleet-flags.js';
import { reporterFor } from '../progress.js';

interface UpgradeOptions extends FleetFlagValues {
  dryRun?: boolean;
  batch?: string;
  drainTimeout?: string;
  allowDotZero?: boolean;
}

const EXAMPLES = `
Examples:
  # see the plan: checks, snapshot, masters one at a time, workers in batches
  kubeon upgrade prod v1.32.4 --dry-run

  # upgrade, five workers at a time
  kubeon upgrade prod v1.32.4 --batch 5

  # continue an upgrade that stopped: the same command
  kubeon upgrade prod v1.32.4
`;

function positive(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1)
    throw badInput(`${flag} ${text} is not a positive whole number`, `give e.g. ${flag} 5`);
  return n;
}

export function upgradeCommand(makeCtx: ContextFactory): Command {
  const cmd = new Command('upgrade')
    .description(
      'upgrade the cluster one minor at a time (etcd snapshot first, masters one by one, workers in batches)',
    )
    .argument('<name>', 'cluster name')
    .argument('<version>', 'Kubernetes version to upgrade to, e.g. v1.32.4 (the next minor at most)')
    .option('--dry-run', 'check the cluster and print the plan; change nothing')
    .option('--batch <n>', 'workers upgraded at once (default: a tenth of the workers, at least 1)')
    .option('--drain-timeout <duration>', 'how long each drain may take (default 5m)')
    .option('--allow-dot-zero', 'accept an X.Y.0 Kubernetes release (refused by default)')
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', EXAMPLES);
  cmd.optionsGroup('Execution:');
  addFleetFlags(cmd);
  cmd.action(async (nameArg: string, version: string, opts: UpgradeOptions, command: Command) => {
    const ctx = makeCtx(command);
    const name = validateClusterName(nameArg);
    const batch = positive(opts.batch, '--batch');
    const drain =
      opts.drainTimeout === undefined ? undefined : parseDuration(opts.drainTimeout, '--drain-timeout');
    const { upgradeCluster } = await import('../../phases/upgrade/run.js');
    const plan: Extract<ProgressEvent, { event: 'plan' }>[] = [];
    const planOnly = Boolean(opts.dryRun) && ctx.out.format !== 'table';
    const reporter = (): Reporter =>
      planOnly
        ? { emit: (e) => (e.event === 'plan' ? plan.push(e) : undefined), close() {} }
        : reporterFor(ctx);
    await upgradeCluster(
      { ...sessionHost(ctx), info: (m) => ctx.out.info(m), reporter },
      {
        name,
        version,
        settings: fleetSettings(opts),
        ...(opts.dryRun ? { dryRun: true } : {}),
        ...(batch !== undefined ? { batch } : {}),
        ...(drain !== undefined ? { drainTimeoutS: Math.ceil(drain / 1000) } : {}),
        ...(opts.allowDotZero ? { allowDotZero: true } : {}),
      },
    );
    if (planOnly)
      ctx.out.result({ plan }, plan, [
        { header: 'PHASE', value: (p) => p.title },
        { header: 'NODE', value: (p) => p.node },
        { header: 'ACTIONS', value: (p) => p.actions.join('; ') },
      ]);
  });
  return cmd;
}

import { Command } from 'commander';
import type { ClusterFlags } from '../../cluster/from-flags.js';
import { redactSpec } from '../../cluster/redact.js';
import { validateClusterName } from '../../cluster/validate.js';
import { badInput, notImplemented } from '../../core/errors.js';
import { plural } from '../../core/suggest.js';
import { planCreate } from '../../phases/create-plan.js';
import type { CommandContext, ContextFactory } from '../context.js';
import { specFromCommandLine } from '../create-spec.js';
import { addFleetFlags, type FleetFlagValues, fleetSettings } from '../fleet-flags.js';
import { addClusterFlags, addNodeFlags } from '../node-flags.js';

interface CreateOptions extends ClusterFlags, FleetFlagValues {
  file?: string;
  dryRun?: boolean;
  registerOnly?: boolean;
  askPass?: boolean;
  allowDotZero?: boolean;
  force?: boolean;
}

async function run(
  cli: CommandContext,
  nameArg: string | undefined,
  version: string | undefined,
  opts: CreateOptions,
  specOptions: ReadonlySet<string>,
): Promise<void> {
  const givesSpec = Boolean(version) || Object.keys(opts).some((k) => specOptions.has(k));
  if (nameArg === undefined && !opts.file)
    throw badInput(
      'no cluster name given',
      'write kubeon create NAME VERSION -m IP ..., or kubeon create -f cluster.yaml',
    );
  if (nameArg !== undefined) {
    const name = validateClusterName(nameArg);
    if (cli.store.exists(name)) {
      if (givesSpec) {
        throw badInput(
          `cluster "${name}" already exists`,
          `run "kubeon create ${name}" with no other arguments to continue it, or "kubeon destroy ${name}" (or "kubeon forget ${name}") first`,
        );
      }
      throw notImplemented(`continuing kubeon create of "${name}"`);
    }
    if (!version && !opts.file)
      throw badInput(
        'missing VERSION',
        `run kubeon create ${name} v1.31.2 -m IP ..., or give -f cluster.yaml`,
      );
  }
  const { spec, warnings, ctx } = await specFromCommandLine(cli, nameArg, version, opts);
  const name = spec.name;
  if (nameArg === undefined && ctx.store.exists(name))
    throw badInput(
      `cluster "${name}" (name: in ${opts.file}) already exists`,
      `run "kubeon create ${name}" to continue it, or "kubeon destroy ${name}" first`,
    );
  const { checkVersionSupported } = await import('../../artifacts/catalog.js');
  checkVersionSupported(spec.version, { allowDotZero: opts.allowDotZero });
  for (const w of warnings) ctx.out.warn(w);

  if (opts.dryRun) {
    const plan = planCreate(spec);
    ctx.out.result({ spec: redactSpec(spec), plan }, plan, [
      { header: 'PHASE', value: (p) => p.title },
      { header: 'NODES', value: (p) => p.nodes },
    ]);
    ctx.out.info(
      `dry run: cluster "${name}" (${spec.version}, ${plural(spec.masters.length, 'master')}, ${plural(spec.workers.length, 'worker')}) is valid; nothing was changed`,
    );
    return;
  }
  if (opts.registerOnly) {
    const { registerCluster } = await import('../../phases/register.js');
    await registerCluster(ctx, spec, fleetSettings(opts));
    return;
  }
  throw notImplemented('kubeon create (installing Kubernetes)');
}

const EXAMPLES = `
Examples:
  # three masters and a range of workers, password asked once
  kubeon create prod v1.31.2 -m 192.0.2.11,192.0.2.12,192.0.2.13 -w 192.0.2.21-192.0.2.40 --ask-pass

  # from a file (kubeon config init writes a commented one); flags override it
  kubeon create -f cluster.yaml
  kubeon create -f cluster.yaml --cni cilium --dry-run

  # same password for every master, key for workers, external load balancer
  kubeon create edge v1.31.2 -m 192.0.2.11 --master-passwd "$PW" -w 192.0.2.21 \\
    --worker-pk-file ~/.ssh/id_ed25519 --lb-ip 192.0.2.100

  # continue a create that stopped
  kubeon create prod

See what a field means: kubeon explain controlPlane.mode
`;

export function createCommand(makeCtx: ContextFactory): Command {
  const cmd = new Command('create')
    .alias('c')
    .alias('new')
    .description('create a cluster from flags and/or a cluster.yaml, or continue one that stopped')
    .argument('[name]', 'cluster name (default: name: in the -f file)')
    .argument('[version]', 'Kubernetes version, e.g. v1.31.2 (default: version: in the -f file)')
    .option('-f, --file <cluster.yaml>', 'cluster spec file; flags override its fields')
    .option('--dry-run', 'validate and print the plan; change nothing')
    .option(
      '--register-only',
      'record the cluster, check SSH to every node and pin host keys; install nothing',
    )
    .option('--allow-dot-zero', 'accept an X.Y.0 Kubernetes release (refused by default)')
    .option('--force', 'accept nodes that another cluster kubeon manages lists (they will be reset)')
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', EXAMPLES);
  // Any of these means "a new spec", which an existing cluster refuses; without them `create NAME`
  // continues the stored one.
  const before = new Set(cmd.options.map((o) => o.attributeName()));
  addNodeFlags(cmd);
  addClusterFlags(cmd);
  const specOptions = new Set(cmd.options.map((o) => o.attributeName()).filter((k) => !before.has(k)));
  cmd.optionsGroup('Execution:');
  addFleetFlags(cmd);
  cmd.action(async (name: string, version: string | undefined, opts: CreateOptions, command: Command) => {
    await run(makeCtx(command), name, version, opts, specOptions);
  });
  return cmd;
}

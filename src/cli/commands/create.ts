import { Command } from 'commander';
import { ASSUMABLE_OS } from '../../cluster/facts.js';
import type { ClusterFlags } from '../../cluster/from-flags.js';
import { validateClusterName } from '../../cluster/name.js';
import { clusterNodes } from '../../cluster/nodes.js';
import { redactSpec } from '../../cluster/redact.js';
import type { ClusterSpec } from '../../cluster/spec.js';
import { specDifference } from '../../cluster/spec-diff.js';
import { badInput } from '../../core/errors.js';
import type { ProgressEvent, Reporter } from '../../phases/progress.js';
import { type CommandContext, type ContextFactory, sessionHost } from '../context.js';
import { addFleetFlags, type FleetFlagValues, fleetSettings } from '../fleet-flags.js';
import { addClusterFlags, addNodeFlags } from '../node-flags.js';
import { reporterFor } from '../progress.js';

interface CreateOptions extends ClusterFlags, FleetFlagValues {
  file?: string;
  dryRun?: boolean;
  registerOnly?: boolean;
  askPass?: boolean;
  allowDotZero?: boolean;
  force?: boolean;
  renderDir?: string;
  assumeOs?: string;
  fromPhase?: string;
  onlyPhase?: string;
  acceptNewImageDigests?: boolean;
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
  let ctx = cli;
  let spec: ClusterSpec;
  // A quick answer before anything else; the authoritative check is repeated under the lock.
  let resume = false;
  if (nameArg !== undefined) {
    const name = validateClusterName(nameArg);
    if (cli.store.exists(name)) {
      // Flags alone cannot be compared with the spec: they would change a cluster already begun.
      if (givesSpec && !version && !opts.file)
        throw badInput(
          `cluster "${name}" already exists`,
          `run "kubeon create ${name}" with no other arguments to continue it, or "kubeon destroy ${name}" (or "kubeon forget ${name}") first`,
        );
      resume = !givesSpec;
    } else if (!version && !opts.file)
      throw badInput(
        'missing VERSION',
        `run kubeon create ${name} v1.31.2 -m IP ..., or give -f cluster.yaml`,
      );
  }
  if (resume) spec = await cli.store.readSpec(nameArg!);
  else {
    const { specFromCommandLine } = await import('../create-spec.js');
    const made = await specFromCommandLine(cli, nameArg, version, opts);
    spec = made.spec;
    ctx = made.ctx;
    // The same command run again continues the cluster it began; another spec under its name is refused.
    if (ctx.store.exists(spec.name)) {
      const stored = await ctx.store.readSpec(spec.name);
      const difference = specDifference(spec, stored);
      if (difference)
        throw badInput(
          `cluster "${spec.name}" already exists with other settings (${difference})`,
          `run "kubeon create ${spec.name}" with no other arguments to continue it as it was begun, or "kubeon destroy ${spec.name}" (or "kubeon forget ${spec.name}") first`,
        );
      spec = stored;
      resume = true;
    }
    for (const w of made.warnings) ctx.out.warn(w);
  }
  const { checkVersionSupported } = await import('../../artifacts/catalog.js');
  checkVersionSupported(spec.version, { allowDotZero: opts.allowDotZero });
  if (opts.assumeOs !== undefined && !ASSUMABLE_OS.includes(opts.assumeOs))
    throw badInput(`--assume-os ${opts.assumeOs} is not known`, `use one of ${ASSUMABLE_OS.join(', ')}`);
  if (opts.assumeOs !== undefined && !opts.dryRun)
    throw badInput('--assume-os only goes with --dry-run', 'add --dry-run, or drop --assume-os');
  const { createCluster } = await import('../../phases/create/run.js');
  // `-o json --dry-run` answers with one document (the redacted spec and the plan), not a stream.
  const plan: Extract<ProgressEvent, { event: 'plan' }>[] = [];
  const planOnly = Boolean(opts.dryRun) && ctx.out.format !== 'table';
  const out = ctx;
  const reporter = (): Reporter =>
    planOnly
      ? { emit: (e) => (e.event === 'plan' ? plan.push(e) : undefined), close() {} }
      : reporterFor(out);
  await createCluster(
    { ...sessionHost(ctx), info: (m) => out.out.info(m), reporter },
    {
      spec,
      settings: fleetSettings(opts),
      resume,
      ...(opts.dryRun ? { dryRun: true } : {}),
      ...(opts.registerOnly ? { registerOnly: true } : {}),
      ...(opts.renderDir ? { renderDir: opts.renderDir } : {}),
      ...(opts.assumeOs ? { assumeOs: opts.assumeOs } : {}),
      ...(opts.fromPhase ? { fromPhase: opts.fromPhase } : {}),
      ...(opts.onlyPhase ? { onlyPhase: opts.onlyPhase } : {}),
      ...(opts.acceptNewImageDigests ? { acceptNewImageDigests: true } : {}),
    },
  );
  if (opts.registerOnly) await printRegistered(ctx, spec.name);
  if (planOnly)
    ctx.out.result({ spec: redactSpec(spec), plan }, plan, [
      { header: 'PHASE', value: (p) => p.title },
      { header: 'NODE', value: (p) => p.node },
      { header: 'ACTIONS', value: (p) => p.actions.join('; ') },
    ]);
}

/** The registered nodes as first contact named and described them. */
async function printRegistered(ctx: CommandContext, name: string): Promise<void> {
  const [stored, state] = await Promise.all([ctx.store.readSpec(name), ctx.store.readState(name)]);
  const rows = clusterNodes(stored).map((n) => {
    const seen = state?.nodes[n.ip];
    return {
      name: n.name ?? seen?.name ?? '',
      role: n.role,
      ip: n.ip,
      arch: seen?.arch ?? '',
      os: seen?.os ?? '',
    };
  });
  ctx.out.result(rows, rows, [
    { header: 'NAME', value: (r) => r.name },
    { header: 'ROLE', value: (r) => r.role },
    { header: 'IP', value: (r) => r.ip },
    { header: 'ARCH', value: (r) => r.arch },
    { header: 'OS', value: (r) => r.os },
  ]);
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
    .option('--render-dir <dir>', 'also write every file kubeon places as DIR/<node>/<absolute path>')
    .option('--assume-os <os>', `with --dry-run: facts for unreachable nodes (${ASSUMABLE_OS.join(', ')})`)
    .option('--from-phase <id>', 'redo this phase and everything after it (expert)')
    .option('--only-phase <id>', 'redo only this phase (expert)')
    .option(
      '--accept-new-image-digests',
      'with offline images: accept a tag that now resolves to another digest than the one recorded',
    )
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

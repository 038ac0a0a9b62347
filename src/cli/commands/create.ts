import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import YAML from 'yaml';
import { checkVersionSupported } from '../../artifacts/catalog.js';
import { ASSUMABLE_OS } from '../../cluster/facts.js';
import { type ClusterFlags, specFromFlags } from '../../cluster/from-flags.js';
import { redactSpec } from '../../cluster/redact.js';
import type { ClusterSpec } from '../../cluster/spec.js';
import { validateClusterName, validateSpec } from '../../cluster/validate.js';
import { badInput } from '../../core/errors.js';
import type { ProgressEvent, Reporter } from '../../phases/progress.js';
import { type CommandContext, type ContextFactory, sessionHost } from '../context.js';
import { addFleetFlags, type FleetFlagValues, fleetSettings } from '../fleet-flags.js';
import { addClusterFlags, addNodeFlags } from '../node-flags.js';
import { reporterFor } from '../progress.js';
import { askSecret } from '../prompt.js';

interface CreateOptions extends ClusterFlags, FleetFlagValues {
  file?: string;
  dryRun?: boolean;
  registerOnly?: boolean;
  askPass?: boolean;
  allowDotZero?: boolean;
  renderDir?: string;
  assumeOs?: string;
  fromPhase?: string;
  onlyPhase?: string;
}

async function readSpecFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw badInput(
      `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      'give the path of an existing cluster.yaml with -f',
    );
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw badInput(
      `${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
      'fix the file (see README "cluster.yaml reference")',
    );
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw badInput(`${path} is not a cluster spec`, 'see README "cluster.yaml reference"');
  return doc as Record<string, unknown>;
}

async function run(
  ctx: CommandContext,
  name: string,
  version: string | undefined,
  opts: CreateOptions,
  specOptions: ReadonlySet<string>,
): Promise<void> {
  validateClusterName(name);
  const givesSpec = Boolean(version) || Object.keys(opts).some((k) => specOptions.has(k));
  // A quick answer before anything else; the authoritative check is repeated under the lock.
  const resume = ctx.store.exists(name) && !givesSpec;
  if (ctx.store.exists(name) && givesSpec) {
    throw badInput(
      `cluster "${name}" already exists`,
      `run "kubeon create ${name}" with no other arguments to continue it, or "kubeon destroy ${name}" first`,
    );
  }
  let spec: ClusterSpec;
  if (resume) spec = await ctx.store.readSpec(name);
  else {
    if (!version && !opts.file)
      throw badInput('missing VERSION', `run kubeon create ${name} v1.31.2 -m IP ...`);
    const file = opts.file ? await readSpecFile(opts.file) : undefined;
    const flags: ClusterFlags = { ...opts };
    if (opts.askPass) flags.askedPassword = await askSecret(ctx, 'SSH password: ');
    const validated = validateSpec(
      specFromFlags(name, version ?? '', flags, file),
      opts.file ?? 'command line',
    );
    spec = validated.spec;
    for (const w of validated.warnings) ctx.out.warn(w);
  }
  checkVersionSupported(spec.version, { allowDotZero: opts.allowDotZero });
  if (opts.assumeOs !== undefined && !ASSUMABLE_OS.includes(opts.assumeOs))
    throw badInput(`--assume-os ${opts.assumeOs} is not known`, `use one of ${ASSUMABLE_OS.join(', ')}`);
  if (opts.assumeOs !== undefined && !opts.dryRun)
    throw badInput('--assume-os only goes with --dry-run', 'add --dry-run, or drop --assume-os');
  const { createCluster } = await import('../../phases/create/run.js');
  // `-o json --dry-run` answers with one document (the redacted spec and the plan), not a stream.
  const plan: Extract<ProgressEvent, { event: 'plan' }>[] = [];
  const planOnly = Boolean(opts.dryRun) && ctx.out.format !== 'table';
  const reporter = (): Reporter =>
    planOnly
      ? { emit: (e) => (e.event === 'plan' ? plan.push(e) : undefined), close() {} }
      : reporterFor(ctx);
  await createCluster(
    { ...sessionHost(ctx), info: (m) => ctx.out.info(m), reporter },
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
    },
  );
  if (planOnly)
    ctx.out.result({ spec: redactSpec(spec), plan }, plan, [
      { header: 'PHASE', value: (p) => p.title },
      { header: 'NODE', value: (p) => p.node },
      { header: 'ACTIONS', value: (p) => p.actions.join('; ') },
    ]);
}

export function createCommand(makeCtx: ContextFactory): Command {
  const cmd = new Command('create')
    .alias('c')
    .alias('new')
    .description('create a cluster, or continue one that stopped (kubeon create NAME)')
    .argument('<name>', 'cluster name')
    .argument('[version]', 'Kubernetes version, e.g. v1.31.2')
    .option('--dry-run', 'validate and print the plan; change nothing')
    .option(
      '--register-only',
      'record the cluster, check SSH to every node and pin host keys; install nothing',
    )
    .option('--allow-dot-zero', 'accept an X.Y.0 Kubernetes release (refused by default)')
    .option('--render-dir <dir>', 'also write every file kubeon places as DIR/<node>/<absolute path>')
    .option('--assume-os <os>', `with --dry-run: facts for unreachable nodes (${ASSUMABLE_OS.join(', ')})`)
    .option('--from-phase <id>', 'redo this phase and everything after it (expert)')
    .option('--only-phase <id>', 'redo only this phase (expert)');
  // Any of these means "a new spec", which an existing cluster refuses; without them `create NAME`
  // continues the stored one.
  const before = new Set(cmd.options.map((o) => o.attributeName()));
  addClusterFlags(cmd);
  addNodeFlags(cmd);
  const specOptions = new Set(cmd.options.map((o) => o.attributeName()).filter((k) => !before.has(k)));
  addFleetFlags(cmd);
  cmd.action(async (name: string, version: string | undefined, opts: CreateOptions, command: Command) => {
    await run(makeCtx(command), name, version, opts, specOptions);
  });
  return cmd;
}

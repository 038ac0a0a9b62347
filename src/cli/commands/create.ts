import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import YAML from 'yaml';
import { checkVersionSupported } from '../../artifacts/catalog.js';
import { type ClusterFlags, specFromFlags } from '../../cluster/from-flags.js';
import { redactSpec } from '../../cluster/redact.js';
import { validateClusterName, validateSpec } from '../../cluster/validate.js';
import { badInput, notImplemented } from '../../core/errors.js';
import { planCreate } from '../../phases/create-plan.js';
import { registerCluster } from '../../phases/register.js';
import type { CommandContext, ContextFactory } from '../context.js';
import { addFleetFlags, type FleetFlagValues, fleetSettings } from '../fleet-flags.js';
import { addClusterFlags, addNodeFlags } from '../node-flags.js';
import { askSecret } from '../prompt.js';

interface CreateOptions extends ClusterFlags, FleetFlagValues {
  file?: string;
  dryRun?: boolean;
  registerOnly?: boolean;
  askPass?: boolean;
  allowDotZero?: boolean;
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
  if (ctx.store.exists(name)) {
    if (givesSpec) {
      throw badInput(
        `cluster "${name}" already exists`,
        `run "kubeon create ${name}" with no other arguments to continue it, or "kubeon destroy ${name}" first`,
      );
    }
    throw notImplemented(`continuing kubeon create of "${name}"`);
  }
  if (!version && !opts.file)
    throw badInput('missing VERSION', `run kubeon create ${name} v1.31.2 -m IP ...`);

  const file = opts.file ? await readSpecFile(opts.file) : undefined;
  const flags: ClusterFlags = { ...opts };
  if (opts.askPass) flags.askedPassword = await askSecret(ctx, 'SSH password: ');
  const { spec, warnings } = validateSpec(
    specFromFlags(name, version ?? '', flags, file),
    opts.file ?? 'command line',
  );
  checkVersionSupported(spec.version, { allowDotZero: opts.allowDotZero });
  for (const w of warnings) ctx.out.warn(w);

  if (opts.dryRun) {
    const plan = planCreate(spec);
    ctx.out.result({ spec: redactSpec(spec), plan }, plan, [
      { header: 'PHASE', value: (p) => p.title },
      { header: 'NODES', value: (p) => p.nodes },
    ]);
    ctx.out.info(
      `dry run: cluster "${name}" (${spec.version}, ${spec.masters.length} masters, ${spec.workers.length} workers) is valid; nothing was changed`,
    );
    return;
  }
  if (opts.registerOnly) {
    await registerCluster(ctx, spec, fleetSettings(opts));
    return;
  }
  throw notImplemented('kubeon create (installing Kubernetes)');
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
    .option('--allow-dot-zero', 'accept an X.Y.0 Kubernetes release (refused by default)');
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

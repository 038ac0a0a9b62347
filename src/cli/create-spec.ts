import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { type ClusterFlags, specFromFlags } from '../cluster/from-flags.js';
import { nodeOwners } from '../cluster/owners.js';
import type { ClusterSpec } from '../cluster/spec.js';
import { validateSpec } from '../cluster/validate.js';
import { badInput } from '../core/errors.js';
import { fileProblem } from '../core/file-errors.js';
import { plural } from '../core/suggest.js';
import { withAskedPassword } from './ask-pass.js';
import type { CommandContext } from './context.js';

/** Reads a cluster.yaml; every failure names the file and says what to do. */
export async function readSpecFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw badInput(
      fileProblem(path, err),
      (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'write one with kubeon config init, then give it with -f'
        : 'give the path of a readable cluster.yaml with -f',
    );
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw badInput(
      `${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
      'fix the file; kubeon config init writes a commented example',
    );
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw badInput(`${path} is not a cluster spec (a YAML mapping)`, 'kubeon config init writes an example');
  return doc as Record<string, unknown>;
}

export interface SpecFromCommandLine {
  spec: ClusterSpec;
  warnings: string[];
  /** The context to continue with: with --ask-pass its environment holds the asked password. */
  ctx: CommandContext;
}

/**
 * create's arguments, flags and -f file to a validated spec. Flags win over the file; name and
 * version may come from either. Nothing is contacted; a node another managed cluster lists is
 * refused unless `force`.
 */
export async function specFromCommandLine(
  ctx: CommandContext,
  name: string | undefined,
  version: string | undefined,
  opts: ClusterFlags & { file?: string; askPass?: boolean; force?: boolean },
): Promise<SpecFromCommandLine> {
  const file = opts.file ? await readSpecFile(opts.file) : undefined;
  const origins = new Map<string, string>();
  const raw = specFromFlags(name, version ?? '', opts, file, origins);
  const { spec, warnings } = validateSpec(raw, opts.file ?? 'command line', origins);
  if (opts.askPass) ctx = await withAskedPassword(ctx);
  const owners = await nodeOwners(ctx.store, spec);
  if (owners.length && !opts.force) {
    const first = owners[0]!;
    throw badInput(
      `node ${first.ip} already belongs to cluster "${first.cluster}"${owners.length > 1 ? ` (and ${plural(owners.length - 1, 'more node')})` : ''}`,
      `use other nodes, remove it there (kubeon del ${first.cluster}@${first.ip}), or give --force if that cluster is gone`,
    );
  }
  return { spec, warnings, ctx };
}

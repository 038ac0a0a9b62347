import { readFile } from 'node:fs/promises';
import type { ClusterPaths, Store } from './store.js';

/**
 * What `kubeon list` shows of a cluster. kubeon writes cluster.yaml and state.json from validated
 * values, so these few fields are read as they stand and the schemas (zod, slow to load) stay off
 * `list`'s start. A file that does not look as kubeon writes it takes the full, validated read,
 * whose error names the damage; every command that acts on the cluster validates it in full anyway.
 * Even the YAML parser costs `list` more than its whole start may take (issue 14), so Store.writeSpec
 * also records the spec's fields in summary.json with a digest of the exact cluster.yaml text; a
 * cluster.yaml edited since (or written before summary.json existed) is parsed as YAML.
 */
export interface ClusterSummary {
  version: string;
  masters: number;
  workers: number;
  haMode: string;
  status: string;
}

/** The spec's part of a summary, as summary.json holds it. */
interface SpecSummary {
  version: string;
  masters: number;
  workers: number;
  haMode: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/**
 * FNV-1a (64 bits) of the text: tells the cluster.yaml kubeon wrote from one edited since. It guards
 * against no one (whoever can edit cluster.yaml can edit summary.json beside it), so list need not
 * load node:crypto, and the stream modules it brings, for it.
 */
function digest(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text)) h = ((h ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, '0');
}

/** The fields of a cluster spec that list shows. */
interface SpecFields {
  version: string;
  masters: unknown[];
  workers: unknown[];
  controlPlane: { mode: string };
}

function specSummary(spec: SpecFields): SpecSummary {
  return {
    version: spec.version,
    masters: spec.masters.length,
    workers: spec.workers.length,
    haMode: spec.controlPlane.mode,
  };
}

/** summary.json for a cluster.yaml of `text`, written from `spec`. */
export function specSummaryFile(text: string, spec: SpecFields): string {
  return `${JSON.stringify({ specDigest: digest(text), ...specSummary(spec) }, null, 2)}\n`;
}

/** summary.json's fields when it was written for exactly this cluster.yaml text. */
async function recorded(paths: ClusterPaths, text: string): Promise<SpecSummary | undefined> {
  const file: unknown = JSON.parse(await readFile(paths.summary, 'utf8'));
  if (
    !isRecord(file) ||
    file.specDigest !== digest(text) ||
    typeof file.version !== 'string' ||
    typeof file.masters !== 'number' ||
    typeof file.workers !== 'number' ||
    typeof file.haMode !== 'string'
  )
    return undefined;
  return { version: file.version, masters: file.masters, workers: file.workers, haMode: file.haMode };
}

async function parsed(text: string): Promise<SpecSummary | undefined> {
  const { default: YAML } = await import('yaml');
  const spec: unknown = YAML.parse(text);
  if (
    !isRecord(spec) ||
    typeof spec.version !== 'string' ||
    !Array.isArray(spec.masters) ||
    !Array.isArray(spec.workers) ||
    !isRecord(spec.controlPlane) ||
    typeof spec.controlPlane.mode !== 'string'
  )
    return undefined;
  return specSummary(spec as unknown as SpecFields);
}

function summaryOf(
  spec: SpecSummary,
  state?: { kubernetesVersion?: string; status: string },
): ClusterSummary {
  return {
    version: state?.kubernetesVersion ?? spec.version,
    masters: spec.masters,
    workers: spec.workers,
    haMode: spec.haMode,
    status: state?.status ?? 'defined',
  };
}

async function quickRead(store: Store, name: string): Promise<ClusterSummary | undefined> {
  const paths = store.paths(name);
  const text = await readFile(paths.spec, 'utf8');
  const spec = (await recorded(paths, text).catch(() => undefined)) ?? (await parsed(text));
  if (!spec) return undefined;
  const stateText = await readFile(paths.state, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  const state: unknown = stateText === undefined ? undefined : JSON.parse(stateText);
  if (state === undefined) return summaryOf(spec);
  if (
    !isRecord(state) ||
    state.schema !== 1 ||
    typeof state.status !== 'string' ||
    !['undefined', 'string'].includes(typeof state.kubernetesVersion)
  )
    return undefined;
  return summaryOf(spec, state as { kubernetesVersion?: string; status: string });
}

/** The cluster's summary; throws the validated read's error when its files are damaged. */
export async function readSummary(store: Store, name: string): Promise<ClusterSummary> {
  const quick = await quickRead(store, name).catch(() => undefined);
  if (quick) return quick;
  const spec = await store.readSpec(name);
  return summaryOf(specSummary(spec), await store.readState(name));
}

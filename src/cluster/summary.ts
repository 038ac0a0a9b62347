import { readFile } from 'node:fs/promises';
import type { Store } from './store.js';

/**
 * What `kubeon list` shows of a cluster. kubeon writes cluster.yaml and state.json from validated
 * values, so these few fields are read as they stand and the schemas (zod, slow to load) stay off
 * `list`'s start. A file that does not look as kubeon writes it takes the full, validated read,
 * whose error names the damage; every command that acts on the cluster validates it in full anyway.
 */
export interface ClusterSummary {
  version: string;
  masters: number;
  workers: number;
  haMode: string;
  status: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

interface SpecFields {
  version: string;
  masters: unknown[];
  workers: unknown[];
  controlPlane: { mode: string };
}

function summaryOf(spec: SpecFields, state?: { kubernetesVersion?: string; status: string }): ClusterSummary {
  return {
    version: state?.kubernetesVersion ?? spec.version,
    masters: spec.masters.length,
    workers: spec.workers.length,
    haMode: spec.controlPlane.mode,
    status: state?.status ?? 'defined',
  };
}

async function quickRead(store: Store, name: string): Promise<ClusterSummary | undefined> {
  const paths = store.paths(name);
  const { default: YAML } = await import('yaml');
  const spec: unknown = YAML.parse(await readFile(paths.spec, 'utf8'));
  const stateText = await readFile(paths.state, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  const state: unknown = stateText === undefined ? undefined : JSON.parse(stateText);
  if (
    !isRecord(spec) ||
    typeof spec.version !== 'string' ||
    !Array.isArray(spec.masters) ||
    !Array.isArray(spec.workers) ||
    !isRecord(spec.controlPlane) ||
    typeof spec.controlPlane.mode !== 'string'
  )
    return undefined;
  if (state === undefined) return summaryOf(spec as unknown as SpecFields);
  if (
    !isRecord(state) ||
    state.schema !== 1 ||
    typeof state.status !== 'string' ||
    !['undefined', 'string'].includes(typeof state.kubernetesVersion)
  )
    return undefined;
  return summaryOf(spec as unknown as SpecFields, state as { kubernetesVersion?: string; status: string });
}

/** The cluster's summary; throws the validated read's error when its files are damaged. */
export async function readSummary(store: Store, name: string): Promise<ClusterSummary> {
  const quick = await quickRead(store, name).catch(() => undefined);
  if (quick) return quick;
  const spec = await store.readSpec(name);
  return summaryOf(spec, await store.readState(name));
}

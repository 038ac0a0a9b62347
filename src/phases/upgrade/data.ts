import { readFile } from 'node:fs/promises';
import type { Host } from '../../cluster/host.js';
import type { EtcdSession } from '../../etcd/connect.js';
import { parseKubeconfig } from '../../pki/kubeconfig.js';
import type { ReadyzCredentials } from '../../pki/renew.js';
import type { CreateData } from '../create/data.js';
import type { PhaseContext } from '../phase.js';
import type { UpgradeStep } from './path.js';
import type { NodeRow } from './scripts.js';

/** What upgrade's phases share; `version` (from create's data) is the version upgraded to. */
export interface UpgradeData extends CreateData {
  step: UpgradeStep;
  /** Workers upgraded at once. */
  batch: number;
  drainTimeoutS: number;
  readyzTimeoutMs: number;
  /** The cluster's Nodes as the check read them at the start of this run. */
  nodeTable?: Map<string, NodeRow>;
  /** A run that continues an interrupted upgrade (state.json says `upgrading`). */
  resuming: boolean;
  /** How the check and the snapshot reach etcd (through an SSH tunnel to a master). */
  etcd: EtcdSession;
}

export type UpgradeContext = PhaseContext<UpgradeData>;

/** Nodes the check found on the new version, Ready and schedulable: nothing left to do on them. */
export function upgradedNodes(ctx: UpgradeContext, hosts: readonly Host[]): Set<string> {
  const want = ctx.data.step.to.version;
  const out = new Set<string>();
  for (const h of hosts) {
    const row = ctx.data.nodeTable?.get(h.node.name);
    if (row && row.version === want && row.ready && row.schedulable) out.add(h.node.name);
  }
  return out;
}

/** The control machine's admin credentials, for /readyz on each master's own API server. */
export async function readyzCredentials(ctx: UpgradeContext): Promise<ReadyzCredentials> {
  const k = parseKubeconfig(await readFile(ctx.paths.kubeconfig, 'utf8'));
  return {
    caPem: k?.caPem ?? '',
    certPem: k?.certPem ?? '',
    keyPem: k?.keyPem ?? '',
    servername: ctx.spec.controlPlane.endpoint,
  };
}

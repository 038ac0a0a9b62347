/**
 * The journal kept in clusters/<name>/state.json. Every step that changes a node is recorded after
 * it finishes, so a re-run can verify and skip what is done instead of redoing it blindly.
 */
export type ClusterStatus = 'registered' | 'creating' | 'running' | 'failed' | 'destroying' | 'upgrading';

export type StepStatus = 'done' | 'failed' | 'skipped';

export interface JournalEntry {
  phase: string;
  /** Node name or IP; absent for cluster-wide steps. */
  node?: string;
  status: StepStatus;
  at: string;
  detail?: string;
}

export interface ClusterState {
  schema: 1;
  status: ClusterStatus;
  /** The Kubernetes version actually running (differs from the spec during an upgrade). */
  kubernetesVersion?: string;
  createdAt: string;
  updatedAt: string;
  /** Facts learnt at first contact: resolved names and pinned identities, keyed by node IP. */
  nodes: Record<string, { name?: string; hostname?: string; arch?: string; os?: string; facts?: unknown }>;
  journal: JournalEntry[];
}

export function newState(now: Date, status: ClusterStatus = 'registered'): ClusterState {
  const at = now.toISOString();
  return { schema: 1, status, createdAt: at, updatedAt: at, nodes: {}, journal: [] };
}

/** Whether a step already finished successfully (the journal's last word for it is "done"). */
export function stepDone(state: ClusterState, phase: string, node?: string): boolean {
  for (let i = state.journal.length - 1; i >= 0; i--) {
    const e = state.journal[i]!;
    if (e.phase === phase && e.node === node) return e.status === 'done';
  }
  return false;
}

import { z } from 'zod';

/**
 * The journal kept in clusters/<name>/state.json. Every step that changes a node is recorded after
 * it finishes, so a re-run can verify and skip what is done instead of redoing it blindly. The file is
 * checked against this schema when read: a hand-edited or truncated journal is reported, not trusted.
 */
const ClusterStatusSchema = z.enum([
  'registered',
  'creating',
  'running',
  'failed',
  'destroying',
  'upgrading',
]);
export type ClusterStatus = z.infer<typeof ClusterStatusSchema>;

const StepStatusSchema = z.enum(['done', 'failed', 'skipped']);
export type StepStatus = z.infer<typeof StepStatusSchema>;

const JournalEntrySchema = z.looseObject({
  phase: z.string(),
  /** Node name or IP; absent for cluster-wide steps. */
  node: z.string().optional(),
  status: StepStatusSchema,
  at: z.string(),
  detail: z.string().optional(),
});
export type JournalEntry = z.infer<typeof JournalEntrySchema>;

// Loose objects: fields a newer kubeon adds survive a read and write by this one.
export const ClusterStateSchema = z.looseObject({
  schema: z.literal(1),
  status: ClusterStatusSchema,
  /** The Kubernetes version actually running (differs from the spec during an upgrade). */
  kubernetesVersion: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Facts learnt at first contact: resolved names and pinned identities, keyed by node IP. */
  nodes: z.record(
    z.string(),
    z.looseObject({
      name: z.string().optional(),
      hostname: z.string().optional(),
      arch: z.string().optional(),
      os: z.string().optional(),
      facts: z.unknown().optional(),
    }),
  ),
  journal: z.array(JournalEntrySchema),
});
export type ClusterState = z.infer<typeof ClusterStateSchema>;

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

import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { HostFacts } from '../cluster/host.js';
import { type ClusterState, type ClusterStatus, newState, stepDone } from '../cluster/state.js';
import type { Store } from '../cluster/store.js';
import { KubeonError } from '../core/errors.js';

/**
 * The create/destroy journal in state.json: after every phase and every node the runner records what
 * finished and saves the file atomically, so a re-run continues where the last one stopped. The
 * file is schema-checked on read: a hand-edited or truncated journal is refused, not trusted.
 */

const EntrySchema = z
  .object({
    phase: z.string(),
    node: z.string().optional(),
    status: z.enum(['done', 'failed', 'skipped']),
    at: z.string(),
    detail: z.string().optional(),
  })
  .strict();

const StateSchema = z
  .object({
    schema: z.literal(1),
    status: z.enum(['registered', 'creating', 'running', 'failed', 'destroying', 'upgrading']),
    kubernetesVersion: z.string().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
    nodes: z.record(
      z.string(),
      z
        .object({
          name: z.string().optional(),
          hostname: z.string().optional(),
          arch: z.string().optional(),
          os: z.string().optional(),
          facts: z.unknown().optional(),
        })
        .strict(),
    ),
    journal: z.array(EntrySchema),
  })
  .strict();

export function parseState(text: string, path: string): ClusterState {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new KubeonError(`${path} is not valid JSON: ${(err as Error).message}`, {
      hint: 'restore it from a backup, or run kubeon destroy NAME --force and create the cluster again',
    });
  }
  const r = StateSchema.safeParse(doc);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new KubeonError(`${path}: ${issue.path.join('.') || '(top)'}: ${issue.message}`, {
      hint: 'restore it from a backup, or run kubeon destroy NAME --force and create the cluster again',
    });
  }
  return r.data as ClusterState;
}

export class Journal {
  private constructor(
    private readonly store: Store,
    private readonly cluster: string,
    readonly state: ClusterState,
    private readonly now: () => Date,
    private readonly persist: boolean,
  ) {}

  /** `persist: false` keeps the journal in memory only (dry runs, registrations not yet stored). */
  static async open(
    store: Store,
    cluster: string,
    opts: { persist?: boolean; now?: () => Date } = {},
  ): Promise<Journal> {
    const now = opts.now ?? (() => new Date());
    const path = store.paths(cluster).state;
    let state: ClusterState;
    try {
      state = parseState(await readFile(path, 'utf8'), path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      state = newState(now(), 'creating');
    }
    return new Journal(store, cluster, state, now, opts.persist ?? true);
  }

  done(phase: string, node?: string): boolean {
    return stepDone(this.state, phase, node);
  }

  record(
    phase: string,
    node: string | undefined,
    status: 'done' | 'failed' | 'skipped',
    detail?: string,
  ): void {
    this.state.journal.push({
      phase,
      ...(node !== undefined ? { node } : {}),
      status,
      at: this.now().toISOString(),
      ...(detail ? { detail } : {}),
    });
  }

  /** Forgets a phase's entries (for `--from-phase`/`--only-phase`, which redo it). */
  forget(phase: string): void {
    this.state.journal = this.state.journal.filter((e) => e.phase !== phase);
  }

  /** Forgets a node that left the cluster: its entries (by name, and add's by address) and facts. */
  forgetNode(name: string, ip: string): void {
    this.state.journal = this.state.journal.filter((e) => e.node !== name && e.node !== ip);
    delete this.state.nodes[ip];
  }

  setStatus(status: ClusterStatus): void {
    this.state.status = status;
  }

  setFacts(ip: string, name: string, facts: HostFacts): void {
    this.state.nodes[ip] = {
      name,
      hostname: facts.hostname,
      arch: facts.arch,
      os: facts.os.pretty,
      facts,
    };
  }

  /** Writes state.json atomically; `force` also writes a journal opened without `persist`. */
  async save(force = false): Promise<void> {
    if (!this.persist && !force) return;
    this.state.updatedAt = this.now().toISOString();
    await this.store.writeState(this.cluster, this.state);
  }
}

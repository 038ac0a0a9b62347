import type { Host } from '../cluster/host.js';
import type { ClusterSpec } from '../cluster/spec.js';
import type { ClusterPaths, Store } from '../cluster/store.js';
import type { Fleet } from '../fleet/fleet.js';
import type { FleetLogger } from '../fleet/log.js';
import type { NodeFailure } from '../fleet/types.js';

/**
 * A phase is one step of a command, in the manner of k0sctl's phase manager: it says which nodes it
 * acts on, may probe whether its work is already there, runs, describes itself for `--dry-run`, and
 * may clean up after a failure. The runner (runner.ts) owns everything around it: ordering, journal,
 * batches, progress, interrupts and the failure summary.
 */

/** The fleet operations phases use; a test passes a fake. */
export type PhaseFleet = Pick<Fleet, 'run' | 'put' | 'query'>;

/** One file kubeon places on a node, for `--render-dir` and for the plan. */
export interface RenderedFile {
  path: string;
  content: string;
  mode: number;
}

export interface PhaseContext<D = unknown> {
  spec: ClusterSpec;
  paths: ClusterPaths;
  store: Store;
  env: NodeJS.ProcessEnv;
  fleet: PhaseFleet;
  log: FleetLogger;
  /** Every node, known after the `facts` phase; empty before. */
  hosts: Host[];
  /** What earlier phases handed on (artifact set, join material, contact results). */
  data: D;
  dryRun: boolean;
  /** Set when the user pressed Ctrl-C: long waits should give up. */
  signal: AbortSignal;
  now(): Date;
  warn(msg: string): void;
  info(msg: string): void;
}

/** The outcome of one node in one phase. */
export interface NodeResult {
  node: string;
  error?: NodeFailure;
  /** The last lines of the node's output, for the failure summary. */
  tail?: string;
  /** Verified as already done: nothing was changed. */
  skipped?: boolean;
}

export interface Phase<D = unknown> {
  id: string;
  title: string;
  /** Nodes the phase acts on; none means it works on the control machine. */
  nodes?(ctx: PhaseContext<D>): Host[];
  /** Nodes at once: 1 is one at a time (master joins); default all. */
  batch?: number;
  /** Runs on every attempt, even when the journal says done (facts, preflight, checks). */
  always?: boolean;
  /** Changes nothing anywhere, so it also runs under `--dry-run` (facts, preflight). */
  readOnly?: boolean;
  /**
   * The probe: which of `hosts` already have this phase's result. Such nodes are skipped and
   * journaled as verified. Without a probe the journal alone decides.
   */
  done?(ctx: PhaseContext<D>, hosts: Host[]): Promise<Set<string>>;
  /** Does the work on `hosts` (all pending nodes, or one batch); control phases get []. */
  run(ctx: PhaseContext<D>, hosts: Host[]): Promise<NodeResult[]>;
  /** What `--dry-run` prints for a node (or the control machine when `host` is undefined). */
  plan?(ctx: PhaseContext<D>, host: Host | undefined): string[];
  /** Files this phase would place on a node (`--render-dir`). */
  files?(ctx: PhaseContext<D>, host: Host): RenderedFile[];
  /** Undoes half-finished remote work after a failure or interrupt (temp files, keys). */
  cleanUp?(ctx: PhaseContext<D>): Promise<void>;
}

/** The same result for every host: all fine, or all failed the same way. */
export function nodeResults(hosts: readonly Host[], error?: NodeFailure): NodeResult[] {
  return hosts.map((h) => ({ node: h.node.name, ...(error ? { error } : {}) }));
}

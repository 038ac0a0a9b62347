/** What went wrong on one node, in the words a summary line uses. */
export type FailureKind = 'unreachable' | 'auth' | 'hostkey-changed' | 'timeout' | 'failed';

export interface NodeFailure {
  kind: FailureKind;
  message: string;
}

/** A node-level failure: carries its kind to the per-node result instead of aborting the run. */
export class NodeError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    opts?: { cause?: unknown },
  ) {
    super(message, opts);
    this.name = 'NodeError';
  }
}

export interface SshCredentials {
  user: string;
  password?: string;
  privateKeyFile?: string;
  privateKeyPassphrase?: string;
}

/** One node as the fleet sees it: where to connect, as whom, and the secrets to do it. */
export interface FleetTarget extends SshCredentials {
  /** Label in output and logs: the node name, or role@ip before the name is known. */
  name: string;
  host: string;
  port: number;
  sudoPassword?: string;
}

export interface JumpHost extends SshCredentials {
  host: string;
  port: number;
}

export interface RunResult {
  node: string;
  ip: string;
  /** Null when the script never ran to completion (unreachable, auth, host key, timeout). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  error?: NodeFailure;
}

export interface PutResult {
  node: string;
  ip: string;
  /** Files sent; files already identical on the node are counted in `skipped`. */
  sent: number;
  skipped: number;
  bytes: number;
  durationMs: number;
  error?: NodeFailure;
}

export function failureOf(err: unknown): NodeFailure {
  if (err instanceof NodeError) return { kind: err.kind, message: err.message };
  return { kind: 'failed', message: err instanceof Error ? err.message : String(err) };
}

/**
 * Connect retries. Only establishing a connection is retried, never a command: a command may have
 * changed the node before it failed, and running it twice is the caller's decision.
 */
export interface RetryPolicy {
  /** Total attempts, including the first. */
  attempts: number;
  baseMs: number;
  capMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseMs: 300, capMs: 4000 };

/**
 * "Full jitter" back-off: a random delay up to an exponentially growing ceiling. Many clients that
 * were refused together (sshd MaxStartups) then come back spread out instead of in a new burst.
 */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
  return Math.round(policy.baseMs / 2 + random() * (ceiling - policy.baseMs / 2));
}

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ECONNABORTED', 'EHOSTUNREACH']);

/**
 * Whether a failed connect is worth another try. sshd over its MaxStartups limit accepts the TCP
 * connection and closes it before or during the key exchange; OpenSSH reports that as
 * "kex_exchange_identification: Connection closed", ssh2 as a reset or a close before the handshake.
 * Timeouts are not retried: a host that swallows packets would multiply the wait.
 */
export function isTransientConnectError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (code && TRANSIENT_CODES.has(code)) return true;
  return /kex_exchange_identification|connection closed|closed before handshake|connection lost before handshake|socket hang up|read ECONNRESET/i.test(
    err.message,
  );
}

export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: {
    policy: RetryPolicy;
    retryable: (err: unknown) => boolean;
    sleep?: (ms: number) => Promise<void>;
    random?: () => number;
    onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
    /** A hard bound on the whole: no attempt starts after this many ms (--connect-timeout). */
    totalMs?: number;
    now?: () => number;
  },
): Promise<T> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = opts.now ?? Date.now;
  const started = now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt + 1 >= opts.policy.attempts || !opts.retryable(err)) throw err;
      const delay = backoffDelay(attempt, opts.policy, opts.random);
      if (opts.totalMs !== undefined && now() - started + delay >= opts.totalMs) throw err;
      opts.onRetry?.(err, attempt + 1, delay);
      await sleep(delay);
    }
  }
}

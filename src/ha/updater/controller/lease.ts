import type { KubeApi } from './kube.js';
import type { Log } from './log.js';

/**
 * Leader election on a coordination.k8s.io/v1 Lease that kubeon ships (so the controller needs no
 * `create`). Like client-go's leaderelection: expiry is judged by the candidate's own clock from when
 * it last saw the lease change, never by comparing clocks with the holder, and every write carries
 * the resourceVersion it read, so a 409 means another replica won the race.
 */

export interface LeaseTiming {
  leaseSeconds: number;
  renewMs: number;
  retryMs: number;
  renewDeadlineMs: number;
}

interface Lease {
  metadata: { resourceVersion?: string; [key: string]: unknown };
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number | null;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number | null;
  };
}

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export type Attempt = 'leading' | 'held' | 'conflict';

export class LeaderElector {
  private observedVersion: string | undefined;
  private observedAt = 0;
  private leading = false;
  private lastRenew = 0;
  private lastAttempt = 0;

  constructor(
    private readonly api: KubeApi,
    private readonly path: string,
    private readonly identity: string,
    private readonly timing: LeaseTiming,
    private readonly log: Log,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Judged by the clock, not only by the last round: a renewal stuck in a dead connection must not
   * leave this replica writing after its renew deadline, when another may already lead.
   */
  isLeader(): boolean {
    if (this.leading && this.now() - this.lastRenew > this.timing.renewDeadlineMs) {
      this.setLeading(false, 'renew deadline passed');
    }
    return this.leading;
  }

  /** The pause before the next round: renew on time, retry soon after a failure or as a candidate. */
  nextRoundMs(): number {
    return this.leading && this.lastRenew === this.lastAttempt ? this.timing.renewMs : this.timing.retryMs;
  }

  /**
   * One round: read the lease, then take or renew it if it is ours to take. Returns whether this
   * replica leads afterwards; a failed renewal keeps leadership until the renew deadline passes.
   */
  async round(): Promise<boolean> {
    let result: Attempt;
    this.lastAttempt = this.now();
    try {
      result = await this.tryAcquireOrRenew();
    } catch (e) {
      this.log('lease', { error: (e as Error).message });
      return this.isLeader();
    }
    if (result === 'leading') {
      this.lastRenew = this.lastAttempt;
      this.setLeading(true, 'acquired');
    } else {
      this.setLeading(false, result === 'conflict' ? 'lost the race (409)' : 'held by another replica');
    }
    return this.leading;
  }

  private setLeading(leading: boolean, why: string): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.log(leading ? 'leader' : 'follower', { identity: this.identity, why });
  }

  private async tryAcquireOrRenew(): Promise<Attempt> {
    const got = await this.api.send('GET', this.path);
    if (got.status !== 200) throw new Error(`GET lease: HTTP ${got.status}`);
    const lease = got.body as Lease;
    const now = this.now();
    if (lease.metadata.resourceVersion !== this.observedVersion) {
      this.observedVersion = lease.metadata.resourceVersion;
      this.observedAt = now;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const durationMs = (spec.leaseDurationSeconds ?? this.timing.leaseSeconds) * 1000;
    const ours = holder === this.identity;
    if (holder && !ours && now < this.observedAt + durationMs) return 'held';
    const next: Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: this.timing.leaseSeconds,
        acquireTime: ours && spec.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (ours ? 0 : 1),
      },
    };
    const put = await this.api.send('PUT', this.path, next);
    if (put.status === 409) return 'conflict';
    if (put.status !== 200) throw new Error(`PUT lease: HTTP ${put.status}`);
    const written = put.body as Lease;
    this.observedVersion = written.metadata.resourceVersion;
    this.observedAt = now;
    return 'leading';
  }

  /**
   * Gives the lease up on shutdown, as client-go's ReleaseOnCancel does: no holder and a one-second
   * duration, so the other replica takes over at its next round instead of waiting for expiry.
   */
  async release(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    const got = await this.api.send('GET', this.path);
    const lease = got.body as Lease;
    if (got.status !== 200 || lease.spec?.holderIdentity !== this.identity) return;
    const now = microTime(this.now());
    const put = await this.api.send('PUT', this.path, {
      ...lease,
      spec: {
        ...lease.spec,
        holderIdentity: null,
        leaseDurationSeconds: 1,
        renewTime: now,
        acquireTime: now,
      },
    });
    this.log('released', { identity: this.identity, status: put.status });
  }
}

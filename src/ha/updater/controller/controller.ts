import { UPDATER } from '../names.js';
import { ApiError, type KubeApi, type WatchEvent } from './kube.js';
import { LeaderElector, type LeaseTiming } from './lease.js';
import type { Log } from './log.js';
import { type EndpointSlice, liveAddresses, planSliceUpdate } from './slices.js';

/**
 * Every replica watches the `default/kubernetes` slice, so a new leader already knows the live
 * apiservers; only the leader writes the `kube-system/apiserver` slice. The leader also re-reads the
 * source on every resync, because a watch through an apiserver that died silently can stall for a
 * while before its idle timeout notices.
 */

export interface ControllerOptions {
  api: KubeApi;
  identity: string;
  timing: LeaseTiming;
  log: Log;
  /** How often the leader re-reads the source and repairs its slice even without a watch event. */
  resyncMs: number;
  /** timeoutSeconds asked of the server for each watch. */
  watchSeconds: number;
}

const SLICES = '/apis/discovery.k8s.io/v1/namespaces';
// A fieldSelector on the name is what lets RBAC grant list/watch on this one object (resourceNames).
const SOURCE_LIST = `${SLICES}/${UPDATER.source.namespace}/endpointslices?fieldSelector=${encodeURIComponent(`metadata.name=${UPDATER.source.name}`)}`;
const TARGET = `${SLICES}/${UPDATER.namespace}/endpointslices/${UPDATER.slice}`;
const LEASE = `/apis/coordination.k8s.io/v1/namespaces/${UPDATER.namespace}/leases/${UPDATER.lease}`;
const OWNER = { serviceName: UPDATER.service, managedBy: UPDATER.managedBy, portName: UPDATER.portName };

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;

interface ListBody {
  metadata: { resourceVersion: string };
  items: EndpointSlice[];
}

/** Waits `ms`, or less when aborted. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export class Controller {
  private readonly stopping = new AbortController();
  private readonly elector: LeaderElector;
  private source: EndpointSlice | undefined;
  private wake: (() => void) | undefined;
  private pendingRefresh = false;
  private dirty = false;
  private running: Promise<unknown> | undefined;

  constructor(private readonly o: ControllerOptions) {
    this.elector = new LeaderElector(o.api, LEASE, o.identity, o.timing, o.log);
  }

  start(): void {
    this.o.log('start', { identity: this.o.identity });
    this.running = Promise.all([this.electLoop(), this.watchLoop(), this.reconcileLoop()]);
  }

  /** Stops every loop, then releases the lease if this replica holds it. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    await this.running;
    await this.elector.release().catch((e: Error) => this.o.log('release failed', { error: e.message }));
    this.o.api.close();
    this.o.log('stopped', { identity: this.o.identity });
  }

  private get signal(): AbortSignal {
    return this.stopping.signal;
  }

  private async electLoop(): Promise<void> {
    while (!this.signal.aborted) {
      const was = this.elector.isLeader();
      const leading = await this.elector.round();
      if (leading && !was) this.requestReconcile(true);
      await pause(this.elector.nextRoundMs(), this.signal);
    }
  }

  private requestReconcile(refresh: boolean): void {
    this.pendingRefresh ||= refresh;
    this.dirty = true;
    this.wake?.();
  }

  private async reconcileLoop(): Promise<void> {
    let backoff = BACKOFF_MIN_MS;
    while (!this.signal.aborted) {
      if (!this.dirty) {
        let timer: NodeJS.Timeout | undefined;
        const byEvent = await new Promise<boolean>((resolve) => {
          this.wake = () => resolve(true);
          timer = setTimeout(() => resolve(false), this.o.resyncMs);
        });
        clearTimeout(timer);
        this.wake = undefined;
        if (!byEvent) this.pendingRefresh = true;
      }
      if (this.signal.aborted) return;
      this.dirty = false;
      const refresh = this.pendingRefresh;
      this.pendingRefresh = false;
      if (!this.elector.isLeader()) continue;
      let done = false;
      try {
        if (refresh) this.source = (await this.list()).items[0];
        done = await this.reconcile();
      } catch (e) {
        this.o.log('reconcile failed', { error: (e as Error).message });
      }
      if (done) {
        backoff = BACKOFF_MIN_MS;
        continue;
      }
      // A lost race is retried soon with fresh reads; a refusal that lasts (RBAC, a sick apiserver)
      // is retried less and less often.
      await pause(backoff, this.signal);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      this.requestReconcile(true);
    }
  }

  /** Brings the target slice in line with the source; false when it should be retried. */
  private async reconcile(): Promise<boolean> {
    const source = this.source;
    if (!source) {
      this.o.log('skip', { why: 'no default/kubernetes slice' });
      return true;
    }
    const got = await this.o.api.send('GET', TARGET);
    if (got.status === 404) {
      this.o.log('skip', { why: `${UPDATER.namespace}/${UPDATER.slice} slice is missing; kubeon ships it` });
      return true;
    }
    if (got.status !== 200) throw new Error(`GET slice: HTTP ${got.status}`);
    const plan = planSliceUpdate(source, got.body as EndpointSlice, OWNER);
    if (!plan) return true;
    if ('skip' in plan) {
      this.o.log('skip', { why: plan.skip });
      return true;
    }
    // Leadership can end while the reads were in flight; a stale leader must not write.
    if (!this.elector.isLeader()) return true;
    const put = await this.o.api.send('PUT', TARGET, plan.next);
    if (put.status === 409) {
      this.o.log('conflict', { object: 'slice' });
      return false;
    }
    if (put.status !== 200) throw new Error(`PUT slice: HTTP ${put.status}`);
    this.o.log('mirrored', { from: plan.from, to: plan.to });
    return true;
  }

  private async list(): Promise<ListBody> {
    const got = await this.o.api.send('GET', SOURCE_LIST);
    if (got.status !== 200)
      throw new ApiError(got.status, `list default/kubernetes slice: HTTP ${got.status}`);
    return got.body as ListBody;
  }

  private setSource(slice: EndpointSlice | undefined, why: string): void {
    const before = this.source ? liveAddresses(this.source).join(',') : '';
    this.source = slice;
    const after = slice ? liveAddresses(slice).join(',') : '';
    if (before !== after) this.o.log('source', { why, addresses: after || 'none' });
    this.requestReconcile(false);
  }

  /** List, then watch from the list's resourceVersion; 410 Gone relists, other failures back off. */
  private async watchLoop(): Promise<void> {
    let version: string | undefined;
    let backoff = BACKOFF_MIN_MS;
    while (!this.signal.aborted) {
      const began = Date.now();
      try {
        if (version === undefined) {
          const list = await this.list();
          this.setSource(list.items[0], 'list');
          version = list.metadata.resourceVersion;
        }
        const watchFrom: string = version;
        const once = new AbortController();
        const abortOnce = () => once.abort();
        this.signal.addEventListener('abort', abortOnce, { once: true });
        const onEvent = (e: WatchEvent) => {
          if (e.type === 'ERROR') {
            const code = (e.object as { code?: number }).code;
            this.o.log('watch error', { code, from: watchFrom });
            if (code === 410) version = undefined;
            once.abort();
            return;
          }
          const meta = (e.object as { metadata?: { resourceVersion?: string } }).metadata;
          if (meta?.resourceVersion) version = meta.resourceVersion;
          if (e.type === 'ADDED' || e.type === 'MODIFIED')
            this.setSource(e.object as unknown as EndpointSlice, 'watch');
          if (e.type === 'DELETED') this.setSource(undefined, 'deleted');
        };
        const path = `${SOURCE_LIST}&watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(watchFrom)}&timeoutSeconds=${this.o.watchSeconds}`;
        await this.o.api
          .watch(path, (this.o.watchSeconds + 15) * 1000, onEvent, once.signal)
          .finally(() => this.signal.removeEventListener('abort', abortOnce));
        if (version === undefined) continue;
        // A watch the server ends at once, again and again, must not spin.
        if (Date.now() - began < 1000) await pause(backoff, this.signal);
        backoff = BACKOFF_MIN_MS;
      } catch (e) {
        if (e instanceof ApiError && e.status === 410) {
          this.o.log('watch expired', { status: 410, action: 'relist' });
          version = undefined;
          continue;
        }
        this.o.log('watch failed', { error: (e as Error).message, retryMs: backoff });
        await pause(backoff, this.signal);
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      }
    }
  }
}

import { describe, expect, it } from 'vitest';
import type { ApiResponse, KubeApi } from '../../src/ha/updater/controller/kube.js';
import { LeaderElector, microTime } from '../../src/ha/updater/controller/lease.js';
import { type EndpointSlice, planSliceUpdate } from '../../src/ha/updater/controller/slices.js';
import { LEADER_TIMING } from '../../src/ha/updater/names.js';

const OWNER = { serviceName: 'apiserver', managedBy: 'kubeon.io/apiserver-updater', portName: 'https' };
const slice = (addresses: string[], extra: Partial<EndpointSlice> = {}): EndpointSlice => ({
  metadata: {
    name: 'x',
    resourceVersion: '5',
    labels: {
      'kubernetes.io/service-name': 'apiserver',
      'endpointslice.kubernetes.io/managed-by': OWNER.managedBy,
    },
  },
  addressType: 'IPv4',
  endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
  ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
  ...extra,
});

describe('planSliceUpdate', () => {
  it('mirrors ready addresses only, keeps the resourceVersion it read, and is a no-op when equal', () => {
    const source = slice(['10.0.0.12', '10.0.0.11']);
    source.endpoints!.push({ addresses: ['10.0.0.13'], conditions: { ready: false } });
    const plan = planSliceUpdate(source, slice(['10.0.0.13']), OWNER);
    expect(plan && 'next' in plan && plan.to).toEqual(['10.0.0.11', '10.0.0.12']);
    expect(plan && 'next' in plan && plan.next.metadata.resourceVersion).toBe('5');
    expect(planSliceUpdate(source, slice(['10.0.0.11', '10.0.0.12']), OWNER)).toBeUndefined();
  });

  it('never empties the Service and never changes its address type', () => {
    expect(planSliceUpdate(slice([]), slice(['10.0.0.11']), OWNER)).toEqual({
      skip: 'the kubernetes slice has no ready address',
    });
    expect(
      planSliceUpdate(slice(['fd00::1'], { addressType: 'IPv6' }), slice(['10.0.0.11']), OWNER),
    ).toHaveProperty('skip');
  });

  it('follows the apiservers port and restores missing labels', () => {
    const plan = planSliceUpdate(
      slice(['10.0.0.11'], { ports: [{ name: 'https', port: 8443, protocol: 'TCP' }] }),
      slice(['10.0.0.11'], { metadata: { name: 'x', resourceVersion: '5' } }),
      OWNER,
    );
    expect(plan && 'next' in plan && plan.next.ports).toEqual([
      { name: 'https', port: 8443, protocol: 'TCP' },
    ]);
    expect(plan && 'next' in plan && plan.next.metadata.labels).toEqual({
      'kubernetes.io/service-name': 'apiserver',
      'endpointslice.kubernetes.io/managed-by': OWNER.managedBy,
    });
  });
});

/** An in-memory Lease behind the two calls the elector makes, on a clock the test moves. */
function leaseHarness(spec: Record<string, unknown>) {
  const h = {
    clock: 1_000_000,
    hang: false,
    lease: { metadata: { resourceVersion: '1' }, spec },
    elector: undefined as unknown as LeaderElector,
  };
  const api = {
    async send(method: string, _path: string, body?: unknown): Promise<ApiResponse> {
      if (h.hang) return new Promise(() => {});
      if (method === 'PUT') {
        const version = String(Number(h.lease.metadata.resourceVersion) + 1);
        h.lease = { ...(body as typeof h.lease), metadata: { resourceVersion: version } };
      }
      return { status: 200, body: h.lease };
    },
  } as unknown as KubeApi;
  h.elector = new LeaderElector(
    api,
    '/lease',
    'me',
    LEADER_TIMING,
    () => {},
    () => h.clock,
  );
  return h;
}

describe('LeaderElector', () => {
  it('writes MicroTime with six fractional digits', () => {
    expect(microTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe('2026-01-02T03:04:05.678000Z');
  });

  it('stops leading at its renew deadline even while a renewal hangs', async () => {
    const h = leaseHarness({});
    expect(await h.elector.round()).toBe(true);
    expect(h.lease.spec.holderIdentity).toBe('me');
    expect(h.elector.nextRoundMs()).toBe(LEADER_TIMING.renewMs);
    h.hang = true;
    void h.elector.round();
    h.clock += LEADER_TIMING.renewDeadlineMs;
    expect(h.elector.isLeader()).toBe(true);
    h.clock += 1;
    expect(h.elector.isLeader()).toBe(false);
  });

  it('waits for a held lease to expire by its own clock, then takes it', async () => {
    const h = leaseHarness({ holderIdentity: 'other', leaseDurationSeconds: 12, leaseTransitions: 3 });
    const start = h.clock;
    expect(await h.elector.round()).toBe(false);
    h.clock = start + 11_999;
    expect(await h.elector.round()).toBe(false);
    h.clock = start + 12_000;
    expect(await h.elector.round()).toBe(true);
    expect(h.lease.spec.leaseTransitions).toBe(4);
  });
});

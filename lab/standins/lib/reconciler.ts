/**
 * The lease endpoint reconciler (pkg/controlplane/reconcilers/lease.go with endpointsadapter.go):
 * each apiserver renews a master lease under /registry/masterleases/ and writes the
 * default/kubernetes Endpoints and EndpointSlice from the apiservers whose lease is fresh, so
 * watchers of either see apiservers come and go.
 */
import type { Obj } from './api-types.js';
import type { Etcd } from './etcd.js';

const LEASE_TTL_MS = 15_000;

/** Apiservers that renewed their master lease recently: what the lease endpoint reconciler publishes. */
export async function liveApiservers(etcd: Etcd): Promise<string[]> {
  const leases = await etcd.list('/registry/masterleases/');
  return leases
    .filter(
      (kv) => Date.now() - Number((JSON.parse(kv.value) as { renewed?: number }).renewed ?? 0) < LEASE_TTL_MS,
    )
    .map((kv) => kv.key.slice('/registry/masterleases/'.length))
    .sort();
}

function desired(ips: string[], port: number): [string, Obj][] {
  const ports = [{ name: 'https', port, protocol: 'TCP' }];
  return [
    [
      '/registry/services/endpoints/default/kubernetes',
      {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: {
          name: 'kubernetes',
          namespace: 'default',
          labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' },
        },
        subsets: ips.length ? [{ addresses: ips.map((ip) => ({ ip })), ports }] : [],
      },
    ],
    [
      '/registry/endpointslices/default/kubernetes',
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: 'kubernetes',
          namespace: 'default',
          labels: { 'kubernetes.io/service-name': 'kubernetes' },
        },
        addressType: 'IPv4',
        endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
        ports,
      },
    ],
  ];
}

/** One reconcile pass; objects are rewritten only when their content changes. */
export async function reconcileKubernetesEndpoints(
  etcd: Etcd,
  port: number,
  stamp: (o: Obj, existing?: Obj) => Obj,
): Promise<void> {
  const ips = await liveApiservers(etcd);
  for (const [key, want] of desired(ips, port)) {
    const kv = await etcd.get(key);
    const have = kv ? (JSON.parse(kv.value) as Obj) : undefined;
    const strip = (o: Obj) =>
      JSON.stringify({ ...o, metadata: { name: o.metadata.name, labels: o.metadata.labels } });
    if (have && strip(have) === strip(want)) continue;
    // another apiserver may write at the same time; the next pass settles it
    await etcd.putIf(key, JSON.stringify(stamp(want, have)), kv?.modRevision ?? '0');
  }
}

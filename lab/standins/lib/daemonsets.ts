/**
 * The controller-manager stand-in's daemonset and nodeipam controllers, cut down to what a
 * kubeadm cluster's CNI depends on. daemonset: one Pod per DaemonSet and Node whose taints the
 * template tolerates (plus the tolerations the real controller adds, pkg/controller/daemon/util)
 * and whose labels match its nodeSelector; the kubelet stand-in then runs it or says why not.
 * nodeipam: with --allocate-node-cidrs, each Node gets the next free block of --cluster-cidr
 * (mask --node-cidr-mask-size, 24 by default for IPv4) as spec.podCIDR.
 */
import { createHash } from 'node:crypto';
import type { ApiClient } from './client.js';

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

/** The tolerations the daemonset controller adds to every DaemonSet pod (AddOrUpdateDaemonPodTolerations). */
const DAEMON_TOLERATIONS: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

/** v1 Toleration.ToleratesTaint. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (!t.key && t.operator !== 'Exists') return false;
  return t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '');
}

/** Whether a DaemonSet pod may run on a node: every NoSchedule/NoExecute taint tolerated, nodeSelector matched. */
export function schedulable(
  spec: { tolerations?: Toleration[]; nodeSelector?: Record<string, string> },
  node: { labels?: Record<string, string>; taints?: Taint[] },
): boolean {
  const all = [...(spec.tolerations ?? []), ...DAEMON_TOLERATIONS];
  for (const taint of node.taints ?? []) {
    if (taint.effect === 'PreferNoSchedule') continue;
    if (!all.some((t) => tolerates(t, taint))) return false;
  }
  return Object.entries(spec.nodeSelector ?? {}).every(([k, v]) => node.labels?.[k] === v);
}

/** A stable pod name per DaemonSet and node, so every controller-manager replica agrees on it. */
export function daemonPodName(ds: string, node: string): string {
  return `${ds}-${createHash('sha256').update(node).digest('hex').slice(0, 5)}`;
}

interface Obj {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
  };
  spec?: Record<string, unknown>;
}

interface NodeObj extends Obj {
  spec?: { taints?: Taint[]; podCIDR?: string; podCIDRs?: string[] };
}

export async function syncDaemonSets(api: ApiClient): Promise<void> {
  const [dss, nodes, pods] = await Promise.all([
    api.get<{ items: Obj[] }>('/apis/apps/v1/daemonsets'),
    api.get<{ items: NodeObj[] }>('/api/v1/nodes'),
    api.get<{ items: Obj[] }>('/api/v1/pods'),
  ]);
  for (const ds of dss.items) {
    const ns = ds.metadata.namespace ?? 'default';
    const template = (ds.spec?.template ?? {}) as {
      metadata?: { labels?: Record<string, string> };
      spec?: Record<string, unknown>;
    };
    const podSpec = template.spec ?? {};
    for (const node of nodes.items) {
      const name = daemonPodName(ds.metadata.name, node.metadata.name);
      const have = pods.items.find((p) => p.metadata.namespace === ns && p.metadata.name === name);
      const want = schedulable(podSpec, {
        ...(node.metadata.labels ? { labels: node.metadata.labels } : {}),
        ...(node.spec?.taints ? { taints: node.spec.taints } : {}),
      });
      if (want && !have) {
        await api.call('POST', `/api/v1/namespaces/${ns}/pods`, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name,
            namespace: ns,
            labels: template.metadata?.labels ?? {},
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: 'DaemonSet',
                name: ds.metadata.name,
                uid: ds.metadata.uid,
                controller: true,
              },
            ],
          },
          spec: {
            ...podSpec,
            nodeName: node.metadata.name,
            tolerations: [...((podSpec.tolerations as Toleration[]) ?? []), ...DAEMON_TOLERATIONS],
          },
          status: { phase: 'Pending' },
        });
      } else if (!want && have) {
        await api.call('DELETE', `/api/v1/namespaces/${ns}/pods/${name}`);
      }
    }
  }
  // pods of a deleted DaemonSet go too (garbage collection of owned objects)
  for (const p of pods.items) {
    const owner = p.metadata.ownerReferences?.find((o) => o.kind === 'DaemonSet');
    if (
      owner &&
      !dss.items.some((d) => d.metadata.name === owner.name && d.metadata.namespace === p.metadata.namespace)
    )
      await api.call('DELETE', `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}`);
  }
}

function ipv4(cidr: string): { base: number; bits: number } | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr.trim());
  if (!m) return undefined;
  const base = m.slice(1, 5).reduce((a, o) => a * 256 + Number(o), 0);
  return { base, bits: Number(m[5]) };
}

const dotted = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** The next free node block of the cluster CIDR, or undefined when it is exhausted. */
export function nextPodCidr(clusterCidr: string, maskSize: number, taken: string[]): string | undefined {
  const c = ipv4(clusterCidr);
  if (!c || maskSize < c.bits) return undefined;
  const used = new Set(taken);
  const size = 2 ** (32 - maskSize);
  for (let i = 0; i < 2 ** (maskSize - c.bits); i++) {
    const cidr = `${dotted(c.base + i * size)}/${maskSize}`;
    if (!used.has(cidr)) return cidr;
  }
  return undefined;
}

export async function allocateNodeCidrs(
  api: ApiClient,
  clusterCidr: string,
  maskSize: number,
): Promise<void> {
  const nodes = await api.get<{ items: NodeObj[] }>('/api/v1/nodes');
  const taken = nodes.items.flatMap((n) => (n.spec?.podCIDR ? [n.spec.podCIDR] : []));
  for (const n of nodes.items) {
    if (n.spec?.podCIDR) continue;
    const cidr = nextPodCidr(clusterCidr.split(',')[0]!, maskSize, taken);
    if (!cidr) return;
    taken.push(cidr);
    await api.call(
      'PATCH',
      `/api/v1/nodes/${n.metadata.name}`,
      { spec: { podCIDR: cidr, podCIDRs: [cidr] } },
      'application/merge-patch+json',
    );
  }
}

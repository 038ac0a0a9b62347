/**
 * The kubelet stand-in's side of the pod network. Pods the API binds to this node (the
 * controller-manager stand-in's DaemonSet pods, or any pod with spec.nodeName) are admitted as
 * static pods are (lib/podstart.ts) and get a status; nothing runs for them. The network is
 * ready when a CNI config sits in /etc/cni/net.d, or when a pod that mounts that directory (the
 * CNI's DaemonSet pod: calico-node, cilium, kube-flannel) is admitted here and, for a CNI that
 * takes the node's block from the Node object, the node has spec.podCIDR.
 */
import { readdirSync } from 'node:fs';
import type { ApiClient } from './client.js';
import { admitPod, type Blocked, type NodeRuntime, type PodSpecLike } from './podstart.js';

export const CNI_CONF_DIR = '/etc/cni/net.d';
export const NOT_READY_MESSAGE =
  'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized';

export interface NetworkState {
  ready: boolean;
  message: string;
}

interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  command?: string[];
  args?: string[];
  env?: { valueFrom?: { configMapKeyRef?: { name: string } } }[];
}

export interface BoundPod {
  metadata: { name: string; namespace: string; annotations?: Record<string, string> };
  spec: Omit<PodSpecLike, 'containers' | 'initContainers'> & {
    containers: Container[];
    initContainers?: Container[];
    volumes?: { hostPath?: { path: string }; configMap?: { name: string } }[];
  };
  status?: { phase?: string; podIP?: string };
}

export function cniConfigPresent(dir = CNI_CONF_DIR): boolean {
  try {
    return readdirSync(dir).some((f) => /\.(conf|conflist|json)$/.test(f));
  } catch {
    return false;
  }
}

export function isCniPod(p: BoundPod): boolean {
  return (p.spec.volumes ?? []).some((v) => v.hostPath?.path.replace(/\/$/, '') === CNI_CONF_DIR);
}

/** ConfigMaps a pod reads (volumes and env), where CNIs keep their IPAM settings. */
export function configMapsOf(p: BoundPod): string[] {
  const names = new Set<string>();
  for (const v of p.spec.volumes ?? []) if (v.configMap?.name) names.add(v.configMap.name);
  for (const c of [...(p.spec.initContainers ?? []), ...p.spec.containers])
    for (const e of c.env ?? [])
      if (e.valueFrom?.configMapKeyRef?.name) names.add(e.valueFrom.configMapKeyRef.name);
  return [...names];
}

/**
 * Whether the CNI takes each node's pod block from Node.spec.podCIDR: flannel with
 * --kube-subnet-mgr (kube-flannel.yml); calico with host-local IPAM and "usePodCidr" (calico's
 * manifests default to calico-ipam, which does not); cilium with `ipam: kubernetes` in
 * cilium-config (its default, cluster-pool, does not).
 */
export function needsPodCidr(p: BoundPod, configMaps: Record<string, string>[]): string | undefined {
  const argv = [...(p.spec.initContainers ?? []), ...p.spec.containers].flatMap((c) => [
    ...(c.command ?? []),
    ...(c.args ?? []),
  ]);
  if (argv.includes('--kube-subnet-mgr')) return 'flannel --kube-subnet-mgr';
  for (const data of configMaps) {
    if (data.ipam === 'kubernetes') return 'cilium ipam: kubernetes';
    if (Object.values(data).some((v) => /"subnet"\s*:\s*"usePodCidr"/.test(v)))
      return 'host-local IPAM with usePodCidr';
  }
  return undefined;
}

/** The status the kubelet posts for a pod it was given: Running when admitted, else waiting. */
export function boundPodStatus(
  p: BoundPod,
  blocked: Blocked | undefined,
  ips: { hostIP: string; podIP?: string },
): Record<string, unknown> {
  const ready = !blocked;
  const containers = p.spec.containers.map((c) => ({
    name: c.name,
    image: c.image,
    ready,
    restartCount: 0,
    started: ready,
    state: ready
      ? { running: { startedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } }
      : { waiting: { reason: blocked.reason, message: blocked.message } },
  }));
  return {
    phase: ready ? 'Running' : 'Pending',
    hostIP: ips.hostIP,
    ...(ready && ips.podIP ? { podIP: ips.podIP, podIPs: [{ ip: ips.podIP }] } : {}),
    conditions: ['Ready', 'ContainersReady'].map((type) => ({ type, status: ready ? 'True' : 'False' })),
    containerStatuses: containers,
  };
}

/** The n-th address of a pod block (from .2: .0 is the network, .1 the node's bridge). */
export function podIp(podCidr: string, n: number): string | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(podCidr);
  if (!m) return undefined;
  const base = m.slice(1, 5).reduce((a, o) => a * 256 + Number(o), 0);
  const ip = base + 2 + n;
  return [24, 16, 8, 0].map((s) => Math.floor(ip / 2 ** s) % 256).join('.');
}

/**
 * One pass over the pods bound to this node: the CNI's pods first (they decide the network),
 * then the others. Returns the network state the Node's Ready condition reports.
 */
export async function syncBoundPods(
  api: ApiClient,
  rt: NodeRuntime,
  node: string,
  hostIP: string,
  posted: Map<string, string>,
): Promise<NetworkState> {
  const list = await api.get<{ items: BoundPod[] }>(`/api/v1/pods?fieldSelector=spec.nodeName%3D${node}`);
  const pods = list.items.filter((p) => !p.metadata.annotations?.['kubernetes.io/config.mirror']);
  const nodeObj = await api.get<{ spec?: { podCIDR?: string } }>(`/api/v1/nodes/${node}`);
  const podCidr = nodeObj.spec?.podCIDR;
  const post = async (p: BoundPod, status: Record<string, unknown>) => {
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    // startedAt changes on every pass; post only when the phase, address or a reason changes
    const digest = JSON.stringify([
      status.phase,
      status.podIP,
      (status.containerStatuses as { state: { waiting?: unknown } }[]).map(
        (c) => c.state.waiting ?? 'running',
      ),
    ]);
    if (posted.get(key) === digest) return;
    await api.call(
      'PATCH',
      `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}/status`,
      { status },
      'application/merge-patch+json',
    );
    posted.set(key, digest);
  };
  let state: NetworkState = cniConfigPresent()
    ? { ready: true, message: '' }
    : { ready: false, message: NOT_READY_MESSAGE };
  const cniPods = pods.filter(isCniPod);
  for (const p of cniPods) {
    const blocked = await admitPod(rt, p.spec, state.ready);
    await post(p, boundPodStatus(p, blocked, { hostIP, podIP: hostIP }));
    if (blocked || state.ready) continue;
    const maps = await Promise.all(
      configMapsOf(p).map((name) =>
        api
          .find<{ data?: Record<string, string> }>(
            `/api/v1/namespaces/${p.metadata.namespace}/configmaps/${name}`,
          )
          .then((c) => c?.data ?? {}),
      ),
    );
    const why = needsPodCidr(p, maps);
    if (why && !podCidr)
      state = {
        ready: false,
        message: `${NOT_READY_MESSAGE} (CNI pod ${p.metadata.name}: ${why} needs the node's spec.podCIDR, and node "${node}" has none: the controller-manager assigns it with --allocate-node-cidrs=true and --cluster-cidr, which kubeadm sets from networking.podSubnet)`,
      };
    else state = { ready: true, message: '' };
  }
  let n = 0;
  for (const p of pods) {
    if (cniPods.includes(p)) continue;
    const blocked = await admitPod(rt, p.spec, state.ready);
    const ip = p.spec.hostNetwork ? hostIP : podCidr ? podIp(podCidr, n++) : undefined;
    await post(p, boundPodStatus(p, blocked, { hostIP, ...(ip ? { podIP: ip } : {}) }));
  }
  return state;
}

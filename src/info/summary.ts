/**
 * What `kubeon info` shows, as data: pure functions from the API's objects (and the other sources'
 * answers) to the report, so the screen and `-o json|yaml` say the same thing and tests can check
 * either against the objects they made.
 */

interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  creationTimestamp?: string;
}

export interface ApiNode {
  metadata: Meta;
  spec?: { unschedulable?: boolean };
  status?: {
    conditions?: { type: string; status: string }[];
    addresses?: { type: string; address: string }[];
    nodeInfo?: { kubeletVersion?: string; containerRuntimeVersion?: string; osImage?: string };
  };
}

interface ContainerStatus {
  name: string;
  ready?: boolean;
  state?: { waiting?: { reason?: string }; terminated?: { reason?: string } };
}

export interface ApiPod {
  metadata: Meta;
  spec?: { nodeName?: string };
  status?: { phase?: string; reason?: string; containerStatuses?: ContainerStatus[] };
}

export interface NodeRow {
  name: string;
  role: 'master' | 'worker';
  ip: string;
  status: string;
  kubeletVersion: string;
  runtime: string;
  os: string;
  created: string;
  ageSeconds: number;
}

export interface PodProblem {
  name: string;
  phase: string;
  reason: string;
  node: string;
}

export interface ControlPlanePod {
  component: string;
  phase: string;
  ready: boolean;
}

export interface EtcdMemberRow {
  name: string;
  id: string;
  healthy: boolean;
  leader: boolean;
  dbSize: number;
  version: string;
  error?: string;
}

/** One worker's view of the control-plane endpoint, from the HA mode's probe. */
export interface HaWorkerHealth {
  node: string;
  healthy: boolean;
  detail: string;
}

export interface InfoReport {
  cluster: {
    name: string;
    /** The API server's own version (/version), or undefined when the API did not answer. */
    version: string | undefined;
    endpoint: string;
    /** The API address in the control machine's kubeconfig, and how it was reached. */
    api: { server: string; via: string; error?: string };
  };
  ha: {
    mode: string;
    /**
     * Per worker, from the HA mode's health probe. `null`: no probe is wired for this mode yet, so
     * nothing is claimed either way.
     */
    workers: HaWorkerHealth[] | null;
    error?: string;
  };
  /** The certificate and kubeconfig kubeon issued that expires first (its PKI on this machine). */
  certificates: {
    earliest?: { name: string; where: string; notAfter: string; residualSeconds: number };
    error?: string;
  };
  nodes: NodeRow[];
  pods: { total: number; notRunning: Record<string, PodProblem[]> };
  controlPlane: Record<string, ControlPlanePod[]>;
  etcd: { members: EtcdMemberRow[]; error?: string };
  lastOperation?: {
    status: string;
    updatedAt: string;
    step?: { phase: string; node?: string; status: string; at: string };
  };
}

const CONTROL_PLANE_ROLE = 'node-role.kubernetes.io/control-plane';

export function nodeRow(n: ApiNode, now: Date): NodeRow {
  const ready = n.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  const status = [ready === 'True' ? 'Ready' : ready === 'False' ? 'NotReady' : 'Unknown'];
  if (n.spec?.unschedulable) status.push('SchedulingDisabled');
  const created = n.metadata.creationTimestamp ?? '';
  const info = n.status?.nodeInfo ?? {};
  return {
    name: n.metadata.name,
    role: n.metadata.labels && CONTROL_PLANE_ROLE in n.metadata.labels ? 'master' : 'worker',
    ip: n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '',
    status: status.join(','),
    kubeletVersion: info.kubeletVersion ?? '',
    runtime: info.containerRuntimeVersion ?? '',
    os: info.osImage ?? '',
    created,
    ageSeconds: created ? Math.max(0, Math.floor((now.getTime() - Date.parse(created)) / 1000)) : 0,
  };
}

/**
 * A pod is a problem when it is neither running nor finished, or runs with a container that is not
 * ready (a crash loop keeps the phase Running): the reason is the first waiting or terminated
 * container's, else the pod's own.
 */
export function podProblem(p: ApiPod): PodProblem | undefined {
  const phase = p.status?.phase ?? 'Unknown';
  if (phase === 'Succeeded') return undefined;
  const containers = p.status?.containerStatuses ?? [];
  const unready = containers.find((c) => !c.ready);
  if (phase === 'Running' && containers.length > 0 && !unready) return undefined;
  const reason =
    unready?.state?.waiting?.reason ??
    unready?.state?.terminated?.reason ??
    p.status?.reason ??
    (phase === 'Running' ? 'NotReady' : phase);
  return { name: p.metadata.name, phase, reason, node: p.spec?.nodeName ?? '' };
}

export function podsSummary(pods: readonly ApiPod[]): InfoReport['pods'] {
  const notRunning: Record<string, PodProblem[]> = {};
  for (const p of pods) {
    const problem = podProblem(p);
    if (!problem) continue;
    const ns = p.metadata.namespace ?? '';
    const list = notRunning[ns] ?? [];
    list.push(problem);
    notRunning[ns] = list;
  }
  return { total: pods.length, notRunning };
}

/** kubeadm's static pods carry `tier: control-plane` and `component: NAME`; grouped by the master they run on. */
export function controlPlanePods(pods: readonly ApiPod[]): Record<string, ControlPlanePod[]> {
  const out: Record<string, ControlPlanePod[]> = {};
  for (const p of pods) {
    if (p.metadata.namespace !== 'kube-system' || p.metadata.labels?.tier !== 'control-plane') continue;
    const node = p.spec?.nodeName ?? '';
    const containers = p.status?.containerStatuses ?? [];
    const pod: ControlPlanePod = {
      component: p.metadata.labels.component ?? p.metadata.name,
      phase: p.status?.phase ?? 'Unknown',
      ready: containers.length > 0 && containers.every((c) => c.ready),
    };
    const list = out[node] ?? [];
    list.push(pod);
    out[node] = list;
  }
  for (const list of Object.values(out)) list.sort((a, b) => a.component.localeCompare(b.component));
  return out;
}

/**
 * The containers the kubelet stand-in runs, as the CRI lists them (ListContainers in
 * k8s.io/cri-api runtime/v1/api.proto). The kubelet reports them to the containerd stand-in on
 * every change, as a real kubelet creates them through it, so `crictl ps` sees the static pods.
 */
import { createHash } from 'node:crypto';

export type CriState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';

export interface CriContainer {
  id: string;
  podSandboxId: string;
  metadata: { name: string; attempt: number };
  image: { image: string };
  imageRef: string;
  state: CriState;
  /** Nanoseconds since the epoch, as a decimal string (int64 in JSON). */
  createdAt: string;
  labels: Record<string, string>;
}

export interface PodContainers {
  namespace: string;
  name: string;
  uid: string;
  containers: { name: string; image: string; attempt: number; running: boolean; startedAt?: string }[];
}

const hex = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex');

export function criContainers(pods: PodContainers[]): CriContainer[] {
  return pods.flatMap((p) => {
    const podSandboxId = hex('sandbox', p.uid);
    return p.containers.map((c) => ({
      id: hex('container', p.uid, c.name, String(c.attempt)),
      podSandboxId,
      metadata: { name: c.name, attempt: c.attempt },
      image: { image: c.image },
      imageRef: c.image,
      state: c.running ? 'CONTAINER_RUNNING' : c.startedAt ? 'CONTAINER_EXITED' : 'CONTAINER_CREATED',
      createdAt: `${BigInt(Date.parse(c.startedAt ?? '1970-01-01T00:00:00Z')) * 1_000_000n}`,
      labels: {
        'io.kubernetes.container.name': c.name,
        'io.kubernetes.pod.name': p.name,
        'io.kubernetes.pod.namespace': p.namespace,
        'io.kubernetes.pod.uid': p.uid,
      },
    }));
  });
}

export interface PsFilter {
  /** A regular expression the container name must match (crictl ps --name). */
  name?: string;
  /** created, running, exited or unknown, case-insensitive (crictl ps --state). */
  state?: string;
  /** Without --state or -a, crictl lists running containers only. */
  all?: boolean;
}

const STATES = ['created', 'running', 'exited', 'unknown'];

/** crictl's filter, newest first (cri-tools cmd/crictl/container.go); throws crictl's message for a bad --state. */
export function filterContainers(list: CriContainer[], f: PsFilter): CriContainer[] {
  let state: string | undefined;
  if (f.state !== undefined) {
    state = f.state.toLowerCase();
    if (!STATES.includes(state))
      throw new Error('--state should be one of created, running, exited or unknown');
  }
  const pattern = f.name ? new RegExp(f.name) : undefined;
  return list
    .filter((c) =>
      state ? c.state === `CONTAINER_${state.toUpperCase()}` : f.all || c.state === 'CONTAINER_RUNNING',
    )
    .filter((c) => !pattern || pattern.test(c.metadata.name))
    .sort((a, b) => (BigInt(b.createdAt) > BigInt(a.createdAt) ? 1 : -1));
}

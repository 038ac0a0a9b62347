/**
 * What must hold before the kubelet stand-in starts a pod's containers, in the order the real
 * kubelet meets it (kuberuntime SyncPod): the pod network for a pod without hostNetwork, a pod
 * sandbox (the runtime's sandbox image, a cgroup driver both sides agree on), then each
 * container's image by its exact reference in containerd's k8s.io namespace.
 */
import { criCall, type ImageRecord, type RuntimeInfo } from './cri.js';
import type { ImageStatus } from './images.js';

export type CgroupDriver = 'systemd' | 'cgroupfs';

export interface Blocked {
  /** The container's waiting reason, as `kubectl get pod` shows it. */
  reason: string;
  message: string;
}

/**
 * The driver the kubelet uses. With KubeletCgroupDriverFromCRI (alpha and off in 1.28-1.30,
 * beta and on from 1.31, GA from 1.34) and a runtime that answers RuntimeConfig (containerd 2.0
 * and later) it is the runtime's; otherwise it is the kubelet's own `cgroupDriver`.
 */
export function effectiveCgroupDriver(
  kubeletMinor: number,
  gates: Record<string, boolean>,
  kubeletDriver: CgroupDriver,
  runtime: Pick<RuntimeInfo, 'cgroupDriver' | 'runtimeConfig'>,
): { driver: CgroupDriver; fromCri: boolean } {
  const gate = kubeletMinor >= 34 ? true : (gates.KubeletCgroupDriverFromCRI ?? kubeletMinor >= 31);
  if (gate && runtime.runtimeConfig) return { driver: runtime.cgroupDriver, fromCri: true };
  return { driver: kubeletDriver, fromCri: false };
}

/** What runc says when the cgroups path the kubelet built is for the other driver. */
export function cgroupMismatch(kubelet: CgroupDriver, runtime: CgroupDriver): string | undefined {
  if (kubelet === runtime) return undefined;
  const fix = `set the kubelet's cgroupDriver and containerd's runc option SystemdCgroup to the same driver (kubelet: ${kubelet}, containerd: SystemdCgroup = ${runtime === 'systemd'})`;
  // the message of containerd's CRI plugin and runc (kubernetes-sigs/cri-tools#1292)
  if (runtime === 'systemd')
    return `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to start sandbox: failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "/kubepods/burstable/pod" instead: unknown [stand-in: ${fix}]`;
  return `Failed to create pod sandbox: [stand-in: the kubelet gives runc the systemd slice "kubepods-burstable.slice:cri-containerd:ID" and runc's cgroupfs driver takes it as a directory, so on a real host the sandbox runs outside the kubelet's cgroups and is killed and re-created in a loop; ${fix}]`;
}

export const NETWORK_NOT_READY =
  'network is not ready: container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized';

/** The pull policy the API server defaults: Always for :latest or no tag, else IfNotPresent. */
export function pullPolicy(image: string, policy: string | undefined): string {
  if (policy) return policy;
  const ref = image.split('@')[0]!;
  const colon = ref.lastIndexOf(':');
  const tag = colon > ref.lastIndexOf('/') ? ref.slice(colon + 1) : '';
  return image.includes('@') || (tag && tag !== 'latest') ? 'IfNotPresent' : 'Always';
}

export class NodeRuntime {
  constructor(
    readonly endpoint: string,
    readonly runtime: RuntimeInfo,
    readonly cgroupDriver: CgroupDriver,
  ) {}

  async status(image: string): Promise<ImageStatus> {
    return criCall<ImageStatus>(this.endpoint, 'POST', '/v1/images/status', { image });
  }

  async pull(image: string): Promise<ImageRecord> {
    return criCall<ImageRecord>(this.endpoint, 'POST', '/v1/images/pull', { image }, 120_000);
  }

  /** Sandbox creation: the runtime pulls its sandbox image when it lacks it; runc needs the kubelet's driver. */
  async sandbox(): Promise<Blocked | undefined> {
    const sandbox = this.runtime.sandboxImage;
    if (!(await this.status(sandbox)).image) {
      try {
        await this.pull(sandbox);
      } catch (e) {
        return {
          reason: 'ContainerCreating',
          message: `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox image "${sandbox}": failed to pull image "${sandbox}": ${(e as Error).message.replace(/^rpc error: code = \w+ desc = /, '')} (the sandbox image is containerd's ${this.runtime.configVersion >= 3 ? 'pinned_images.sandbox' : 'sandbox_image'}; import it with "ctr -n k8s.io images import")`,
        };
      }
    }
    const mismatch = cgroupMismatch(this.cgroupDriver, this.runtime.cgroupDriver);
    return mismatch ? { reason: 'ContainerCreating', message: mismatch } : undefined;
  }

  /** EnsureImageExists: present by exact reference, or pulled, or refused as the policy says. */
  async image(image: string, policy: string | undefined): Promise<Blocked | undefined> {
    const p = pullPolicy(image, policy);
    const st = await this.status(image);
    if (st.image && p !== 'Always') return undefined;
    if (p === 'Never')
      return {
        reason: 'ErrImageNeverPull',
        message: `Container image "${image}" is not present with pull policy of Never (${st.missing})`,
      };
    try {
      await this.pull(image);
      return undefined;
    } catch (e) {
      return {
        reason: 'ErrImagePull',
        message: `Failed to pull image "${image}": ${(e as Error).message}${st.missing ? ` (${st.missing})` : ''}`,
      };
    }
  }
}

export interface PodSpecLike {
  hostNetwork?: boolean;
  containers: { image: string; imagePullPolicy?: string }[];
  initContainers?: { image: string; imagePullPolicy?: string }[];
}

/** Everything that keeps a pod from starting on this node, or undefined when it can start. */
export async function admitPod(
  rt: NodeRuntime,
  spec: PodSpecLike,
  networkReady: boolean,
): Promise<Blocked | undefined> {
  if (!spec.hostNetwork && !networkReady) return { reason: 'ContainerCreating', message: NETWORK_NOT_READY };
  const sandbox = await rt.sandbox();
  if (sandbox) return sandbox;
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    const blocked = await rt.image(c.image, c.imagePullPolicy);
    if (blocked) return blocked;
  }
  return undefined;
}

/**
 * The rules behind "a pod starts only if …" (issue 10, items 1-3), as pure functions: image
 * references as the CRI plugin normalises them, kubeadm's image list, the kubelet's cgroup
 * driver per version and runtime, DaemonSet placement, node pod CIDRs and which CNIs need them.
 */
import { describe, expect, it } from 'vitest';
import { configMapsOf, needsPodCidr, podIp } from '../lib/cni.js';
import { daemonPodName, nextPodCidr, schedulable } from '../lib/daemonsets.js';
import { clusterImages, controlPlaneImages, findImage, missingHint, normalizeRef } from '../lib/images.js';
import { cgroupMismatch, effectiveCgroupDriver, pullPolicy } from '../lib/podstart.js';
import { parseVersion } from '../lib/versions.js';

const v = (t: string) => parseVersion(t)!;
const rec = (name: string, namespace = 'k8s.io', digest = `sha256:${'a'.repeat(64)}`) => ({
  name,
  namespace,
  digest,
  size: 1,
  importedAt: '',
});

describe('image references', () => {
  it('normalise as distribution/reference does', () => {
    expect(normalizeRef('haproxy:2.8')).toBe('docker.io/library/haproxy:2.8');
    expect(normalizeRef('calico/node:v3.29.1')).toBe('docker.io/calico/node:v3.29.1');
    expect(normalizeRef('index.docker.io/library/haproxy:2.8')).toBe('docker.io/library/haproxy:2.8');
    expect(normalizeRef('registry.k8s.io/pause:3.10')).toBe('registry.k8s.io/pause:3.10');
    expect(normalizeRef('localhost/x')).toBe('localhost/x:latest');
    expect(normalizeRef('10.1.2.3:5000/k8s/etcd:3.5.24-0')).toBe('10.1.2.3:5000/k8s/etcd:3.5.24-0');
    expect(() => normalizeRef('Registry.k8s.io/Pause:3.10')).toThrow(/must be lowercase/);
  });

  it('are found only by exact reference in the k8s.io namespace', () => {
    const images = [rec('registry.k8s.io/pause:3.10'), rec('docker.io/library/haproxy:2.8', 'default')];
    expect(findImage(images, 'registry.k8s.io/pause:3.10')?.name).toBe('registry.k8s.io/pause:3.10');
    expect(findImage(images, 'registry.k8s.io/pause:3.9')).toBeUndefined();
    expect(findImage(images, 'pause:3.10')).toBeUndefined();
    expect(findImage(images, 'haproxy:2.8')).toBeUndefined();
    expect(missingHint('haproxy:2.8', images)).toContain('namespace "default", not "k8s.io"');
    expect(missingHint('registry.k8s.io/pause:3.9', images)).toContain(
      'only registry.k8s.io/pause:3.10 is present',
    );
    expect(findImage(images, `registry.k8s.io/pause@sha256:${'a'.repeat(64)}`)?.name).toBe(
      'registry.k8s.io/pause:3.10',
    );
    expect(findImage(images, `registry.k8s.io/pause@sha256:${'b'.repeat(64)}`)).toBeUndefined();
  });
});

describe("kubeadm's image list", () => {
  it('puts CoreDNS under coredns/ only for registry.k8s.io', () => {
    const base = { kubeadmMinor: 31, kubernetesVersion: v('v1.31.14'), etcd: {} };
    expect(controlPlaneImages({ ...base, imageRepository: 'registry.k8s.io' })).toEqual([
      'registry.k8s.io/kube-apiserver:v1.31.14',
      'registry.k8s.io/kube-controller-manager:v1.31.14',
      'registry.k8s.io/kube-scheduler:v1.31.14',
      'registry.k8s.io/kube-proxy:v1.31.14',
      'registry.k8s.io/coredns/coredns:v1.11.3',
      'registry.k8s.io/pause:3.10',
      'registry.k8s.io/etcd:3.5.24-0',
    ]);
    expect(controlPlaneImages({ ...base, imageRepository: 'mirror.lab:5000/k8s' })).toContain(
      'mirror.lab:5000/k8s/coredns:v1.11.3',
    );
  });

  it('follows the ClusterConfiguration: dns and etcd overrides, disabled addons, external etcd', () => {
    const list = clusterImages(
      {
        imageRepository: 'r.lab/k8s',
        dns: { imageRepository: 'r.lab/dns', imageTag: 'v9' },
        proxy: { disabled: true },
        etcd: { local: { imageTag: '3.5.0-0' } },
      },
      v('v1.31.14'),
      31,
    );
    expect(list).toContain('r.lab/dns/coredns:v9');
    expect(list).toContain('r.lab/k8s/etcd:3.5.0-0');
    expect(list.some((i) => i.includes('kube-proxy'))).toBe(false);
    const external = clusterImages(
      { etcd: { external: { endpoints: ['https://e:2379'] } } },
      v('v1.31.14'),
      31,
    );
    expect(external.some((i) => i.includes('/etcd:'))).toBe(false);
  });
});

describe('cgroup driver', () => {
  const c17 = { cgroupDriver: 'systemd' as const, runtimeConfig: false };
  const c20 = { cgroupDriver: 'systemd' as const, runtimeConfig: true };
  it("comes from the CRI only with KubeletCgroupDriverFromCRI and containerd 2.x, else from the kubelet's config", () => {
    expect(effectiveCgroupDriver(30, {}, 'cgroupfs', c20)).toEqual({ driver: 'cgroupfs', fromCri: false });
    expect(effectiveCgroupDriver(30, { KubeletCgroupDriverFromCRI: true }, 'cgroupfs', c20).driver).toBe(
      'systemd',
    );
    expect(effectiveCgroupDriver(31, {}, 'cgroupfs', c17)).toEqual({ driver: 'cgroupfs', fromCri: false });
    expect(effectiveCgroupDriver(31, {}, 'cgroupfs', c20)).toEqual({ driver: 'systemd', fromCri: true });
    expect(effectiveCgroupDriver(33, { KubeletCgroupDriverFromCRI: false }, 'cgroupfs', c20).driver).toBe(
      'cgroupfs',
    );
    // GA (locked on) from 1.34
    expect(effectiveCgroupDriver(34, { KubeletCgroupDriverFromCRI: false }, 'cgroupfs', c20).driver).toBe(
      'systemd',
    );
  });

  it('a mismatch fails the sandbox with the runtime message and the fix', () => {
    expect(cgroupMismatch('systemd', 'systemd')).toBeUndefined();
    expect(cgroupMismatch('cgroupfs', 'systemd')).toContain(
      'expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups',
    );
    expect(cgroupMismatch('systemd', 'cgroupfs')).toContain('SystemdCgroup = false');
  });

  it('pull policy defaults as the API server does', () => {
    expect(pullPolicy('haproxy:2.8', undefined)).toBe('IfNotPresent');
    expect(pullPolicy('haproxy', undefined)).toBe('Always');
    expect(pullPolicy('haproxy:latest', undefined)).toBe('Always');
    expect(pullPolicy(`x@sha256:${'a'.repeat(64)}`, undefined)).toBe('IfNotPresent');
    expect(pullPolicy('haproxy', 'Never')).toBe('Never');
  });
});

describe('DaemonSet pods and pod CIDRs', () => {
  const cp = { effect: 'NoSchedule', key: 'node-role.kubernetes.io/control-plane' };
  it('a DaemonSet pod lands on a tainted node only with a toleration', () => {
    expect(schedulable({}, { taints: [cp] })).toBe(false);
    expect(schedulable({ tolerations: [{ operator: 'Exists' }] }, { taints: [cp] })).toBe(true);
    expect(
      schedulable(
        { tolerations: [{ key: cp.key, operator: 'Exists', effect: 'NoSchedule' }] },
        { taints: [cp] },
      ),
    ).toBe(true);
    expect(schedulable({}, { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] })).toBe(
      true,
    );
    expect(schedulable({ nodeSelector: { 'kubernetes.io/os': 'linux' } }, { labels: {} })).toBe(false);
    expect(daemonPodName('calico-node', 's001')).toMatch(/^calico-node-[0-9a-f]{5}$/);
  });

  it('nodeipam hands out the next free block of the cluster CIDR', () => {
    expect(nextPodCidr('10.244.0.0/16', 24, [])).toBe('10.244.0.0/24');
    expect(nextPodCidr('10.244.0.0/16', 24, ['10.244.0.0/24', '10.244.1.0/24'])).toBe('10.244.2.0/24');
    expect(nextPodCidr('10.244.0.0/24', 24, ['10.244.0.0/24'])).toBeUndefined();
    expect(podIp('10.244.3.0/24', 0)).toBe('10.244.3.2');
  });

  it('knows which CNIs take the block from the Node', () => {
    const pod = (args: string[], volumes: { configMap?: { name: string } }[] = []) => ({
      metadata: { name: 'p', namespace: 'kube-system' },
      spec: { containers: [{ name: 'c', image: 'i:1', args }], volumes },
    });
    expect(needsPodCidr(pod(['--ip-masq', '--kube-subnet-mgr']), [])).toBe('flannel --kube-subnet-mgr');
    expect(
      needsPodCidr(pod([]), [{ cni_network_config: '{"ipam": {"type": "calico-ipam"}}' }]),
    ).toBeUndefined();
    expect(
      needsPodCidr(pod([]), [
        { cni_network_config: '{"ipam": {"type": "host-local", "subnet": "usePodCidr"}}' },
      ]),
    ).toContain('usePodCidr');
    expect(needsPodCidr(pod([]), [{ ipam: 'kubernetes' }])).toContain('cilium');
    expect(needsPodCidr(pod([]), [{ ipam: 'cluster-pool' }])).toBeUndefined();
    expect(configMapsOf(pod([], [{ configMap: { name: 'cilium-config' } }]))).toEqual(['cilium-config']);
  });
});

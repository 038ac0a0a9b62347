/**
 * On a lab system host: each wrong way to prepare a node for pods (issue 10, items 1-3) fails
 * with a message that says what to fix. kubeadm init refuses a node whose images were not
 * imported, or were imported into the wrong containerd namespace; the kubelet starts no static
 * pod without the sandbox image or with a cgroup driver containerd does not use, and a static pod
 * without hostNetwork does not serve on the host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostExec, type Lab, labDown, labUp } from '../../api.js';
import { testLabId } from '../../support/test-id.js';
import { defaultImages, type HostExec, importImages, installStandins, put } from '../install.js';

const ID = testLabId('t-standins-wrongways');
const K8S = 'v1.31.14';
let lab: Lab;
const on: HostExec = (argv, opts) => hostExec(lab, 's001', argv, opts ?? {});
const sh = (script: string) => hostExec(lab, 's001', ['sh', '-c', script]);

async function journalUntil(what: string, needle: string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await sh('journalctl -u kubelet --no-pager -o cat');
    const line = r.stdout.split('\n').find((l) => l.includes(needle));
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${r.stdout.slice(-2000)}`);
    await new Promise((res) => setTimeout(res, 1000));
  }
}

const kubeletConfig = (driver: string) => `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: ${driver}
staticPodPath: /etc/kubernetes/manifests
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
`;

const haproxy = (hostNetwork: boolean) => `apiVersion: v1
kind: Pod
metadata: {name: boot-haproxy, namespace: kube-system}
spec:
  hostNetwork: ${hostNetwork}
  containers:
  - name: haproxy
    image: haproxy:2.8
    command: [haproxy, -f, /usr/local/etc/haproxy/haproxy.cfg]
    volumeMounts: [{name: cfg, mountPath: /usr/local/etc/haproxy/haproxy.cfg, readOnly: true}]
  volumes: [{name: cfg, hostPath: {path: /etc/kubeon/haproxy.cfg, type: File}}]
`;

beforeAll(async () => {
  await labDown(ID);
  lab = await labUp({ id: ID, system: 1 });
  await installStandins(on, { kubernetes: K8S, containerd: '1.7.27', images: [] });
});

afterAll(async () => {
  await labDown(ID);
});

describe('wrong ways to prepare a node', () => {
  const ip = () => lab.hosts[0]!.ip;
  const init = () =>
    hostExec(lab, 's001', [
      'kubeadm',
      'init',
      '--kubernetes-version',
      K8S,
      '--apiserver-advertise-address',
      ip(),
    ]);

  it('kubeadm init fails its ImagePull check when the images were never imported', async () => {
    const r = await init();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error execution phase preflight: [preflight] Some fatal errors occurred:');
    expect(r.stderr).toMatch(
      /\t\[ERROR ImagePull\]: failed to pull image registry\.k8s\.io\/kube-apiserver:v1\.31\.14: rpc error: code = Unknown desc = failed to pull and unpack image .*lookup registry\.k8s\.io: no such host \(import it with "ctr -n k8s\.io images import"/,
    );
    expect(r.stderr).toContain('[ERROR ImagePull]: failed to pull image registry.k8s.io/etcd:3.5.24-0');
    expect((await sh('ls -A /etc/kubernetes/manifests')).stdout).toBe('');
  });

  it('images imported into the default namespace are not seen, and the message says so', async () => {
    await importImages(on, [...defaultImages(K8S), 'docker.io/library/haproxy:2.8'], 'default');
    const r = await init();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'registry.k8s.io/kube-apiserver:v1.31.14 is in containerd namespace "default", not "k8s.io": import it with "ctr -n k8s.io images import"',
    );
  });

  it('the kubelet starts no pod without the sandbox image, nor with a cgroup driver containerd does not use', async () => {
    await importImages(on, ['docker.io/library/haproxy:2.8']);
    await put(on, '/var/lib/kubelet/config.yaml', kubeletConfig('cgroupfs'), '0644');
    await put(
      on,
      '/etc/kubeon/haproxy.cfg',
      'defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\nfrontend boot\n  bind 127.0.0.1:16443\n  default_backend none\nbackend none\n',
      '0644',
    );
    await put(on, '/etc/kubernetes/manifests/haproxy.yaml', haproxy(true), '0644');
    await sh('systemctl restart kubelet');
    const sandbox = await journalUntil('the sandbox image error', 'failed to get sandbox image');
    expect(sandbox).toContain('failed to get sandbox image "registry.k8s.io/pause:3.10"');
    expect(sandbox).toContain("containerd's sandbox_image");
    await importImages(on, ['registry.k8s.io/pause:3.10']);
    const cgroup = await journalUntil('the cgroup driver error', 'expected cgroupsPath');
    expect(cgroup).toContain('kubelet: cgroupfs, containerd: SystemdCgroup = true');
    expect((await sh('ss -ltn')).stdout).not.toContain('127.0.0.1:16443');
  });

  it('with the driver fixed a hostNetwork static pod serves on the host; without hostNetwork it waits for the CNI', async () => {
    await put(on, '/var/lib/kubelet/config.yaml', kubeletConfig('systemd'), '0644');
    await sh('systemctl restart kubelet');
    const deadline = Date.now() + 60_000;
    while (!(await sh('ss -ltn')).stdout.includes('127.0.0.1:16443')) {
      if (Date.now() > deadline)
        throw new Error(
          `haproxy did not start:\n${(await sh('journalctl -u kubelet --no-pager -o cat | tail -20')).stdout}`,
        );
      await new Promise((res) => setTimeout(res, 1000));
    }
    await put(on, '/etc/kubernetes/manifests/haproxy.yaml', haproxy(false), '0644');
    const waiting = await journalUntil('the network error', 'network is not ready');
    expect(waiting).toContain('cni plugin not initialized');
    await new Promise((res) => setTimeout(res, 2000));
    expect((await sh('ss -ltn')).stdout).not.toContain('127.0.0.1:16443');
  });

  it("the node is Ready only when its CNI pod's image is present and, for flannel, the node has a podCIDR", async () => {
    await sh('rm -f /etc/kubernetes/manifests/haproxy.yaml; systemctl stop kubelet');
    await importImages(on, defaultImages(K8S));
    const r = await init();
    expect(r.code, r.stderr).toBe(0);
    const kubectl = (args: string) => sh(`kubectl --kubeconfig /etc/kubernetes/admin.conf ${args}`);
    const ready = async () =>
      JSON.parse((await kubectl('get node s001 -o json')).stdout || '{}') as {
        spec?: { podCIDR?: string };
        status?: { conditions?: { type: string; status: string; message: string }[] };
      };
    const until = async <T>(what: string, fn: () => Promise<T | undefined>): Promise<T> => {
      const deadline = Date.now() + 90_000;
      for (;;) {
        const v = await fn();
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((res) => setTimeout(res, 1000));
      }
    };
    await put(
      on,
      '/root/flannel.yaml',
      `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: kube-flannel-ds, namespace: kube-system}
spec:
  selector: {matchLabels: {app: flannel}}
  template:
    metadata: {labels: {app: flannel}}
    spec:
      hostNetwork: true
      tolerations: [{operator: Exists, effect: NoSchedule}]
      containers:
      - name: kube-flannel
        image: docker.io/flannel/flannel:v0.26.1
        args: [--ip-masq, --kube-subnet-mgr]
      volumes: [{name: cni, hostPath: {path: /etc/cni/net.d}}]
`,
      '0644',
    );
    expect((await kubectl('apply -f /root/flannel.yaml')).code).toBe(0);
    const pulled = await until('the flannel pod to fail its pull', async () => {
      const pods = JSON.parse((await kubectl('get pods -n kube-system -l app=flannel -o json')).stdout) as {
        items: {
          status?: { containerStatuses?: { state: { waiting?: { reason: string; message: string } } }[] };
        }[];
      };
      return pods.items[0]?.status?.containerStatuses?.[0]?.state.waiting;
    });
    expect(pulled.reason).toBe('ErrImagePull');
    expect(pulled.message).toContain('Failed to pull image "docker.io/flannel/flannel:v0.26.1"');
    expect((await ready()).status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    await importImages(on, ['docker.io/flannel/flannel:v0.26.1']);
    const noCidr = await until('the podCIDR message', async () => {
      const c = (await ready()).status?.conditions?.find((x) => x.type === 'Ready');
      return c?.message.includes('spec.podCIDR') ? c : undefined;
    });
    expect(noCidr.status).toBe('False');
    expect(noCidr.message).toContain("flannel --kube-subnet-mgr needs the node's spec.podCIDR");
    // what kubeadm writes when networking.podSubnet is set
    await sh(
      "sed -i -E 's|^( *)- --bind-address=(.*)$|\\1- --allocate-node-cidrs=true\\n\\1- --cluster-cidr=10.244.0.0/16\\n\\1- --bind-address=\\2|' /etc/kubernetes/manifests/kube-controller-manager.yaml",
    );
    const node = await until('s001 to be Ready', async () => {
      const n = await ready();
      return n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? n : undefined;
    });
    expect(node.spec?.podCIDR).toBe('10.244.0.0/24');
  });
});

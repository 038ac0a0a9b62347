/**
 * On lab system hosts with the 1.30 stand-ins: a v1beta3 init, a worker join through the TLS
 * bootstrap, static pods that map to real programs (haproxy) or fail like they would (missing
 * hostPath, a flag etcd does not know), and an upgrade to 1.31 without certificate renewal.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostExec, type Lab, labDown, labUp } from '../../api.js';
import { testLabId } from '../../support/test-id.js';
import { standinExecutable } from '../index.js';
import { defaultImages, type HostExec, importImages, installStandins, put } from '../install.js';
import { selfSignedCA, signLeaf } from '../lib/pki.js';

const ID = testLabId('t-standins-nodes');
let lab: Lab;
const ip = (name: string) => lab.hosts.find((h) => h.name === name)!.ip;
const on =
  (name: string): HostExec =>
  (argv, opts) =>
    hostExec(lab, name, argv, opts ?? {});
const sh = (name: string, script: string) => hostExec(lab, name, ['sh', '-c', script]);
const kubectl = (args: string) => sh('s001', `kubectl --kubeconfig /etc/kubernetes/admin.conf ${args}`);

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

interface PodStatus {
  status: {
    phase?: string;
    containerStatuses?: {
      ready: boolean;
      restartCount: number;
      state: { waiting?: { reason: string; message?: string } };
    }[];
  };
}

async function pod(name: string): Promise<PodStatus | undefined> {
  const r = await kubectl(`get pod -n kube-system ${name} -o json`);
  return r.code === 0 ? (JSON.parse(r.stdout) as PodStatus) : undefined;
}

const haproxyManifest = (image: string, hostPath: string, args: string) => `apiVersion: v1
kind: Pod
metadata:
  name: haproxy
  namespace: kube-system
  labels: {component: haproxy}
spec:
  hostNetwork: true
  containers:
  - name: haproxy
    image: ${image}
    command: [haproxy, ${args}]
    volumeMounts:
    - {name: cfg, mountPath: /usr/local/etc/haproxy/haproxy.cfg, readOnly: true}
  volumes:
  - name: cfg
    hostPath: {path: ${hostPath}, type: File}
`;

beforeAll(async () => {
  await labDown(ID);
  lab = await labUp({ id: ID, system: 3 });
  const endpoint = `${ip('s001')} apiserver.cluster.local`;
  await Promise.all([
    ...['s001', 's002'].map((h) =>
      installStandins(on(h), {
        kubernetes: 'v1.30.14',
        containerd: '1.7.27',
        hosts: [endpoint],
        // the haproxy boot pod and the test's CNI run from images the installer imports too
        images: [...defaultImages('v1.30.14'), 'docker.io/library/haproxy:2.8', 'docker.io/example/cni:1'],
      }),
    ),
    installStandins(on('s003'), {
      kubernetes: 'v1.37.1',
      containerd: '2.2.1',
      hosts: [`${ip('s003')} apiserver.cluster.local`],
    }),
  ]);
});

afterAll(async () => {
  await labDown(ID);
});

describe('1.37 stand-ins with containerd 2.x', () => {
  it('init runs etcd from a 3.6 manifest on the etcd 3.4 here and reports v1.37.1', async () => {
    await put(
      on('s003'),
      '/root/kubeadm.yaml',
      `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint: {advertiseAddress: ${ip('s003')}}
nodeRegistration: {criSocket: unix:///run/containerd/containerd.sock}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.37.1
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
`,
      '0600',
    );
    const r = await hostExec(lab, 's003', ['kubeadm', 'init', '--config', '/root/kubeadm.yaml']);
    expect(r.code, r.stderr).toBe(0);
    const manifest = await sh(
      's003',
      'cat /etc/kubernetes/manifests/etcd.yaml; ps -eo args | grep "^/usr/bin/etcd"',
    );
    expect(manifest.stdout).toContain('image: registry.k8s.io/etcd:3.6.6-0');
    expect(manifest.stdout).toContain('--feature-gates=InitialCorruptCheck=true');
    expect(manifest.stdout).toContain('--experimental-initial-corrupt-check=true');
    const v = await sh(
      's003',
      'kubectl --kubeconfig /etc/kubernetes/admin.conf version; grep -c pod-infra /var/lib/kubelet/kubeadm-flags.env',
    );
    expect(v.stdout).toContain('Server Version: v1.37.1');
    expect(v.stdout.trim().endsWith('0')).toBe(true);
  });

  it('an apiserver whose etcd client certificate comes from another CA cannot start', async () => {
    const rogueCa = await selfSignedCA('etcd-ca', 3600e3, 'ECDSA-P256');
    const rogue = await signLeaf(
      rogueCa,
      { cn: 'kube-apiserver-etcd-client', client: true, validityMs: 3600e3 },
      undefined,
      'ECDSA-P256',
    );
    await put(on('s003'), '/etc/kubernetes/pki/apiserver-etcd-client.crt', rogue.certPem, '0644');
    await put(on('s003'), '/etc/kubernetes/pki/apiserver-etcd-client.key', rogue.key.pem, '0600');
    // a changed manifest is what makes the kubelet restart the pod
    await sh('s003', 'echo "# restart" >> /etc/kubernetes/manifests/kube-apiserver.yaml');
    const journal = await until(
      'the apiserver to give up on etcd',
      async () => {
        const r = await sh(
          's003',
          'journalctl -u kubelet --no-pager | grep "pod kube-apiserver: container kube-apiserver exited"',
        );
        return r.stdout.includes('etcd at https://127.0.0.1:2379') ? r.stdout : undefined;
      },
      90_000,
    );
    expect(journal).toContain('restarting failed container');
  });
});

describe('1.30 stand-ins: worker join, static pods, upgrade', () => {
  let joinCmd = '';

  it('1.30 accepts a v1beta3 config with map-style extraArgs', async () => {
    await put(
      on('s001'),
      '/root/kubeadm.yaml',
      `apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
localAPIEndpoint: {advertiseAddress: ${ip('s001')}}
nodeRegistration:
  criSocket: unix:///run/containerd/containerd.sock
  kubeletExtraArgs: {node-ip: ${ip('s001')}}
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.30.14
controlPlaneEndpoint: apiserver.cluster.local:6443
apiServer:
  extraArgs: {event-ttl: 2h0m0s}
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
`,
      '0600',
    );
    const r = await hostExec(lab, 's001', ['kubeadm', 'init', '--config', '/root/kubeadm.yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect((await sh('s001', 'cat /etc/kubernetes/manifests/kube-apiserver.yaml')).stdout).toContain(
      '--event-ttl=2h0m0s',
    );
    joinCmd = /(kubeadm join \S+ --token \S+ \\\n\s+--discovery-token-ca-cert-hash \S+)\s*$/
      .exec(r.stdout)![1]!
      .replace(/\\\n\s+/g, '');
  });

  it('a worker joins through discovery and the kubelet TLS bootstrap', async () => {
    const r = await sh('s002', joinCmd);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('This node has joined the cluster');
    const conf = await sh(
      's002',
      'grep client-certificate /etc/kubernetes/kubelet.conf; test -e /etc/kubernetes/bootstrap-kubelet.conf || echo gone; openssl x509 -noout -subject -in /var/lib/kubelet/pki/kubelet-client-current.pem',
    );
    expect(conf.stdout).toContain('/var/lib/kubelet/pki/kubelet-client-current.pem');
    expect(conf.stdout).toContain('gone');
    expect(conf.stdout).toMatch(/O ?= ?system:nodes, CN ?= ?system:node:s002/);
    const nodes = await kubectl('get nodes -o name');
    expect(nodes.stdout.trim().split('\n').sort()).toEqual(['node/s001', 'node/s002']);
  });

  it('kubectl drain refuses a bare pod without --force, drains with it, and uncordon undoes the cordon', async () => {
    await put(
      on('s001'),
      '/root/bare.yaml',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: bare, namespace: default}\nspec:\n  nodeName: s002\n  containers: [{name: c, image: example/c:1}]\n',
      '0644',
    );
    expect((await kubectl('apply -f /root/bare.yaml')).stdout).toBe('pod/bare created\n');
    const refused = await kubectl('drain s002 --ignore-daemonsets');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'cannot delete Pods that declare no controller (use --force to override): default/bare',
    );
    const drained = await kubectl('drain s002 --ignore-daemonsets --force --delete-emptydir-data');
    expect(drained.code, drained.stderr).toBe(0);
    expect(drained.stdout).toContain('evicting pod default/bare');
    expect(drained.stdout).toContain('node/s002 drained');
    expect((await kubectl('get node s002')).stdout).toContain('SchedulingDisabled');
    expect((await kubectl('get pods -o name')).stdout).toBe('');
    expect((await kubectl('uncordon s002')).stdout).toBe('node/s002 uncordoned\n');
  });

  it('an official haproxy image static pod runs Debian haproxy with the mounted config', async () => {
    const cfg = `global\n  maxconn 100\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\nfrontend api\n  bind 127.0.0.1:6443\n  default_backend masters\nbackend masters\n  server s001 ${ip('s001')}:6443 check\n`;
    await put(on('s002'), '/etc/kubeon/haproxy.cfg', cfg, '0644');
    await put(
      on('s002'),
      '/etc/kubernetes/manifests/haproxy.yaml',
      haproxyManifest(
        'docker.io/library/haproxy:2.8',
        '/etc/kubeon/haproxy.cfg',
        '-f, /usr/local/etc/haproxy/haproxy.cfg',
      ),
      '0644',
    );
    const ok = await until('haproxy to forward to the apiserver', async () => {
      const r = await sh('s002', 'curl -sk https://127.0.0.1:6443/healthz');
      return r.stdout === 'ok' ? r.stdout : undefined;
    });
    expect(ok).toBe('ok');
    const ps = await sh('s002', 'ps -eo args | grep "^/usr/sbin/haproxy"');
    expect(ps.stdout).toContain('/usr/sbin/haproxy -db -f /etc/kubeon/haproxy.cfg');
    const mirror = await until('the haproxy mirror pod', async () =>
      (await pod('haproxy-s002'))?.status.phase === 'Running' ? true : undefined,
    );
    expect(mirror).toBe(true);
  });

  it('a manifest with a missing hostPath or a flag the program rejects fails and is restarted with back-off', async () => {
    await put(
      on('s002'),
      '/etc/kubernetes/manifests/haproxy.yaml',
      haproxyManifest('haproxy:2.8', '/etc/kubeon/missing.cfg', '-f, /usr/local/etc/haproxy/haproxy.cfg'),
      '0644',
    );
    const missing = await until('a failed haproxy pod', async () => {
      const p = await pod('haproxy-s002');
      const w = p?.status.containerStatuses?.[0]?.state.waiting;
      return w?.message?.includes('hostPath type check failed') ? w : undefined;
    });
    expect(missing.message).toContain('/etc/kubeon/missing.cfg is not a file');
    await put(
      on('s002'),
      '/etc/kubernetes/manifests/etcd-bad.yaml',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: etcd-bad, namespace: kube-system}\nspec:\n  hostNetwork: true\n  containers:\n  - name: etcd\n    image: registry.k8s.io/etcd:3.5.21-0\n    command: [etcd, --no-such-flag=1]\n',
      '0644',
    );
    const crash = await until('etcd-bad to crash', async () => {
      const w = (await pod('etcd-bad-s002'))?.status.containerStatuses?.[0]?.state.waiting;
      return w?.reason === 'CrashLoopBackOff' ? w : undefined;
    });
    expect(crash.message).toContain('flag provided but not defined: -no-such-flag');
    const journal = await sh('s002', 'journalctl -u kubelet --no-pager | grep "back-off"');
    expect(journal.stdout).toContain('restarting failed container');
    await sh('s002', 'rm /etc/kubernetes/manifests/etcd-bad.yaml /etc/kubernetes/manifests/haproxy.yaml');
  });

  it('upgrade apply to 1.31 needs Ready control planes, rewrites the manifests and keeps certificates when asked', async () => {
    await put(
      on('s001'),
      '/usr/bin/kubeadm',
      readFileSync(await standinExecutable('kubeadm', 'v1.31.14', 'amd64'), 'utf8'),
      '0755',
    );
    const notReady = await hostExec(lab, 's001', [
      'kubeadm',
      'upgrade',
      'apply',
      'v1.31.14',
      '-y',
      '--certificate-renewal=false',
    ]);
    expect(notReady.code).toBe(1);
    expect(notReady.stderr).toContain(
      '[ERROR ControlPlaneNodesReady]: there are NotReady control-planes in the cluster: [s001]',
    );
    await put(
      on('s001'),
      '/root/cni.yaml',
      'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: cni, namespace: kube-system}\nspec:\n  selector: {matchLabels: {app: cni}}\n  template:\n    metadata: {labels: {app: cni}}\n    spec:\n      hostNetwork: true\n      tolerations: [{operator: Exists}]\n      containers: [{name: install, image: example/cni:1}]\n      volumes: [{name: net, hostPath: {path: /etc/cni/net.d}}]\n',
      '0644',
    );
    expect((await kubectl('apply -f /root/cni.yaml')).stdout).toContain('daemonset.apps/cni created');

    await until('s001 Ready', async () => {
      const r = await kubectl('get node s001 -o jsonpath={.status.conditions[3].status}');
      return r.stdout === 'True' ? true : undefined;
    });
    // the upgrade pre-pulls the target's images: an installer imports them first
    const noImages = await hostExec(lab, 's001', ['kubeadm', 'upgrade', 'apply', 'v1.31.14', '-y']);
    expect(noImages.code).toBe(1);
    expect(noImages.stderr).toContain(
      '[ERROR ImagePull]: failed to pull image registry.k8s.io/kube-apiserver:v1.31.14: ',
    );
    await importImages(on('s001'), defaultImages('v1.31.14'));
    const before = (await sh('s001', 'sha256sum /etc/kubernetes/pki/apiserver.crt')).stdout;
    const r = await hostExec(lab, 's001', [
      'kubeadm',
      'upgrade',
      'apply',
      'v1.31.14',
      '-y',
      '--certificate-renewal=false',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      '[upgrade/successful] SUCCESS! Your cluster was upgraded to "v1.31.14". Enjoy!',
    );
    expect((await sh('s001', 'sha256sum /etc/kubernetes/pki/apiserver.crt')).stdout).toBe(before);
    expect(
      (
        await sh(
          's001',
          'grep image: /etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/manifests/etcd.yaml',
        )
      ).stdout,
    ).toMatch(/kube-apiserver:v1\.31\.14[\s\S]*etcd:3\.5\.24-0/);
    expect((await kubectl('version')).stdout).toContain('Server Version: v1.31.14');
    const plan = await hostExec(lab, 's001', ['kubeadm', 'upgrade', 'plan']);
    expect(plan.stdout).toContain("Awesome, you're up-to-date! Enjoy!");
    await put(
      on('s002'),
      '/usr/bin/kubeadm',
      readFileSync(await standinExecutable('kubeadm', 'v1.31.14', 'amd64'), 'utf8'),
      '0755',
    );
    const node = await hostExec(lab, 's002', ['kubeadm', 'upgrade', 'node']);
    expect(node.code, node.stderr).toBe(0);
    expect(node.stdout).toContain('[upgrade] The configuration for this node was successfully updated!');
  });
});

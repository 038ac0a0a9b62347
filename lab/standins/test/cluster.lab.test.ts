/**
 * End to end on lab system hosts (real systemd, real etcd): kubeadm init and two control-plane
 * joins form a 3-member etcd cluster, the apiserver stand-in checks client certificates against
 * its CA, reset removes the member, and preflight fails the way kubeadm's does.
 */
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostExec, type Lab, labDown, labUp } from '../../api.js';
import { testLabId } from '../../support/test-id.js';
import { type HostExec, installStandins, put } from '../install.js';
import { selfSignedCA, signLeaf } from '../lib/pki.js';

const ID = testLabId('t-standins-e2e');
const K8S = 'v1.31.14';
let lab: Lab;
const ip = (name: string) => lab.hosts.find((h) => h.name === name)!.ip;
const on =
  (name: string): HostExec =>
  (argv, opts) =>
    hostExec(lab, name, argv, opts ?? {});

async function sh(name: string, script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return hostExec(lab, name, ['sh', '-c', script]);
}

interface Call {
  time: string;
  host: string;
  tool: string;
  event: string;
  [k: string]: unknown;
}

async function calls(name: string): Promise<Call[]> {
  const r = await sh(name, 'cat /var/log/kubeon-standins/calls.jsonl');
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Call);
}

async function members(): Promise<{ name?: string; peerURLs: string[]; isLearner?: boolean }[]> {
  const r = await sh(
    's001',
    'ETCDCTL_API=3 etcdctl --endpoints https://127.0.0.1:2379 --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt --key /etc/kubernetes/pki/etcd/healthcheck-client.key member list -w json',
  );
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { members: { name?: string; peerURLs: string[]; isLearner?: boolean }[] })
    .members;
}

function get(
  url: string,
  tls: { ca: string; cert?: string; key?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...tls, servername: 'kubernetes', agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function b64(doc: string, key: string): string {
  return Buffer.from(new RegExp(`${key}: (\\S+)`).exec(doc)![1]!, 'base64').toString();
}

const initConfig = (addr: string) => `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: ${addr}
nodeRegistration:
  criSocket: unix:///run/containerd/containerd.sock
  kubeletExtraArgs:
  - name: node-ip
    value: ${addr}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: ${K8S}
controlPlaneEndpoint: apiserver.cluster.local:6443
certificateValidityPeriod: 876000h0m0s
networking:
  podSubnet: 10.244.0.0/16
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
`;

beforeAll(async () => {
  await labDown(ID);
  lab = await labUp({ id: ID, system: 4 });
  const endpoint = `${ip('s001')} apiserver.cluster.local`;
  await Promise.all(
    lab.hosts.map((h) =>
      installStandins(on(h.name), { kubernetes: K8S, containerd: '1.7.27', hosts: [endpoint] }),
    ),
  );
});

afterAll(async () => {
  await labDown(ID);
});

describe('stand-ins on lab system hosts', () => {
  let join = '';
  let certKey = '';

  it('kubeadm init brings up a control plane whose static pods run as processes', async () => {
    await put(on('s001'), '/root/kubeadm.yaml', initConfig(ip('s001')), '0600');
    const r = await hostExec(lab, 's001', [
      'kubeadm',
      'init',
      '--config',
      '/root/kubeadm.yaml',
      '--upload-certs',
    ]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const m =
      /kubeadm join (\S+) --token (\S+) \\\n\s+--discovery-token-ca-cert-hash (\S+) \\\n\s+--control-plane --certificate-key (\S+)/.exec(
        r.stdout,
      );
    expect(m).not.toBeNull();
    join = `kubeadm join ${ip('s001')}:6443 --token ${m![2]} --discovery-token-ca-cert-hash ${m![3]}`;
    certKey = m![4]!;
    const files = await sh(
      's001',
      'cd /etc/kubernetes && ls *.conf manifests pki pki/etcd && stat -c %a pki/ca.key admin.conf',
    );
    for (const f of [
      'admin.conf',
      'super-admin.conf',
      'kubelet.conf',
      'controller-manager.conf',
      'scheduler.conf',
      'etcd.yaml',
      'kube-apiserver.yaml',
      'ca.key',
      'sa.pub',
      'front-proxy-ca.crt',
      'peer.key',
    ]) {
      expect(files.stdout).toContain(f);
    }
    expect(files.stdout.trim().split('\n').slice(-2)).toEqual(['600', '600']);
    const ps = await sh('s001', 'ps -eo args');
    expect(ps.stdout).toMatch(/\/usr\/bin\/etcd .*--initial-cluster=s001=https:\/\/[\d.]+:2380/);
  });

  it('two control-plane joins, one at a time, give a real 3-member etcd cluster', async () => {
    const first = await sh(
      's002',
      `${join} --control-plane --certificate-key ${certKey} --apiserver-advertise-address ${ip('s002')}`,
    );
    expect(first.code, `${first.stdout}\n${first.stderr}`).toBe(0);
    // a later master joins the way kubeon's "add" does: fresh certificate key, fresh token
    const upload = await hostExec(lab, 's001', [
      'kubeadm',
      'init',
      'phase',
      'upload-certs',
      '--upload-certs',
    ]);
    expect(upload.code, upload.stderr).toBe(0);
    const key = upload.stdout.trim().split('\n').pop()!;
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const print = await hostExec(lab, 's001', [
      'kubeadm',
      'token',
      'create',
      '--print-join-command',
      '--certificate-key',
      key,
    ]);
    expect(print.stdout).toMatch(
      /^kubeadm join apiserver\.cluster\.local:6443 --token \S+ --discovery-token-ca-cert-hash sha256:[0-9a-f]{64} --control-plane --certificate-key [0-9a-f]{64} $/m,
    );
    const second = await sh('s003', `${print.stdout.trim()} --apiserver-advertise-address ${ip('s003')}`);
    expect(second.code, `${second.stdout}\n${second.stderr}`).toBe(0);
    const list = await members();
    expect(list).toHaveLength(3);
    expect(list.map((m) => m.name).sort()).toEqual(['s001', 's002', 's003']);
    expect(list.every((m) => !m.isLearner)).toBe(true);
    const manifest = await sh('s003', 'cat /etc/kubernetes/manifests/etcd.yaml');
    expect(manifest.stdout).toContain('--initial-cluster-state=existing');
    const initial = /--initial-cluster=(\S+)/.exec(manifest.stdout)![1]!.split(',').sort();
    expect(initial).toEqual(['s001', 's002', 's003'].map((h) => `${h}=https://${ip(h)}:2380`));
    const [a, b, c] = await Promise.all(['s001', 's002', 's003'].map(calls));
    const at = (list: Call[], event: string) =>
      list.find((x) => x.tool === 'kubeadm' && x.event === event)!.time;
    expect(at(a!, 'init-done') < at(b!, 'join-start')).toBe(true);
    expect(at(b!, 'join-done') < at(c!, 'join-start')).toBe(true);
    expect(
      b!.some((x) => x.event === 'etcd-member-add') && c!.some((x) => x.event === 'etcd-member-promoted'),
    ).toBe(true);
  });

  it('the apiserver stand-in serves /readyz to a client certificate from its CA and refuses one from another CA', async () => {
    const admin = (await sh('s001', 'cat /etc/kubernetes/admin.conf')).stdout;
    const ca = b64(admin, 'certificate-authority-data');
    const url = `https://${ip('s002')}:6443`;
    const good = await get(`${url}/readyz`, {
      ca,
      cert: b64(admin, 'client-certificate-data'),
      key: b64(admin, 'client-key-data'),
    });
    expect(good).toEqual({ status: 200, body: 'ok' });
    const nodes = await get(`${url}/api/v1/nodes`, {
      ca,
      cert: b64(admin, 'client-certificate-data'),
      key: b64(admin, 'client-key-data'),
    });
    expect((JSON.parse(nodes.body) as { items: unknown[] }).items).toHaveLength(3);
    const apps = await get(`${url}/apis/apps/v1`, {
      ca,
      cert: b64(admin, 'client-certificate-data'),
      key: b64(admin, 'client-key-data'),
    });
    expect(
      (JSON.parse(apps.body) as { resources: { name: string }[] }).resources.map((r) => r.name),
    ).toContain('daemonsets');
    const rogueCa = await selfSignedCA('kubernetes', 3600e3, 'ECDSA-P256');
    const rogue = await signLeaf(
      rogueCa,
      { cn: 'kubernetes-admin', org: ['system:masters'], client: true, validityMs: 3600e3 },
      undefined,
      'ECDSA-P256',
    );
    const refused = await get(`${url}/readyz`, { ca, cert: rogue.certPem, key: rogue.key.pem });
    expect(refused.status).toBe(401);
    const anonymous = await get(`${url}/api/v1/nodes`, { ca });
    expect(anonymous.status).toBe(403);
  });

  it('certs check-expiration reports the validity the config asked for', async () => {
    const r = await hostExec(lab, 's002', ['kubeadm', 'certs', 'check-expiration']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^apiserver\s+\w{3} \d\d, \d{4} \d\d:\d\d UTC\s+99y\s+ca\s+no$/m);
    expect(r.stdout).toMatch(/^ca\s+\w{3} \d\d, \d{4} \d\d:\d\d UTC\s+9y\s+no$/m);
  });

  it('default/kubernetes lists every live apiserver', async () => {
    // Each apiserver adds itself when it starts, as the real endpoint reconciler does: the last
    // joined master's may take a moment to appear, so wait for convergence within a deadline.
    const want = ['s001', 's002', 's003'].map(ip).sort();
    let seen: string[] = [];
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      const r = await sh(
        's001',
        'kubectl --kubeconfig /etc/kubernetes/admin.conf get endpoints kubernetes -o jsonpath="{.subsets[*].addresses[*].ip}"',
      );
      seen = r.stdout.split(' ').filter(Boolean).sort();
      if (seen.length >= want.length) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(seen).toEqual(want);
  });

  it('kubeadm reset on a master removes its etcd member', async () => {
    const r = await hostExec(lab, 's003', ['kubeadm', 'reset', '-f']);
    expect(r.code, r.stderr).toBe(0);
    const list = await members();
    expect(list.map((m) => m.name).sort(), r.stderr).toEqual(['s001', 's002']);
    expect((await calls('s003')).some((x) => x.event === 'etcd-member-remove')).toBe(true);
    const left = await sh('s003', 'ls -A /etc/kubernetes/manifests /var/lib/etcd');
    expect(left.stdout.replace(/\S+:\n?/g, '').trim()).toBe('');
  });

  it('preflight reports a busy port and a missing sysctl like kubeadm, only warns about swap, and honours --ignore-preflight-errors', async () => {
    await sh(
      's004',
      'sysctl -w net.ipv4.ip_forward=0 && printf "Filename\\tType\\tSize\\tUsed\\tPriority\\n/swapfile file 1024 0 -2\\n" > /run/swaps && mount --bind /run/swaps /proc/swaps',
    );
    await sh('s004', 'systemd-run --unit=busy6443 socat TCP-LISTEN:6443,fork,reuseaddr EXEC:/bin/true');
    await new Promise((r) => setTimeout(r, 500));
    const init = (...extra: string[]) =>
      hostExec(lab, 's004', [
        'kubeadm',
        'init',
        '--apiserver-advertise-address',
        ip('s004'),
        '--kubernetes-version',
        K8S,
        ...extra,
      ]);
    const r = await init();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error execution phase preflight: [preflight] Some fatal errors occurred:\n');
    expect(r.stderr).toContain('\t[ERROR Port-6443]: Port 6443 is in use\n');
    expect(r.stderr).toContain(
      '\t[ERROR FileContent--proc-sys-net-ipv4-ip_forward]: /proc/sys/net/ipv4/ip_forward contents are not set to 1\n',
    );
    // swap has only been a warning since 1.28, and the bridge-nf-call check is gone since 1.30
    expect(r.stderr).toContain('\t[WARNING Swap]: swap is supported for cgroup v2 only.');
    expect(r.stderr).not.toContain('[ERROR Swap]');
    expect(r.stderr).not.toContain('bridge-nf-call-iptables');
    expect(r.stderr).toContain(
      '[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`',
    );
    const ignored = await init('--ignore-preflight-errors=Port-6443');
    expect(ignored.code).toBe(1);
    expect(ignored.stderr).toContain('\t[WARNING Port-6443]: Port 6443 is in use\n');
    expect(ignored.stderr).not.toContain('[ERROR Port-6443]');
    expect(ignored.stderr).toContain('[ERROR FileContent--proc-sys-net-ipv4-ip_forward]');
  });
});

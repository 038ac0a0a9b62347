/**
 * Against a running containerd stand-in (and the lab's real registry on loopback): what a pod
 * needs before it starts (sandbox image, exact image in k8s.io, agreeing cgroup drivers, the
 * network unless hostNetwork), the pull through hosts.toml with token credentials, and kubeadm's
 * image pre-pull and `config images` commands.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImages } from '../../mirror/images.js';
import { type Registry, startRegistry } from '../../mirror/registry.js';
import { standinExecutable } from '../index.js';
import { criCall, type RuntimeInfo } from '../lib/cri.js';
import { type CriContainer, criContainers } from '../lib/cri-containers.js';
import { ociArchive } from '../lib/image-archive.js';
import { imagePullCheck } from '../lib/images.js';
import { admitPod, NETWORK_NOT_READY, NodeRuntime } from '../lib/podstart.js';
import { runStandin, runStandinAsync } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'standins-pods-'));
const sock = join(dir, 'containerd.sock');
const endpoint = `unix://${sock}`;
let daemon: ChildProcess;
let registry: Registry;
let rt: NodeRuntime;

async function importInto(ns: string, refs: string[]): Promise<void> {
  const file = join(dir, `${ns}-${refs.length}-${Date.now()}.tar`);
  writeFileSync(file, ociArchive(refs));
  const r = await runStandin('ctr', '1.7.27', ['-a', sock, '-n', ns, 'images', 'import', file]);
  expect(r.code, r.stderr).toBe(0);
}

const hostPod = (image: string) => ({ hostNetwork: true, containers: [{ image }] });

beforeAll(async () => {
  registry = await startRegistry({ auth: { users: { puller: 'pull-secret' } } });
  const certs = join(dir, 'certs.d');
  mkdirSync(join(certs, 'registry.k8s.io'), { recursive: true });
  writeFileSync(
    join(certs, 'registry.k8s.io', 'hosts.toml'),
    `server = "https://registry.k8s.io"\n\n[host."${registry.url}"]\n  capabilities = ["pull", "resolve"]\n`,
  );
  writeFileSync(
    join(dir, 'config.toml'),
    `version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "${certs}"
[plugins."io.containerd.grpc.v1.cri".registry.configs."${registry.host}".auth]
  username = "puller"
  password = "pull-secret"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = true
`,
  );
  daemon = spawn(
    await standinExecutable('containerd', '1.7.27', 'amd64'),
    ['--config', join(dir, 'config.toml'), '--address', sock, '--root', join(dir, 'root')],
    { stdio: 'ignore', env: { PATH: process.env.PATH ?? '' } },
  );
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
  rt = new NodeRuntime(endpoint, await criCall<RuntimeInfo>(endpoint, 'GET', '/v1/version'), 'systemd');
}, 60_000);

afterAll(async () => {
  daemon?.kill('SIGTERM');
  await registry?.close();
});

describe('a pod starts only with what a real node needs', () => {
  it('no pod starts while the sandbox image is missing and cannot be pulled', async () => {
    const blocked = await admitPod(rt, hostPod('registry.k8s.io/etcd:3.5.24-0'), false);
    expect(blocked?.message).toContain(
      'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox image "registry.k8s.io/pause:3.10"',
    );
    expect(blocked?.message, blocked?.message).toContain('registry.k8s.io/pause:3.10: not found');
    expect(blocked?.message).toContain("containerd's sandbox_image");
  });

  it('an image in the default namespace or under another name does not count; k8s.io by exact reference does', async () => {
    await importInto('k8s.io', ['registry.k8s.io/pause:3.10']);
    await importInto('default', ['registry.k8s.io/etcd:3.5.24-0']);
    const wrongNs = await admitPod(rt, hostPod('registry.k8s.io/etcd:3.5.24-0'), false);
    expect(wrongNs?.reason).toBe('ErrImagePull');
    expect(wrongNs?.message).toContain('is in containerd namespace "default", not "k8s.io"');
    await importInto('k8s.io', ['haproxy:2.8']);
    // a one-part name is Docker Hub's library/: the annotation named "haproxy:2.8" is not that
    const unnormalised = await admitPod(rt, hostPod('haproxy:2.8'), false);
    expect(unnormalised?.message).toContain('Failed to pull image "haproxy:2.8"');
    await importInto('k8s.io', ['docker.io/library/haproxy:2.8', 'registry.k8s.io/etcd:3.5.24-0']);
    expect(await admitPod(rt, hostPod('haproxy:2.8'), false)).toBeUndefined();
    expect(await admitPod(rt, hostPod('registry.k8s.io/etcd:3.5.24-0'), false)).toBeUndefined();
    const never = await admitPod(
      rt,
      {
        hostNetwork: true,
        containers: [{ image: 'registry.k8s.io/etcd:3.5.21-0', imagePullPolicy: 'Never' }],
      },
      false,
    );
    expect(never).toMatchObject({ reason: 'ErrImageNeverPull' });
    expect(never?.message).toContain('only registry.k8s.io/etcd:3.5.24-0 is present');
  });

  it('a pod without hostNetwork waits for the network', async () => {
    const blocked = await admitPod(rt, { containers: [{ image: 'haproxy:2.8' }] }, false);
    expect(blocked?.message).toBe(NETWORK_NOT_READY);
    expect(await admitPod(rt, { containers: [{ image: 'haproxy:2.8' }] }, true)).toBeUndefined();
  });

  it("a kubelet whose cgroup driver is not containerd's gets no sandbox", async () => {
    const cgroupfs = new NodeRuntime(endpoint, rt.runtime, 'cgroupfs');
    const blocked = await admitPod(cgroupfs, hostPod('haproxy:2.8'), false);
    expect(blocked?.message).toContain(
      'runc create failed: expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups',
    );
    expect(blocked?.message).toContain('SystemdCgroup = true');
  });
});

describe('pulls through hosts.toml with the configured credentials', () => {
  it('crictl pull fetches from the mirror after a token challenge; an unknown registry is never contacted', async () => {
    await pushImages(registry.url, ['registry.k8s.io/kube-proxy:v1.31.14'], {
      username: 'puller',
      password: 'pull-secret',
      arches: ['amd64'],
    });
    const ok = await runStandinAsync('crictl', 'v1.31.1', [
      '-r',
      endpoint,
      'pull',
      'registry.k8s.io/kube-proxy:v1.31.14',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^Image is up to date for sha256:[0-9a-f]{64}$/m);
    expect(registry.tokenRequests().some((t) => t.user === 'puller' && t.status === 200)).toBe(true);
    const list = await runStandinAsync('crictl', 'v1.31.1', ['-r', endpoint, 'images']);
    expect(list.stdout).toMatch(/registry\.k8s\.io\/kube-proxy\s+v1\.31\.14/);
    const hub = await runStandinAsync('crictl', 'v1.31.1', ['-r', endpoint, 'pull', 'calico/node:v3.29.1']);
    expect(hub.code).toBe(1);
    expect(hub.stderr).toContain(
      'failed to pull and unpack image "docker.io/calico/node:v3.29.1": failed to resolve reference "docker.io/calico/node:v3.29.1": failed to do request: Head "https://registry-1.docker.io/v2/calico/node/manifests/v3.29.1": dial tcp: lookup registry-1.docker.io: no such host',
    );
  });

  it("kubeadm's ImagePull check names every image it cannot get, and passes once they are there", async () => {
    const findings = await imagePullCheck(
      endpoint,
      ['registry.k8s.io/kube-proxy:v1.31.14', 'registry.k8s.io/kube-apiserver:v1.31.14'],
      'IfNotPresent',
      'registry.k8s.io/pause:3.10',
    );
    expect(findings).toEqual([
      {
        name: 'ImagePull',
        message: expect.stringMatching(
          /^failed to pull image registry\.k8s\.io\/kube-apiserver:v1\.31\.14: rpc error: code = NotFound desc = failed to pull and unpack image "registry\.k8s\.io\/kube-apiserver:v1\.31\.14": .*not found \(import it with "ctr -n k8s\.io images import" or make it pullable through \/etc\/containerd\/certs\.d\)$/,
        ),
      },
    ]);
    expect(await imagePullCheck(endpoint, ['registry.k8s.io/kube-apiserver:v1.31.14'], 'Never', 'x')).toEqual(
      [],
    );
    const sandbox = await imagePullCheck(endpoint, [], 'IfNotPresent', 'registry.k8s.io/pause:3.9');
    expect(sandbox[0]).toMatchObject({ warning: true });
    expect(sandbox[0]?.message).toContain('detected that the sandbox image "registry.k8s.io/pause:3.10"');
  });

  it('kubeadm config images pull uses the CRI and fails like kubeadm on a missing image', async () => {
    const args = ['config', 'images', 'pull', '--kubernetes-version', 'v1.31.14', '--cri-socket', endpoint];
    const missing = await runStandinAsync('kubeadm', 'v1.31.14', args);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('failed to pull image "registry.k8s.io/kube-apiserver:v1.31.14"');
    await pushImages(
      registry.url,
      [
        'registry.k8s.io/kube-apiserver:v1.31.14',
        'registry.k8s.io/kube-controller-manager:v1.31.14',
        'registry.k8s.io/kube-scheduler:v1.31.14',
        'registry.k8s.io/coredns/coredns:v1.11.3',
        'registry.k8s.io/pause:3.10',
        'registry.k8s.io/etcd:3.5.24-0',
      ],
      { username: 'puller', password: 'pull-secret', arches: ['amd64'] },
    );
    const ok = await runStandinAsync('kubeadm', 'v1.31.14', args);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('[config/images] Pulled registry.k8s.io/coredns/coredns:v1.11.3');
  });

  it('config images list gives CoreDNS at <repository>/coredns for a custom repository', async () => {
    const r = await runStandinAsync('kubeadm', 'v1.31.14', [
      'config',
      'images',
      'list',
      '--kubernetes-version',
      'v1.31.14',
      '--image-repository',
      'mirror.lab:5000/k8s',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('mirror.lab:5000/k8s/coredns:v1.11.3\n');
    expect(r.stdout).not.toContain('coredns/coredns');
  });
});

describe('crictl ps lists the containers the kubelet runs', () => {
  const at = (s: number) => new Date(Date.now() - s * 1000).toISOString();
  const reported = criContainers([
    {
      namespace: 'kube-system',
      name: 'etcd-m1',
      uid: 'h-etcd',
      containers: [
        {
          name: 'etcd',
          image: 'registry.k8s.io/etcd:3.5.24-0',
          attempt: 0,
          running: true,
          startedAt: at(90),
        },
      ],
    },
    {
      namespace: 'kube-system',
      name: 'kube-apiserver-m1',
      uid: 'h-api',
      containers: [
        {
          name: 'kube-apiserver',
          image: 'registry.k8s.io/kube-apiserver:v1.31.14',
          attempt: 0,
          running: true,
          startedAt: at(30),
        },
      ],
    },
    {
      namespace: 'kube-system',
      name: 'kube-scheduler-m1',
      uid: 'h-sched',
      containers: [
        {
          name: 'kube-scheduler',
          image: 'registry.k8s.io/kube-scheduler:v1.31.14',
          attempt: 2,
          running: false,
          startedAt: at(10),
        },
      ],
    },
  ]);
  const idOf = (name: string) => reported.find((c) => c.metadata.name === name)!.id;
  const crictl = (args: string[]) => runStandinAsync('crictl', 'v1.31.1', ['-r', endpoint, 'ps', ...args]);

  it('filters by --name (a regular expression), --state and -a, newest first, as kubeon renew asks', async () => {
    await criCall(endpoint, 'PUT', '/v1/containers', reported);
    const ids = await crictl([
      '-q',
      '--name',
      '^(etcd|kube-apiserver|kube-controller-manager|kube-scheduler)$',
    ]);
    expect(ids.code, ids.stderr).toBe(0);
    expect(ids.stdout).toBe(`${idOf('kube-apiserver')}\n${idOf('etcd')}\n`);
    expect((await crictl(['-q', '-a'])).stdout.trim().split('\n')).toEqual(
      ['kube-scheduler', 'kube-apiserver', 'etcd'].map(idOf),
    );
    expect((await crictl(['-q', '--name', 'api'])).stdout).toBe(`${idOf('kube-apiserver')}\n`);
    const exited = await crictl(['--state', 'Exited', '-o', 'json']);
    const json = JSON.parse(exited.stdout) as { containers: CriContainer[] };
    expect(json.containers.map((c) => [c.metadata.name, c.metadata.attempt, c.state])).toEqual([
      ['kube-scheduler', 2, 'CONTAINER_EXITED'],
    ]);
    expect(json.containers[0]!.labels['io.kubernetes.pod.name']).toBe('kube-scheduler-m1');
    const table = await crictl(['--name', '^etcd$']);
    expect(table.stdout.split('\n')[0]).toMatch(
      /^CONTAINER\s+IMAGE\s+CREATED\s+STATE\s+NAME\s+ATTEMPT\s+POD ID\s+POD$/,
    );
    expect(table.stdout.split('\n')[1]).toMatch(
      new RegExp(
        `^${idOf('etcd').slice(0, 13)}\\s+registry\\.k8s\\.io/etcd:3\\.5\\.24-0\\s+About a minute ago\\s+Running\\s+etcd\\s+0\\s+\\w{13}\\s+etcd-m1$`,
      ),
    );
    const bad = await crictl(['--state', 'stopped']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--state should be one of created, running, exited or unknown');
  });

  it('lists nothing once the kubelet has stopped them', async () => {
    await criCall(endpoint, 'PUT', '/v1/containers', []);
    const r = await crictl(['-q', '--name', '^(etcd|kube-apiserver)$']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
  });
});

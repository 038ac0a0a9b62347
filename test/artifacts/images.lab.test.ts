// Offline images against a real registry (Debian's docker-registry with token auth) on loopback.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMirrorTree, placeholderExecutable, trustedDigestsPath } from '../../lab/mirror/build.js';
import { type PushedImage, pushImages } from '../../lab/mirror/images.js';
import { type Registry, startRegistry } from '../../lab/mirror/registry.js';
import { type Mirror, startMirror } from '../../lab/mirror/server.js';
import { checkVersionSupported } from '../../src/artifacts/catalog.js';
import { renderImageImportScript } from '../../src/artifacts/import-script.js';
import { catalogImages } from '../../src/artifacts/plan.js';
import { kubeon as runKubeon } from '../cli/harness.js';

const run = promisify(execFile);
const VERSION = 'v1.31.14';
const v = checkVersionSupported(VERSION);
const KUBEADM_IMAGES = [
  `registry.k8s.io/kube-apiserver:${VERSION}`,
  `registry.k8s.io/kube-controller-manager:${VERSION}`,
  `registry.k8s.io/kube-scheduler:${VERSION}`,
  `registry.k8s.io/kube-proxy:${VERSION}`,
  'registry.k8s.io/coredns/coredns:v1.11.3',
  'registry.k8s.io/pause:3.10',
  'registry.k8s.io/etcd:3.5.24-0',
];
const ALL = [...KUBEADM_IMAGES, ...catalogImages(v, 'calico')];

/** A kubeadm that answers `config images list` the way the real one prints it, and nothing else. */
const fakeKubeadm = (version: string) =>
  [
    '#!/bin/sh',
    `if [ "$1 $2 $3 $4 $5" = "config images list --kubernetes-version ${version}" ]; then`,
    ...KUBEADM_IMAGES.map((i) => `  echo ${i}`),
    '  exit 0',
    'fi',
    'echo "unexpected: $*" >&2',
    'exit 1',
    '',
  ].join('\n');

let root: string;
let home: string;
let mirror: Mirror;
let registry: Registry;
let pushed: PushedImage[];

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'kubeon-img-mirror-'));
  home = await mkdtemp(path.join(tmpdir(), 'kubeon-img-home-'));
  await buildMirrorTree(
    root,
    {
      arches: ['amd64', 'arm64'],
      kubernetes: [VERSION],
      containerd: [v.containerd],
      runc: [v.runc],
      crictl: [v.crictl],
      cni: [v.cni],
    },
    {
      producerId: 'kubeon-test-fake-kubeadm',
      executables: async (component, version, arch) =>
        component === 'kubeadm'
          ? Buffer.from(fakeKubeadm(version))
          : placeholderExecutable(component, version, arch),
    },
  );
  mirror = await startMirror({ root });
  registry = await startRegistry({ auth: { users: { lab: 'secret' }, anonymousPull: true } });
  pushed = await pushImages(registry.url, ALL, { username: 'lab', password: 'secret' });
});

afterAll(async () => {
  await mirror?.close();
  await registry?.close();
  await rm(root, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

interface Out {
  files: { name: string; source: string }[];
  images: { name: string; sha256: string; bytes: number; source: string; url: string }[];
}

describe('kubeon download --offline', () => {
  it('fetches every image for every arch through the registry API into verified OCI archives', async () => {
    const env = {
      KUBEON_HOME: home,
      KUBEON_TRUSTED_DIGESTS: trustedDigestsPath(root),
      PATH: process.env.PATH,
    };
    const args = [
      '-o',
      'json',
      'download',
      VERSION,
      '--arch',
      'amd64,arm64',
      '--offline',
      '--mirror',
      mirror.url,
    ];
    const r = await runKubeon([...args, '--image-repo', registry.host], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Out;
    expect(out.images).toHaveLength(ALL.length * 2);
    // Anonymous pull went through the bearer-token flow.
    expect(registry.tokenRequests().some((t) => t.scope.some((s) => s.endsWith(':pull')))).toBe(true);

    // registry.k8s.io images try kubeadm's flat custom-repository name first, then the path-preserving one.
    const coredns = out.images.find((i) => i.name.startsWith('registry.k8s.io/coredns/coredns:'))!;
    expect(coredns.url).toBe(`${registry.host}/coredns/coredns:v1.11.3`);

    for (const img of out.images) {
      const [ref, platform] = img.name.split(' ');
      const arch = platform!.split('/')[1]!;
      const file = path.join(home, 'cache', 'sha256', img.sha256);
      const bytes = await readFile(file);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(img.sha256);
      const dir = await mkdtemp(path.join(tmpdir(), 'kubeon-img-x-'));
      try {
        await tar.x({ file, cwd: dir });
        const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8'));
        const desc = index.manifests[0];
        expect(desc.annotations['io.containerd.image.name']).toBe(ref);
        const manifestBytes = await readFile(path.join(dir, 'blobs/sha256', desc.digest.slice(7)));
        expect(`sha256:${createHash('sha256').update(manifestBytes).digest('hex')}`).toBe(desc.digest);
        const image = pushed.find((p) => p.source === ref)!;
        expect(image.manifests.find((m) => m.arch === arch)!.digest).toBe(desc.digest);
        const manifest = JSON.parse(manifestBytes.toString());
        for (const blob of [manifest.config, ...manifest.layers]) {
          const b = await readFile(path.join(dir, 'blobs/sha256', blob.digest.slice(7)));
          expect(`sha256:${createHash('sha256').update(b).digest('hex')}`).toBe(blob.digest);
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }

    const again = await runKubeon([...args, '--image-repo', registry.host], env);
    expect(again.code, again.stderr).toBe(0);
    const out2 = JSON.parse(again.stdout) as Out;
    expect(out2.images.every((i) => i.source === 'cached')).toBe(true);
    expect(out2.files.every((f) => f.source === 'cached')).toBe(true);
  });

  it('names every repository tried when an image is missing everywhere', async () => {
    const env = {
      KUBEON_HOME: home,
      KUBEON_TRUSTED_DIGESTS: trustedDigestsPath(root),
      PATH: process.env.PATH,
    };
    const r = await runKubeon(
      [
        'download',
        VERSION,
        '--arch',
        'amd64',
        '--offline',
        '--mirror',
        mirror.url,
        // A repository that holds none of the images.
        '--image-repo',
        `${registry.host}/nowhere`,
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/(\d+) of \1 images could not be fetched/);
    expect(r.stderr).toContain(`${registry.host}/nowhere/calico/node:${v.calico} (HTTP 404)`);
  });

  it('the rendered import script imports what is missing with ctr and skips what is present', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kubeon-ctr-'));
    try {
      const ctr = path.join(dir, 'ctr');
      await writeFile(
        ctr,
        `#!/bin/sh\necho "$*" >> ${dir}/calls\nif [ "$3 $4" = "images ls" ]; then echo registry.k8s.io/pause:3.10; fi\n`,
      );
      await chmod(ctr, 0o755);
      const script = renderImageImportScript([
        { file: '/opt/kubeon/v1.31.14/images/pause.tar', image: 'registry.k8s.io/pause:3.10' },
        { file: "/opt/kubeon/v1.31.14/images/it's etcd.tar", image: 'registry.k8s.io/etcd:3.5.24-0' },
      ]);
      await writeFile(path.join(dir, 'import.sh'), script);
      const { stdout } = await run('sh', [path.join(dir, 'import.sh')], {
        env: { PATH: `${dir}:${process.env.PATH}` },
      });
      expect(stdout).toContain('present: registry.k8s.io/pause:3.10');
      const calls = (await readFile(path.join(dir, 'calls'), 'utf8')).trim().split('\n');
      expect(calls).toEqual([
        '-n k8s.io images ls -q',
        "-n k8s.io images import /opt/kubeon/v1.31.14/images/it's etcd.tar",
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('image digests recorded at first use', () => {
  it('refuses a tag that now resolves to another digest, until --accept-new-image-digests', async () => {
    const env = {
      KUBEON_HOME: home,
      KUBEON_TRUSTED_DIGESTS: trustedDigestsPath(root),
      PATH: process.env.PATH,
    };
    const args = ['download', VERSION, '--arch', 'amd64', '--offline', '--mirror', mirror.url];
    const first = await runKubeon([...args, '--image-repo', registry.host], env);
    expect(first.code, first.stderr).toBe(0);
    const pinsFile = path.join(home, 'image-digests');
    const pause = pushed.find((p) => p.source === 'registry.k8s.io/pause:3.10')!;
    expect(await readFile(pinsFile, 'utf8')).toContain(`registry.k8s.io/pause:3.10 ${pause.digest}\n`);

    // The same tag republished with other content (Docker media types give another index digest).
    const [changed] = await pushImages(registry.url, ['registry.k8s.io/pause:3.10'], {
      format: 'docker',
      username: 'lab',
      password: 'secret',
    });
    expect(changed!.digest).not.toBe(pause.digest);
    const refused = await runKubeon([...args, '--image-repo', registry.host], env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`image registry.k8s.io/pause:3.10 now resolves to ${changed!.digest}`);
    expect(refused.stderr).toContain('--accept-new-image-digests');
    expect(await readFile(pinsFile, 'utf8')).toContain(`registry.k8s.io/pause:3.10 ${pause.digest}\n`);

    const accepted = await runKubeon(
      [...args, '--image-repo', registry.host, '--accept-new-image-digests'],
      env,
    );
    expect(accepted.code, accepted.stderr).toBe(0);
    const pins = await readFile(pinsFile, 'utf8');
    expect(pins).toContain(`registry.k8s.io/pause:3.10 ${changed!.digest}\n`);
    expect(pins).not.toContain(pause.digest);
  }, 300_000);
});

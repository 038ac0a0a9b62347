// Runs Debian's real docker-registry (distribution 2.8) on loopback; no root needed.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mirrorCommand } from './cli.js';
import { labImages, MEDIA, mirrorRepository, type PushedImage, pushImages } from './images.js';
import { REGISTRY_BINARY, type Registry, startRegistry } from './registry.js';

/** Exited: no such process, or a zombie its parent has not reaped yet. */
const gone = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
};
const digestOf = (b: ArrayBuffer) => `sha256:${createHash('sha256').update(Buffer.from(b)).digest('hex')}`;

// scripts/bootstrap.sh installs docker-registry; without it these tests must fail, not vanish.
it('the real docker-registry is installed', () => {
  expect(existsSync(REGISTRY_BINARY)).toBe(true);
});

describe('lab registry with token auth', () => {
  let registry: Registry;
  let pushed: PushedImage[];

  beforeAll(async () => {
    registry = await startRegistry({ auth: { users: { lab: 'secret' }, anonymousPull: true } });
    pushed = await pushImages(registry.url, labImages('v1.31.14'), { username: 'lab', password: 'secret' });
  });
  afterAll(async () => {
    await registry?.close();
  });

  it('maps upstream names path-preserving', () => {
    expect(mirrorRepository('registry.k8s.io/coredns/coredns:v1.11.3')).toEqual({
      repository: 'coredns/coredns',
      tag: 'v1.11.3',
    });
    expect(mirrorRepository('docker.io/library/haproxy:3.0.12').repository).toBe('library/haproxy');
    expect(pushed.map((p) => `${p.repository}:${p.tag}`)).toContain('kube-apiserver:v1.31.14');
    expect(pushed.map((p) => p.repository)).toEqual(
      expect.arrayContaining(['pause', 'etcd', 'coredns/coredns', 'library/haproxy', 'calico/node']),
    );
  });

  it('answers anonymous requests with a bearer challenge, then serves index, manifests and blobs by digest', async () => {
    const image = pushed.find((p) => p.repository === 'kube-apiserver')!;
    const first = await fetch(`${registry.url}/v2/${image.repository}/manifests/${image.tag}`);
    expect(first.status).toBe(401);
    const challenge = first.headers.get('www-authenticate')!;
    expect(challenge).toMatch(
      /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/token",service="kubeon-lab-registry"/,
    );
    await first.body?.cancel();

    const tokenUrl = `${registry.tokenUrl}?service=${registry.service}&scope=repository:${image.repository}:pull`;
    const { token } = (await (await fetch(tokenUrl)).json()) as { token: string };
    const headers = { authorization: `Bearer ${token}`, accept: `${MEDIA.oci.index}, ${MEDIA.oci.manifest}` };

    const byTag = await fetch(`${registry.url}/v2/${image.repository}/manifests/${image.tag}`, { headers });
    expect(byTag.status).toBe(200);
    expect(byTag.headers.get('content-type')).toBe(MEDIA.oci.index);
    const indexBytes = await byTag.arrayBuffer();
    expect(digestOf(indexBytes)).toBe(image.digest);
    expect(byTag.headers.get('docker-content-digest')).toBe(image.digest);
    const index = JSON.parse(Buffer.from(indexBytes).toString()) as {
      manifests: { digest: string; platform: { architecture: string } }[];
    };
    expect(index.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64']);

    for (const m of index.manifests) {
      const res = await fetch(`${registry.url}/v2/${image.repository}/manifests/${m.digest}`, { headers });
      expect(res.status).toBe(200);
      const bytes = await res.arrayBuffer();
      expect(digestOf(bytes)).toBe(m.digest);
      const manifest = JSON.parse(Buffer.from(bytes).toString()) as {
        config: { digest: string };
        layers: { digest: string }[];
      };
      for (const d of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
        const blob = await fetch(`${registry.url}/v2/${image.repository}/blobs/${d}`, { headers });
        expect(blob.status).toBe(200);
        expect(digestOf(await blob.arrayBuffer())).toBe(d);
      }
    }
  });

  it('refuses a push without credentials and grants anonymous clients pull only', async () => {
    await expect(pushImages(registry.url, ['registry.k8s.io/pause:9.9'])).rejects.toThrow(
      /401|UNAUTHORIZED|denied/i,
    );
    const anon = registry.tokenRequests().filter((r) => !r.user && r.status === 200);
    expect(anon.length).toBeGreaterThan(0);
    for (const r of anon) for (const g of r.granted) expect(g).toMatch(/:pull$|:$/);
    const bad = await fetch(`${registry.tokenUrl}?service=${registry.service}&scope=repository:pause:push`, {
      headers: { authorization: `Basic ${Buffer.from('lab:wrong').toString('base64')}` },
    });
    expect(bad.status).toBe(401);
  });

  it('pushes Docker schema 2 manifest lists too', async () => {
    const [img] = await pushImages(registry.url, ['registry.k8s.io/pause:3.10'], {
      username: 'lab',
      password: 'secret',
      format: 'docker',
      arches: ['amd64'],
    });
    expect(img!.manifests).toHaveLength(1);
  });
});

describe('lab mirror registry CLI', () => {
  it('starts a filled registry detached, start/stop twice are safe, nothing is left behind', async () => {
    const stateDir = await mkdtemp(path.join(tmpdir(), 'kubeon-registry-cli-'));
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
      out += c.toString();
      return true;
    });
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const run = async (...argv: string[]) => {
      out = '';
      return { code: await mirrorCommand([...argv, '--state-dir', stateDir]), out };
    };
    try {
      const first = await run('registry', 'start', '--kube', 'v1.30.14', '--json');
      expect(first.code).toBe(0);
      const state = JSON.parse(first.out) as {
        url: string;
        pid: number;
        registryPid: number;
        images: { ref: string }[];
      };
      expect(state.images.map((i) => i.ref)).toContain(`${new URL(state.url).host}/pause:3.9`);
      const res = await fetch(`${state.url}/v2/pause/manifests/3.9`, {
        headers: { accept: MEDIA.oci.index },
      });
      expect(res.status).toBe(200);
      await res.body?.cancel();
      expect(JSON.parse((await run('registry', 'start', '--json')).out).pid).toBe(state.pid);
      expect(JSON.parse((await run('registry', 'stop', '--json')).out)).toEqual({
        stopped: true,
        pid: state.pid,
      });
      expect((await run('registry', 'stop')).out).toBe('not running\n');
      for (const pid of [state.pid, state.registryPid]) expect(gone(pid)).toBe(true);
    } finally {
      await mirrorCommand(['registry', 'stop', '--state-dir', stateDir]);
      spy.mockRestore();
      err.mockRestore();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});

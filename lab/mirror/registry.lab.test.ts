// Runs Debian's real docker-registry (distribution 2.8) on loopback; no root needed.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labImages, MEDIA, mirrorRepository, type PushedImage, pushImages } from './images.js';
import { REGISTRY_BINARY, type Registry, startRegistry } from './registry.js';

const hasRegistry = existsSync(REGISTRY_BINARY);
const digestOf = (b: ArrayBuffer) => `sha256:${createHash('sha256').update(Buffer.from(b)).digest('hex')}`;

describe.skipIf(!hasRegistry)('lab registry with token auth', () => {
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

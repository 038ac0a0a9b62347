import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactCache } from '../../src/artifacts/cache.js';
import { checkVersionSupported } from '../../src/artifacts/catalog.js';
import catalog from '../../src/artifacts/catalog.json' with { type: 'json' };
import digests from '../../src/artifacts/digests.json' with { type: 'json' };
import { createDispatcher } from '../../src/artifacts/http.js';
import { calicoManifestUrl, fetchCalicoManifest, readCiliumManifest } from '../../src/artifacts/manifest.js';
import { prefixSource } from '../../src/artifacts/mirrors.js';
import { trustOf } from '../../src/artifacts/trust.js';
import { ExitCode, KubeonError } from '../../src/core/errors.js';

/**
 * The CNI manifest: calico's fetched from a mirror and kept only when it hashes to the trusted
 * digest (then served from the cache), cilium's read from the user's rendered chart and refused when
 * its images are not the catalogued release's.
 */

const V131 = checkVersionSupported('v1.31.14');
const V137 = checkVersionSupported('v1.37.1');
const GOOD = '---\nkind: DaemonSet\nmetadata:\n  name: calico-node\n';
let dir: string;
let server: Server;
let body = GOOD;
let prefix: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kubeon-manifest-'));
  server = createServer((_, res) => res.end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  prefix = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

function fetchOpts(digest: string) {
  const list = join(dir, 'trusted');
  writeFileSync(list, `${digest}  ${calicoManifestUrl(V131.calico)}\n`);
  return {
    cache: new ArtifactCache(join(dir, 'cache')),
    dispatcher: createDispatcher({}),
    sources: [prefixSource(prefix)],
    trust: trustOf({ KUBEON_TRUSTED_DIGESTS: list }),
  };
}

const sha = (t: string) => createHash('sha256').update(t).digest('hex');

describe('the calico manifest', () => {
  it('has a pinned digest for every catalogued calico release', () => {
    const pinned = trustOf({});
    for (const [minor, v] of Object.entries(catalog.minors))
      expect(pinned.byUrl(calicoManifestUrl(v.calico))?.digest, minor).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(digests.manifests)).toHaveLength(
      new Set(Object.values(catalog.minors).map((v) => v.calico)).size,
    );
  });

  it('is refused when the mirror serves other bytes than the trusted ones', async () => {
    body = `${GOOD}# tampered\n`;
    const err = await fetchCalicoManifest(V131, fetchOpts(sha(GOOD))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeonError);
    expect((err as Error).message).toContain(`sha256 ${sha(body)}, not ${sha(GOOD)}`);
  });

  it('is kept when it matches, and then comes from the cache without a mirror', async () => {
    body = GOOD;
    const got = await fetchCalicoManifest(V131, fetchOpts(sha(GOOD)));
    expect(got).toEqual({ source: calicoManifestUrl(V131.calico), sha256: sha(GOOD), text: GOOD });
    const again = await fetchCalicoManifest(V131, { ...fetchOpts(sha(GOOD)), sources: [] });
    expect(again.text).toBe(GOOD);
  });
});

function ciliumFile(images: string[]): string {
  const path = join(dir, `cilium-${images.length}-${sha(images.join()).slice(0, 8)}.yaml`);
  writeFileSync(
    path,
    images
      .map(
        (image, i) =>
          `---\nkind: DaemonSet\nmetadata:\n  name: c${i}\nspec:\n  image: "${image}@sha256:${'ab'.repeat(32)}"\n`,
      )
      .join(''),
  );
  return path;
}

describe('the cilium manifest', () => {
  const own = [
    `quay.io/cilium/cilium:${V137.cilium}`,
    `quay.io/cilium/operator-generic:${V137.cilium}`,
    `quay.io/cilium/cilium-envoy:${V137.ciliumEnvoy}`,
  ];

  it('is required, with the helm command that renders it', async () => {
    const err = (await readCiliumManifest(undefined, V137).catch((e: unknown) => e)) as KubeonError;
    expect(err.exitCode).toBe(ExitCode.badInput);
    expect(err.hint).toContain(`helm template cilium cilium/cilium --version ${V137.cilium.slice(1)}`);
  });

  it('is accepted with the catalogued release images, digests and all', async () => {
    const path = ciliumFile(own);
    const got = await readCiliumManifest(path, V137);
    expect(got.source).toBe(path);
    expect(got.text).toContain('quay.io/cilium/cilium:');
  });

  it('is refused, naming the image, when it is another release or carries more', async () => {
    for (const stray of [
      `quay.io/cilium/cilium:v1.19.6`,
      `quay.io/cilium/hubble-relay:${V137.cilium}`,
      `quay.io/cilium/cilium-envoy:v1.0.0`,
    ]) {
      const err = (await readCiliumManifest(ciliumFile([...own.slice(1), stray]), V137).catch(
        (e: unknown) => e,
      )) as KubeonError;
      expect(err.exitCode, stray).toBe(ExitCode.badInput);
      expect(err.message).toContain(`uses image ${stray},`);
    }
    const none = (await readCiliumManifest(ciliumFile(own.slice(1)), V137).catch((e: unknown) => e)) as Error;
    expect(none.message).toContain(`does not run quay.io/cilium/cilium:${V137.cilium}`);
  });
});

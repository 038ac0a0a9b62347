import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { type Dispatcher, request } from 'undici';
import type { ArtifactCache } from './cache.js';
import { sha256File } from './checksum.js';
import { HttpStatusError, reasonOf } from './http.js';
import { ImageDigestChanged, type ImagePins } from './image-pins.js';
import { formatImageRef, type ImageRef } from './mirrors.js';
import type { Arch } from './plan.js';

/**
 * A small OCI distribution client: bearer-token auth, multi-arch index to the platform's manifest, blobs
 * verified by digest, and the result written as an OCI image-layout tar that `ctr images import` reads.
 * No registry client on npm is maintained well enough to depend on.
 */

const INDEX_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];
const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];
const ACCEPT = [...INDEX_TYPES, ...MANIFEST_TYPES].join(', ');

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
}

interface Manifest {
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;

export function registryBase(registry: string): string {
  if (LOOPBACK.test(registry)) return `http://${registry}`;
  return `https://${registry === 'docker.io' ? 'registry-1.docker.io' : registry}`;
}

/** One registry session: remembers the bearer token per repository. */
export class RegistryClient {
  readonly #dispatcher: Dispatcher;
  readonly #tokens = new Map<string, string>();

  constructor(dispatcher: Dispatcher) {
    this.#dispatcher = dispatcher;
  }

  async #get(ref: ImageRef, path: string, accept?: string) {
    const url = `${registryBase(ref.registry)}/v2/${ref.repository}/${path}`;
    const key = `${ref.registry}/${ref.repository}`;
    for (let i = 0; i < 2; i++) {
      const token = this.#tokens.get(key);
      const headers: Record<string, string> = {};
      if (accept) headers.accept = accept;
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await request(url, { dispatcher: this.#dispatcher, method: 'GET', headers });
      if (res.statusCode === 401 && i === 0) {
        const challenge = String(res.headers['www-authenticate'] ?? '');
        await res.body.dump();
        this.#tokens.set(key, await this.#token(challenge, ref));
        continue;
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new HttpStatusError(res.statusCode, url);
      }
      return res;
    }
    throw new HttpStatusError(401, url);
  }

  /** Anonymous pull token from the realm the registry's challenge names. */
  async #token(challenge: string, ref: ImageRef): Promise<string> {
    if (!/^Bearer /i.test(challenge)) throw new Error(`registry wants "${challenge.split(' ')[0]}" auth`);
    const params = Object.fromEntries(
      [...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]),
    );
    if (!params.realm) throw new Error('registry challenge has no realm');
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', params.scope ?? `repository:${ref.repository}:pull`);
    const res = await request(url, { dispatcher: this.#dispatcher, method: 'GET' });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new HttpStatusError(res.statusCode, url.toString());
    }
    const body = (await res.body.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new Error('token endpoint returned no token');
    return token;
  }

  /** A manifest's bytes, checked against the digest asked for or announced. */
  async manifest(
    ref: ImageRef,
    reference: string,
  ): Promise<{ bytes: Buffer; digest: string; mediaType: string }> {
    const res = await this.#get(ref, `manifests/${reference}`, ACCEPT);
    const bytes = Buffer.from(await res.body.arrayBuffer());
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const announced = res.headers['docker-content-digest'];
    const want = reference.startsWith('sha256:')
      ? reference
      : typeof announced === 'string'
        ? announced
        : undefined;
    if (want && want !== digest) throw new Error(`manifest digest mismatch: got ${digest}, want ${want}`);
    const parsed = JSON.parse(bytes.toString('utf8')) as { mediaType?: string };
    const mediaType = parsed.mediaType ?? String(res.headers['content-type'] ?? '').split(';')[0]!;
    return { bytes, digest, mediaType };
  }

  /** Streams a blob to `path`, failing unless its bytes hash to `digest`. */
  async blob(ref: ImageRef, digest: string, path: string, onBytes?: (n: number) => void): Promise<void> {
    const res = await this.#get(ref, `blobs/${digest}`);
    const hash = createHash('sha256');
    const tap = new Transform({
      transform(chunk: Buffer, _e, cb) {
        hash.update(chunk);
        onBytes?.(chunk.length);
        cb(null, chunk);
      },
    });
    await pipeline(res.body, tap, createWriteStream(path, { mode: 0o600 }));
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== digest) {
      await rm(path, { force: true });
      throw new Error(`blob ${digest.slice(0, 19)}… digest mismatch (got ${got.slice(0, 19)}…)`);
    }
  }
}

/** Picks the manifest for linux/`arch` from an index. */
export function pickPlatform(index: { manifests?: Descriptor[] }, arch: Arch): Descriptor | undefined {
  const list = index.manifests ?? [];
  return (
    list.find(
      (m) =>
        m.platform?.os === 'linux' &&
        m.platform.architecture === arch &&
        (arch !== 'arm64' || !m.platform.variant || m.platform.variant === 'v8'),
    ) ?? undefined
  );
}

export interface PulledImage {
  /** The name the image gets on the nodes (the upstream reference). */
  image: string;
  /** The reference actually fetched (a mirror's, or the original). */
  from: string;
  arch: Arch;
  manifestDigest: string;
  /** sha256 of the archive (its cache blob name). */
  sha256: string;
  /** The archive in the cache. */
  path: string;
  bytes: number;
  source: 'downloaded' | 'cached';
}

/**
 * Fetches one image for one architecture into an OCI archive in the cache, trying each candidate
 * reference in order. The archive is reused while the tag still resolves to the same manifest.
 */
export async function pullImage(
  image: ImageRef,
  candidates: readonly ImageRef[],
  arch: Arch,
  opts: {
    cache: ArtifactCache;
    client: RegistryClient;
    kubernetes: string;
    onBytes?: (n: number) => void;
    /** Digests recorded at first use: a tag that now resolves elsewhere is refused. */
    pins?: ImagePins;
  },
): Promise<PulledImage> {
  const name = formatImageRef(image);
  const key = `image/${name}/${arch}`;
  const tried: string[] = [];
  for (const cand of candidates) {
    const from = formatImageRef(cand);
    try {
      const top = await opts.client.manifest(cand, cand.tag);
      // Keyed by the upstream name: a faithful mirror serves the very same content-addressed digest.
      await opts.pins?.check(name, top.digest);
      let manifest = top;
      if (INDEX_TYPES.includes(top.mediaType)) {
        const pick = pickPlatform(
          JSON.parse(top.bytes.toString('utf8')) as { manifests?: Descriptor[] },
          arch,
        );
        if (!pick) throw new Error(`no linux/${arch} image in the index`);
        manifest = await opts.client.manifest(cand, pick.digest);
      }
      const known = await opts.cache.lookup(key);
      if (known && known.url === `${from}@${manifest.digest}` && (await opts.cache.verify(known.sha256))) {
        await opts.cache.record({ [key]: { ...known, kubernetes: [opts.kubernetes] } });
        await opts.pins?.record(name, top.digest);
        return {
          image: name,
          from,
          arch,
          manifestDigest: manifest.digest,
          sha256: known.sha256,
          path: opts.cache.blobPath(known.sha256),
          bytes: known.bytes,
          source: 'cached',
        };
      }
      const archive = await writeArchive(name, cand, manifest, opts);
      const bytes = (await stat(archive.path)).size;
      await opts.cache.commit(archive.path, archive.sha256);
      await opts.cache.record({
        [key]: {
          sha256: archive.sha256,
          bytes,
          url: `${from}@${manifest.digest}`,
          checksumSource: `registry ${registryBase(cand.registry)} (manifest ${manifest.digest})`,
          fetchedAt: new Date().toISOString(),
          kubernetes: [opts.kubernetes],
        },
      });
      await opts.pins?.record(name, top.digest);
      return {
        image: name,
        from,
        arch,
        manifestDigest: manifest.digest,
        sha256: archive.sha256,
        path: opts.cache.blobPath(archive.sha256),
        bytes,
        source: 'downloaded',
      };
    } catch (err) {
      // A changed digest is refused outright: another mirror may not outvote the record.
      if (err instanceof ImageDigestChanged) throw err;
      tried.push(`${from} (${reasonOf(err)})`);
    }
  }
  throw new Error(`image ${name} linux/${arch}: ${tried.join(', ')}`);
}

/** Downloads config and layers into a staging directory and tars it as an OCI image layout. */
async function writeArchive(
  name: string,
  ref: ImageRef,
  manifest: { bytes: Buffer; digest: string; mediaType: string },
  opts: { cache: ArtifactCache; client: RegistryClient; onBytes?: (n: number) => void },
): Promise<{ path: string; sha256: string }> {
  const stage = await opts.cache.tempPath('oci');
  const blobs = join(stage, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true, mode: 0o700 });
  try {
    const m = JSON.parse(manifest.bytes.toString('utf8')) as Manifest;
    if (!m.config?.digest || !Array.isArray(m.layers)) throw new Error('manifest has no config or layers');
    await writeFile(join(blobs, manifest.digest.slice(7)), manifest.bytes);
    for (const d of [m.config, ...m.layers]) {
      if (!/^sha256:[0-9a-f]{64}$/.test(d.digest)) throw new Error(`unsupported digest ${d.digest}`);
      await opts.client.blob(ref, d.digest, join(blobs, d.digest.slice(7)), opts.onBytes);
    }
    await writeFile(join(stage, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: manifest.mediaType,
          digest: manifest.digest,
          size: manifest.bytes.length,
          annotations: {
            'io.containerd.image.name': name,
            'org.opencontainers.image.ref.name': name.slice(name.lastIndexOf(':') + 1),
          },
        },
      ],
    };
    await writeFile(join(stage, 'index.json'), JSON.stringify(index));
    const out = `${stage}.tar`;
    await tar.c({ cwd: stage, file: out, portable: true, mtime: new Date(0) }, [
      'oci-layout',
      'index.json',
      'blobs',
    ]);
    return { path: out, sha256: await sha256File(out) };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

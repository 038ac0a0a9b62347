/**
 * Small but well-formed container images for the lab registry: per arch a one-file gzip layer, an
 * image config and a manifest, tied together by a multi-arch index, pushed through the registry
 * HTTP API (the distribution spec) with bearer-token auth when the registry asks for it.
 * The images do not run anything; they exist so kubeon's offline path (resolve, pull by digest,
 * verify, store as OCI archives) meets real registry behaviour.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { fetch, type Response } from 'undici';
import { checkVersionSupported } from '../../src/artifacts/catalog.js';
import { NODE_RUNTIME_IMAGE } from '../../src/artifacts/plan.js';
import { MINORS, parseVersion } from '../standins/lib/versions.js';
import type { Arch } from './layout.js';

export const MEDIA = {
  oci: {
    index: 'application/vnd.oci.image.index.v1+json',
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  },
  docker: {
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  },
} as const;
export type ManifestFormat = keyof typeof MEDIA;

export interface ControlPlanePins {
  pause: string;
  etcd: string;
  coredns: string;
}

/**
 * The lab's image set for a Kubernetes version, as upstream references: the control plane and
 * kube-proxy at that version, pause/etcd/coredns as the kubeadm stand-in of that minor lists them
 * (overridable with `pins`), and the haproxy, calico and cilium images kubeon's catalog picks.
 */
export function labImages(kubeVersion: string, pins?: Partial<ControlPlanePins>): string[] {
  const minor = parseVersion(kubeVersion)?.minor;
  const known = minor === undefined ? undefined : MINORS[minor];
  const p = { ...known, ...pins };
  const catalog = checkVersionSupported(kubeVersion, { allowDotZero: true });
  if (!p.pause || !p.etcd || !p.coredns) throw new Error(`no pause/etcd/coredns pins for ${kubeVersion}`);
  const k8s = 'registry.k8s.io';
  return [
    `${k8s}/kube-apiserver:${kubeVersion}`,
    `${k8s}/kube-controller-manager:${kubeVersion}`,
    `${k8s}/kube-scheduler:${kubeVersion}`,
    `${k8s}/kube-proxy:${kubeVersion}`,
    `${k8s}/coredns/coredns:${p.coredns}`,
    `${k8s}/pause:${p.pause}`,
    `${k8s}/etcd:${p.etcd}`,
    `docker.io/library/haproxy:${catalog.haproxy}`,
    NODE_RUNTIME_IMAGE,
    `docker.io/calico/cni:${catalog.calico}`,
    `docker.io/calico/node:${catalog.calico}`,
    `docker.io/calico/kube-controllers:${catalog.calico}`,
    `quay.io/cilium/cilium:${catalog.cilium}`,
    `quay.io/cilium/operator-generic:${catalog.cilium}`,
    ...(catalog.ciliumEnvoy ? [`quay.io/cilium/cilium-envoy:${catalog.ciliumEnvoy}`] : []),
  ];
}

/**
 * Where an upstream image lives in a path-preserving mirror registry: the registry host goes,
 * the path stays (`registry.k8s.io/coredns/coredns:v1.11.3` -> `coredns/coredns:v1.11.3`).
 */
export function mirrorRepository(ref: string): { repository: string; tag: string } {
  const at = ref.lastIndexOf(':');
  const slash = ref.lastIndexOf('/');
  if (at <= slash) throw new Error(`image reference needs a tag: ${ref}`);
  const name = ref.slice(0, at);
  const first = name.split('/')[0]!;
  const hasHost = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  return { repository: hasHost ? name.slice(first.length + 1) : name, tag: ref.slice(at + 1) };
}

interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  data: Buffer;
}

const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const blob = (mediaType: string, data: Buffer): Blob => ({
  mediaType,
  digest: sha256(data),
  size: data.length,
  data,
});

/** A one-file ustar archive: enough for a valid layer, and reproducible (fixed mtime, owner 0). */
function tarOneFile(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const field = (value: string, offset: number, length: number) =>
    header.write(value, offset, length, 'ascii');
  const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, '0');
  field(name, 0, 100);
  field(octal(0o644, 8), 100, 8);
  field(octal(0, 8), 108, 8);
  field(octal(0, 8), 116, 8);
  field(octal(content.length, 12), 124, 12);
  field(octal(1_704_067_200, 12), 136, 12);
  field('        ', 148, 8);
  field('0', 156, 1);
  field('ustar\u000000', 257, 8);
  let sum = 0;
  for (const b of header) sum += b;
  field(`${octal(sum, 7)}\u0000`, 148, 8);
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, pad, Buffer.alloc(1024)]);
}

interface BuiltImage {
  blobs: Blob[];
  manifests: { arch: Arch; blob: Blob }[];
  index: Blob;
}

function buildImage(repository: string, tag: string, arches: Arch[], format: ManifestFormat): BuiltImage {
  const media = MEDIA[format];
  const blobs: Blob[] = [];
  const manifests: { arch: Arch; blob: Blob }[] = [];
  for (const arch of arches) {
    const tarball = tarOneFile(
      'kubeon-lab-image.txt',
      Buffer.from(`${repository}:${tag} linux/${arch} (kubeon lab image; runs nothing)\n`),
    );
    const layer = blob(media.layer, gzipSync(tarball, { level: 9 }));
    const config = blob(
      media.config,
      Buffer.from(
        JSON.stringify({
          architecture: arch,
          os: 'linux',
          config: { Labels: { 'io.kubeon.lab': 'true' } },
          rootfs: { type: 'layers', diff_ids: [sha256(tarball)] },
        }),
      ),
    );
    const manifest = blob(
      media.manifest,
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: media.manifest,
          config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
          layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
        }),
      ),
    );
    blobs.push(layer, config);
    manifests.push({ arch, blob: manifest });
  }
  const index = blob(
    media.index,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: media.index,
        manifests: manifests.map((m) => ({
          mediaType: m.blob.mediaType,
          digest: m.blob.digest,
          size: m.blob.size,
          platform: { architecture: m.arch, os: 'linux' },
        })),
      }),
    ),
  );
  return { blobs, manifests, index };
}

export interface PushOptions {
  arches?: Arch[];
  format?: ManifestFormat;
  /** Credentials for the token server (push needs them when the registry uses token auth). */
  username?: string;
  password?: string;
}

export interface PushedImage {
  /** The upstream reference it stands for. */
  source: string;
  repository: string;
  tag: string;
  /** Digest of the multi-arch index (what the tag points at). */
  digest: string;
  manifests: { arch: Arch; digest: string }[];
  blobs: string[];
}

/**
 * Pushes one small multi-arch image per upstream reference into `registryUrl`, at the
 * path-preserving name (see mirrorRepository). Blobs already present are not uploaded again.
 */
export async function pushImages(
  registryUrl: string,
  refs: string[],
  opts: PushOptions = {},
): Promise<PushedImage[]> {
  const client = new RegistryClient(registryUrl, opts.username, opts.password);
  const arches = opts.arches ?? ['amd64', 'arm64'];
  const out: PushedImage[] = [];
  for (const source of refs) {
    const { repository, tag } = mirrorRepository(source);
    const image = buildImage(repository, tag, arches, opts.format ?? 'oci');
    for (const b of image.blobs) await client.putBlob(repository, b);
    for (const m of image.manifests) await client.putManifest(repository, m.blob.digest, m.blob);
    await client.putManifest(repository, tag, image.index);
    out.push({
      source,
      repository,
      tag,
      digest: image.index.digest,
      manifests: image.manifests.map((m) => ({ arch: m.arch, digest: m.blob.digest })),
      blobs: image.blobs.map((b) => b.digest),
    });
  }
  return out;
}

/**
 * Just enough of a distribution-spec client to push: answers a `Bearer` challenge by asking the
 * realm for a token (Basic credentials if it has them) and caches tokens per scope.
 */
export class RegistryClient {
  readonly #base: string;
  readonly #auth: string | undefined;
  readonly #tokens = new Map<string, string>();

  constructor(base: string, username?: string, password?: string) {
    this.#base = base.replace(/\/+$/, '');
    this.#auth =
      username === undefined
        ? undefined
        : `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
  }

  async request(
    method: string,
    pathOrUrl: string,
    scope: string,
    init: { body?: Buffer; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${this.#base}${pathOrUrl}`;
    const send = () => {
      const token = this.#tokens.get(scope);
      return fetch(url, {
        method,
        headers: { ...init.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ...(init.body ? { body: init.body } : {}),
      });
    };
    const first = await send();
    if (first.status !== 401) return first;
    const challenge = first.headers.get('www-authenticate') ?? '';
    await first.body?.cancel();
    if (!challenge.startsWith('Bearer ')) throw new Error(`${method} ${url}: 401 without a bearer challenge`);
    this.#tokens.set(scope, await this.#token(challenge, scope));
    return send();
  }

  async #token(challenge: string, scope: string): Promise<string> {
    const params = Object.fromEntries(
      [...challenge.slice(7).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!] as const),
    );
    if (!params.realm) throw new Error(`bearer challenge without a realm: ${challenge}`);
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', scope);
    const res = await fetch(url, { headers: this.#auth ? { authorization: this.#auth } : {} });
    if (!res.ok) throw new Error(`token request to ${url.origin}${url.pathname}: HTTP ${res.status}`);
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new Error('token server answered without a token');
    return token;
  }

  async putBlob(repository: string, b: Blob): Promise<void> {
    const scope = `repository:${repository}:pull,push`;
    const head = await this.request('HEAD', `/v2/${repository}/blobs/${b.digest}`, scope);
    await head.body?.cancel();
    if (head.status === 200) return;
    const start = await this.request('POST', `/v2/${repository}/blobs/uploads/`, scope);
    await start.body?.cancel();
    const location = start.headers.get('location');
    if (start.status !== 202 || !location)
      throw new Error(`start upload ${repository}: HTTP ${start.status}`);
    const target = new URL(location, `${this.#base}/`);
    target.searchParams.set('digest', b.digest);
    const put = await this.request('PUT', target.href, scope, {
      body: b.data,
      headers: { 'content-type': 'application/octet-stream' },
    });
    const text = await put.text();
    if (put.status !== 201) throw new Error(`upload ${repository}@${b.digest}: HTTP ${put.status} ${text}`);
  }

  async putManifest(repository: string, reference: string, b: Blob): Promise<void> {
    const scope = `repository:${repository}:pull,push`;
    const put = await this.request('PUT', `/v2/${repository}/manifests/${reference}`, scope, {
      body: b.data,
      headers: { 'content-type': b.mediaType },
    });
    const text = await put.text();
    if (put.status !== 201)
      throw new Error(`put manifest ${repository}:${reference}: HTTP ${put.status} ${text}`);
    const digest = put.headers.get('docker-content-digest');
    if (digest && digest !== b.digest)
      throw new Error(`registry stored ${repository}:${reference} as ${digest}, expected ${b.digest}`);
  }
}

import { z } from 'zod';
import { badInput } from '../core/errors.js';
import mirrorData from './mirrors.json' with { type: 'json' };

/**
 * Where files and images can come from: upstream, the named profiles in mirrors.json, or the user's own
 * prefix mirrors and image repositories. Everything here is pure: it turns an upstream URL or image
 * reference into the candidates to try, in order.
 */

const RewriteSchema = z
  .object({ from: z.string().regex(/^https?:\/\//), to: z.string().regex(/^https?:\/\//) })
  .strict();
const FileMirrorSchema = z.object({ name: z.string(), rewrites: z.array(RewriteSchema) }).strict();
const ImageMirrorSchema = z
  .object({ registry: z.string(), repo: z.string(), layout: z.enum(['path', 'flat']) })
  .strict();
const MirrorsSchema = z
  .object({
    $comment: z.array(z.string()).optional(),
    profiles: z.record(
      z.string(),
      z.object({ files: z.array(FileMirrorSchema), images: z.array(ImageMirrorSchema) }).strict(),
    ),
  })
  .strict();

export type ImageMirror = z.infer<typeof ImageMirrorSchema>;
export const MIRRORS = MirrorsSchema.parse(mirrorData);

/** One place a file may be fetched from: maps an upstream URL to this source's URL, or says it has none. */
export interface FileSource {
  name: string;
  rewrite(upstreamUrl: string): string | undefined;
}

function rewriter(name: string, rewrites: { from: string; to: string }[]): FileSource {
  return {
    name,
    rewrite(url) {
      const r = rewrites.find((x) => url.startsWith(x.from));
      return r ? r.to + url.slice(r.from.length) : undefined;
    },
  };
}

/**
 * A prefix mirror keeps the upstream host as the first path segment:
 * `https://dl.k8s.io/release/...` is `<prefix>/dl.k8s.io/release/...`.
 */
export function prefixSource(prefix: string): FileSource {
  const base = prefix.replace(/\/+$/, '');
  return {
    name: base,
    rewrite(url) {
      const m = /^https:\/\/([^/]+)\/(.*)$/.exec(url);
      return m ? `${base}/${m[1]}/${m[2]}` : undefined;
    },
  };
}

export const UPSTREAM: FileSource = { name: 'upstream', rewrite: (url) => url };

const URL_MIRROR = /^https?:\/\/[^\s/]+(\/\S*)?$/;

/**
 * The mirror list from flags, else KUBEON_MIRROR, else `global`. Values may be comma-separated; each is
 * `global`, a profile name or an http(s) prefix URL.
 */
export function mirrorList(flags: readonly string[] | undefined, env: NodeJS.ProcessEnv): string[] {
  const raw = flags?.length ? flags : env.KUBEON_MIRROR ? [env.KUBEON_MIRROR] : ['global'];
  const list = raw
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  for (const m of list) {
    if (!MIRRORS.profiles[m] && !URL_MIRROR.test(m)) {
      throw badInput(
        `mirror "${m}" is not ${Object.keys(MIRRORS.profiles).join(', ')} or an http(s) URL`,
        'use --mirror cn, or --mirror https://host/prefix (several may be given, tried in order)',
      );
    }
  }
  return [...new Set(list)];
}

/** The file sources of a mirror list, in the order they are tried. */
export function fileSources(mirrors: readonly string[]): FileSource[] {
  return mirrors.flatMap((m) => {
    const profile = MIRRORS.profiles[m];
    if (!profile) return [prefixSource(m)];
    return profile.files.map((f) => rewriter(f.name, f.rewrites));
  });
}

/**
 * Where checksums are trusted from: upstream unless KUBEON_CHECKSUM_SOURCE names a prefix mirror the
 * operator trusts (an internal file server in an air-gapped site, or the lab's stand-in for upstream).
 */
export function checksumSource(env: NodeJS.ProcessEnv): FileSource {
  const v = env.KUBEON_CHECKSUM_SOURCE;
  if (!v || v === 'upstream') return UPSTREAM;
  if (!URL_MIRROR.test(v)) {
    throw badInput(
      `KUBEON_CHECKSUM_SOURCE "${v}" is not "upstream" or an http(s) URL`,
      'unset it to use upstream',
    );
  }
  return prefixSource(v);
}

/** `registry.k8s.io/coredns/coredns:v1.11.3` split into its parts; docker.io short names expanded. */
export interface ImageRef {
  registry: string;
  repository: string;
  tag: string;
}

export function parseImageRef(ref: string): ImageRef {
  const at = ref.lastIndexOf(':');
  const slash = ref.lastIndexOf('/');
  if (at <= slash) throw badInput(`image "${ref}" has no tag`, 'write images as registry/repository:tag');
  const name = ref.slice(0, at);
  const tag = ref.slice(at + 1);
  const first = name.split('/')[0]!;
  const hasRegistry =
    name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) {
    return { registry: 'docker.io', repository: name.includes('/') ? name : `library/${name}`, tag };
  }
  return { registry: first, repository: name.slice(first.length + 1), tag };
}

export function formatImageRef(r: ImageRef): string {
  return `${r.registry}/${r.repository}:${r.tag}`;
}

/** A repository string such as `registry.aliyuncs.com/google_containers` as a registry plus path prefix. */
function splitRepo(repo: string): { registry: string; prefix: string } {
  const clean = repo.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  const i = clean.indexOf('/');
  return i < 0
    ? { registry: clean, prefix: '' }
    : { registry: clean.slice(0, i), prefix: clean.slice(i + 1) };
}

function mapImage(ref: ImageRef, mirror: ImageMirror): ImageRef | undefined {
  if (mirror.registry !== '*' && mirror.registry !== ref.registry) return undefined;
  const { registry, prefix } = splitRepo(mirror.repo);
  const path = mirror.layout === 'flat' ? ref.repository.split('/').pop()! : ref.repository;
  return { registry, repository: prefix ? `${prefix}/${path}` : path, tag: ref.tag };
}

/**
 * The image mirrors of `--image-repo` values and a mirror list, in order. A custom repository follows
 * kubeadm's rule for registry.k8s.io images (flat: `<repo>/coredns`) and keeps the path of others
 * (`<repo>/calico/node`).
 */
export function imageMirrors(imageRepos: readonly string[], mirrors: readonly string[]): ImageMirror[] {
  const custom = imageRepos.flatMap((repo): ImageMirror[] => [
    { registry: 'registry.k8s.io', repo, layout: 'flat' },
    { registry: '*', repo, layout: 'path' },
  ]);
  const fromProfiles = mirrors.flatMap((m) => MIRRORS.profiles[m]?.images ?? []);
  return [...custom, ...fromProfiles];
}

/** Candidate references for an image, mirrors first, the original last when `global` is in the list. */
export function imageCandidates(
  ref: ImageRef,
  imageRepos: readonly string[],
  mirrors: readonly string[],
): ImageRef[] {
  const out: ImageRef[] = [];
  for (const m of imageMirrors(imageRepos, mirrors)) {
    const mapped = mapImage(ref, m);
    if (mapped && !out.some((o) => formatImageRef(o) === formatImageRef(mapped))) out.push(mapped);
  }
  if (mirrors.includes('global') || out.length === 0) out.push(ref);
  return out;
}

export interface KubeadmImageSettings {
  /** kubeadm ClusterConfiguration.imageRepository */
  imageRepository: string;
  /** kubeadm dns.imageRepository, only where kubeadm's own default would be wrong */
  dnsImageRepository?: string;
  /** containerd's sandbox (pause) image, which kubeadm does not configure */
  sandboxImage: string;
  /** registry -> path-preserving mirror endpoints for containerd's hosts.toml */
  registryMirrors: Record<string, string[]>;
}

/**
 * What the node configuration needs so every image, pause and coredns included, comes from the first
 * usable repository. kubeadm appends `/coredns` to the coredns path only for its default registry, so a
 * path-preserving mirror needs dns.imageRepository set explicitly, while a flat one matches kubeadm's
 * custom-repository rule as it is.
 */
export function kubeadmImageSettings(
  imageRepos: readonly string[],
  mirrors: readonly string[],
  pauseTag: string,
): KubeadmImageSettings {
  const first = imageMirrors(imageRepos, mirrors).find((m) => m.registry === 'registry.k8s.io');
  const registryMirrors: Record<string, string[]> = {};
  for (const m of imageMirrors(imageRepos, mirrors)) {
    if (m.layout !== 'path' || m.registry === '*') continue;
    const endpoints = registryMirrors[m.registry] ?? [];
    endpoints.push(`https://${m.repo}`);
    registryMirrors[m.registry] = endpoints;
  }
  if (!first) {
    return {
      imageRepository: 'registry.k8s.io',
      sandboxImage: `registry.k8s.io/pause:${pauseTag}`,
      registryMirrors,
    };
  }
  const repo = first.repo.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  return {
    imageRepository: repo,
    ...(first.layout === 'path' ? { dnsImageRepository: `${repo}/coredns` } : {}),
    sandboxImage: `${repo}/pause:${pauseTag}`,
    registryMirrors,
  };
}

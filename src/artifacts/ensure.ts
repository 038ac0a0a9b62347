import pLimit from 'p-limit';
import type { Dispatcher } from 'undici';
import { badInput, KubeonError } from '../core/errors.js';
import { ArtifactCache } from './cache.js';
import { checkVersionSupported, type SupportedVersion } from './catalog.js';
import { type FetchedFile, fetchFiles } from './fetch.js';
import { createDispatcher } from './http.js';
import { ImageDigestChanged, type ImagePins } from './image-pins.js';
import { type KubeadmImages, kubeadmImageList } from './kubeadm-images.js';
import { type CniManifest, fetchCalicoManifest, type ManifestFetch, readCiliumManifest } from './manifest.js';
import { checksumSource, type FileSource, fileSources, imageCandidates, parseImageRef } from './mirrors.js';
import { type PulledImage, pullImage, RegistryClient } from './oci.js';
import { type Arch, archOf, catalogImages, planFiles } from './plan.js';
import { type Progress, silentProgress } from './progress.js';
import { trustOf } from './trust.js';

/**
 * What `download` and `create` call: every file a version needs for the given architectures, verified
 * and in the cache, plus (offline mode) every container image as an OCI archive.
 */

export interface EnsureOptions {
  version: string;
  allowDotZero?: boolean;
  arches: readonly Arch[];
  /** Mirror list (`global`, `cn`, prefix URLs), already resolved from flags/env. */
  mirrors: readonly string[];
  imageRepos?: readonly string[];
  /** Also fetch container images. */
  images?: boolean;
  /** List kubeadm's images for the version (pause, etcd, coredns tags) even without fetching them. */
  kubeadmImages?: boolean;
  cni?: 'calico' | 'cilium' | 'none';
  /** Fetch the updater's Node runtime image too (default: yes, so a cache made ahead serves every mode). */
  updater?: boolean;
  /** Also get the CNI's manifest: calico's fetched and verified, cilium's read from `ciliumManifest`. */
  manifest?: boolean;
  /** The user's rendered Cilium chart (a path on this machine). */
  ciliumManifest?: string;
  cacheDir: string;
  env: NodeJS.ProcessEnv;
  progress?: Progress;
  warn?: (msg: string) => void;
  concurrency?: number;
  dispatcher?: Dispatcher;
  /** The control machine's architecture (for running kubeadm); default this process's. */
  hostArch?: Arch;
  /** --trust-mirror-checksums: a file no trusted source vouches for may be verified by the mirror's own checksum. */
  trustMirrorChecksums?: boolean;
  /** Image digests recorded at first use; a changed one is refused (see image-pins.ts). */
  imagePins?: ImagePins;
  /** Lists kubeadm's images; default runs the cached kubeadm. Tests on machines without it replace this. */
  listImages?: (kubeadmPath: string, version: string, sha256: string) => Promise<KubeadmImages>;
}

export interface ArtifactSet {
  version: SupportedVersion;
  files: FetchedFile[];
  kubeadmImages?: KubeadmImages;
  images: PulledImage[];
  cniManifest?: CniManifest;
}

async function cniManifestOf(
  version: SupportedVersion,
  opts: EnsureOptions,
  base: ManifestFetch,
): Promise<CniManifest | undefined> {
  if (opts.cni === 'cilium') return readCiliumManifest(opts.ciliumManifest, version);
  if (opts.ciliumManifest)
    throw badInput(
      `--cni-manifest is for --cni cilium, not ${opts.cni ?? 'calico'}`,
      'drop --cni-manifest (kubeon fetches and verifies calico itself)',
    );
  if (opts.cni === 'none') return undefined;
  return fetchCalicoManifest(version, base);
}

export async function ensureArtifacts(opts: EnsureOptions): Promise<ArtifactSet> {
  const version = checkVersionSupported(opts.version, { allowDotZero: opts.allowDotZero ?? false });
  if (opts.images && opts.cni === 'cilium' && !version.ciliumEnvoy)
    throw new KubeonError(
      `the catalog has no cilium-envoy image for Cilium ${version.cilium} (Kubernetes ${version.minor}), so an offline install would lack it`,
      { hint: 'use --cni calico for an offline install of this minor, or a minor from 1.34 on' },
    );
  const dispatcher = opts.dispatcher ?? createDispatcher({ env: opts.env });
  const cache = new ArtifactCache(opts.cacheDir);
  const sources: FileSource[] = fileSources(opts.mirrors);
  const base = {
    cache,
    dispatcher,
    sources,
    trusted: checksumSource(opts.env),
    trust: trustOf(opts.env),
    trustMirrorChecksums: Boolean(opts.trustMirrorChecksums),
    kubernetes: version.version,
    progress: opts.progress ?? silentProgress,
    concurrency: opts.concurrency ?? 4,
    ...(opts.warn ? { warn: opts.warn } : {}),
  };
  try {
    // The manifest first: a cilium file that names another release is bad input, found before any download.
    const manifest = opts.manifest ? await cniManifestOf(version, opts, base) : undefined;
    const withManifest = manifest ? { cniManifest: manifest } : {};
    const planned = planFiles(version, opts.arches);
    const files = await fetchFiles(planned, base);
    if (!opts.images && !opts.kubeadmImages) return { version, files, images: [], ...withManifest };

    const hostArch = opts.hostArch ?? archOf(process.arch);
    if (!hostArch) throw new KubeonError(`cannot run kubeadm on a ${process.arch} control machine`);
    let kubeadm = files.find((f) => f.artifact.component === 'kubeadm' && f.artifact.arch === hostArch);
    if (!kubeadm) {
      const [own] = planFiles(version, [hostArch]).filter((f) => f.component === 'kubeadm');
      [kubeadm] = await fetchFiles([own!], base);
    }
    // kubeadm runs here, on the control machine: only bytes that match the digest just verified.
    const kubeadmImages = await (opts.listImages ?? kubeadmImageList)(
      kubeadm!.path,
      version.version,
      kubeadm!.sha256,
    );
    if (!opts.images) return { version, files, kubeadmImages, images: [], ...withManifest };
    const wanted = [
      ...kubeadmImages.all,
      ...catalogImages(version, opts.cni ?? 'calico', { updater: opts.updater ?? true }),
    ];
    const client = new RegistryClient(dispatcher);
    const limit = pLimit(opts.concurrency ?? 4);
    const jobs = wanted.flatMap((image) =>
      opts.arches.map((arch) =>
        limit(async () => {
          const ref = parseImageRef(image);
          const id = `image/${image}/${arch}`;
          base.progress.begin(id, `${image} linux/${arch}`);
          let done = 0;
          try {
            const pulled = await pullImage(
              ref,
              imageCandidates(ref, opts.imageRepos ?? [], opts.mirrors),
              arch,
              {
                cache,
                client,
                kubernetes: version.version,
                ...(opts.imagePins ? { pins: opts.imagePins } : {}),
                onBytes: (n) => {
                  done += n;
                  base.progress.update(id, done, undefined);
                },
              },
            );
            base.progress.end(id, pulled.source === 'cached' ? 'cached' : `from ${pulled.from}`);
            return pulled;
          } catch (err) {
            base.progress.end(id, 'failed');
            throw err;
          }
        }),
      ),
    );
    const settled = await Promise.allSettled(jobs);
    const changed = settled.find(
      (s): s is PromiseRejectedResult => s.status === 'rejected' && s.reason instanceof ImageDigestChanged,
    );
    if (changed) throw changed.reason;
    const failed = settled.flatMap((s) =>
      s.status === 'rejected' ? [String((s.reason as Error).message)] : [],
    );
    if (failed.length > 0) {
      throw new KubeonError(
        `${failed.length} of ${jobs.length} images could not be fetched: ${failed.join('; ')}`,
        {
          hint: 'give a reachable registry with --image-repo or --mirror cn; a re-run keeps what was fetched',
        },
      );
    }
    const images = settled.map((s) => (s as PromiseFulfilledResult<PulledImage>).value);
    return { version, files, kubeadmImages, images, ...withManifest };
  } finally {
    base.progress.close();
    if (!opts.dispatcher) await dispatcher.close();
  }
}

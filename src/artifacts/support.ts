import type { Dispatcher } from 'undici';
import { CATALOG, type Catalog, type MinorInfo, minorsOf, type SupportedVersion } from './catalog.js';
import { causeOf } from './failures.js';
import { getText, reasonOf } from './http.js';
import { type FileSource, fileSources, formatImageRef, imageCandidates, parseImageRef } from './mirrors.js';
import { type Arch, catalogImages, planFiles } from './plan.js';

/** The data behind `view support` and `view component`. */

export interface SupportRow extends MinorInfo {
  /** Newest patch from `stable-1.Y.txt`; null when it could not be read (or was not asked). */
  latest: string | null;
  /** Why `latest` is null: offline, or what each mirror answered. */
  latestUnknown?: string;
}

/**
 * Lists the catalog's minors and, unless offline, asks the mirrors for each minor's newest patch; every
 * request shares one deadline so a blocked network costs at most `deadlineMs`.
 */
export async function supportTable(opts: {
  sources?: readonly FileSource[];
  dispatcher?: Dispatcher;
  deadlineMs?: number;
  catalog?: Catalog;
}): Promise<SupportRow[]> {
  const minors = minorsOf(opts.catalog ?? CATALOG);
  const { sources, dispatcher } = opts;
  if (!sources?.length || !dispatcher)
    return minors.map((m) => ({ ...m, latest: null, latestUnknown: 'offline: the mirrors were not asked' }));
  const deadlineMs = opts.deadlineMs ?? 4000;
  const signal = AbortSignal.timeout(deadlineMs);
  return Promise.all(
    minors.map(async (m): Promise<SupportRow> => {
      const causes: string[] = [];
      for (const s of sources) {
        const url = s.rewrite(`https://dl.k8s.io/release/stable-${m.minor}.txt`);
        if (!url) continue;
        if (signal.aborted) {
          causes.push(`no answer within ${deadlineMs / 1000} s`);
          break;
        }
        try {
          const text = (await getText(dispatcher, url, { signal, maxBytes: 64 })).trim();
          if (/^v\d+\.\d+\.\d+$/.test(text)) return { ...m, latest: text };
          causes.push(`${url} does not hold a version`);
        } catch (err) {
          // The next mirror may answer; with none, the catalog row stands on its own.
          causes.push(
            signal.aborted
              ? `no answer within ${deadlineMs / 1000} s`
              : causeOf({ url, reason: reasonOf(err) }),
          );
        }
      }
      return { ...m, latest: null, latestUnknown: [...new Set(causes)].join('; ') || 'no mirror serves it' };
    }),
  );
}

export interface ComponentView {
  version: string;
  minor: string;
  patched: boolean;
  components: Record<string, string>;
  /** Versions kubeadm decides; present when a cached kubeadm could be asked. */
  fromKubeadm: { pause?: string; etcd?: string; coredns?: string; note?: string };
  files: {
    component: string;
    version: string;
    arch: Arch;
    name: string;
    urls: string[];
    checksumUrl: string;
  }[];
  images: { image: string; candidates: string[] }[];
}

export function componentView(
  v: SupportedVersion,
  opts: {
    arches: readonly Arch[];
    mirrors: readonly string[];
    imageRepos: readonly string[];
    cni: 'calico' | 'cilium' | 'none';
    kubeadm?: { pause: string; etcd: string; coredns: string; all: string[] };
  },
): ComponentView {
  const sources = fileSources(opts.mirrors);
  const images = [...(opts.kubeadm?.all ?? []), ...catalogImages(v, opts.cni)];
  return {
    version: v.version,
    minor: v.minor,
    patched: v.patched,
    components: {
      kubernetes: v.version,
      containerd: v.containerd,
      runc: v.runc,
      crictl: v.crictl,
      cni: v.cni,
      calico: v.calico,
      cilium: v.cilium,
      haproxy: v.haproxy,
    },
    fromKubeadm: opts.kubeadm
      ? { pause: opts.kubeadm.pause, etcd: opts.kubeadm.etcd, coredns: opts.kubeadm.coredns }
      : { note: `decided by kubeadm ${v.version}; run kubeon download ${v.version} first to see them here` },
    files: planFiles(v, opts.arches).map((f) => ({
      component: f.component,
      version: f.version,
      arch: f.arch,
      name: f.name,
      urls: sources.map((s) => s.rewrite(f.url)).filter((u): u is string => Boolean(u)),
      checksumUrl: f.checksumUrl,
    })),
    images: images.map((image) => ({
      image,
      candidates: imageCandidates(parseImageRef(image), opts.imageRepos, opts.mirrors).map(formatImageRef),
    })),
  };
}

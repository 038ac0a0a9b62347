/**
 * Image references as containerd's CRI plugin and kubeadm see them. The CRI plugin looks an image
 * up by its normalised reference (distribution/reference ParseDockerRef: no registry means
 * docker.io, a one-part Docker Hub path gains library/, no tag means latest), and only in the
 * `k8s.io` namespace; kubeadm lists its images as images.GetControlPlaneImages does.
 */
import { type Doc, get, getStr } from './config.js';
import { criCall, type ImageRecord, type RuntimeInfo } from './cri.js';
import type { Finding } from './preflight.js';
import { factsFor, MINORS, type Version } from './versions.js';

export const CRI_NAMESPACE = 'k8s.io';
/** kubeadm's DefaultImageRepository: the only repository where CoreDNS sits under coredns/. */
export const DEFAULT_REPOSITORY = 'registry.k8s.io';

export interface ParsedRef {
  /** registry host, e.g. registry.k8s.io or docker.io */
  domain: string;
  /** repository path inside the registry, e.g. library/haproxy */
  path: string;
  tag?: string;
  digest?: string;
}

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
const PATH_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;

export function parseRef(ref: string): ParsedRef {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw new Error(`invalid reference format: "${ref}" has a bad digest`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw new Error(`invalid reference format: "${ref}" has a bad tag`);
  }
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  let domain = 'docker.io';
  let path = rest;
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    domain = first === 'index.docker.io' ? 'docker.io' : first;
    path = rest.slice(slash + 1);
  }
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  if (!PATH_RE.test(path))
    throw new Error(`invalid reference format: repository name in "${ref}" must be lowercase`);
  return { domain, path, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** The reference the CRI plugin stores and looks up: `haproxy:2.8` is `docker.io/library/haproxy:2.8`. */
export function normalizeRef(ref: string): string {
  const p = parseRef(ref);
  const name = `${p.domain}/${p.path}`;
  if (p.digest) return `${name}@${p.digest}`;
  return `${name}:${p.tag ?? 'latest'}`;
}

/** The stored image a reference resolves to in the CRI namespace, if any. */
export function findImage(
  images: (ImageRecord & { namespace?: string })[],
  ref: string,
): (ImageRecord & { namespace?: string }) | undefined {
  const p = parseRef(ref);
  const want = normalizeRef(ref);
  const inCri = images.filter((i) => i.namespace === CRI_NAMESPACE);
  if (p.digest) {
    const repo = `${p.domain}/${p.path}`;
    return inCri.find((i) => i.digest === p.digest && i.name.replace(/[:@][^/]*$/, '') === repo);
  }
  return inCri.find((i) => i.name === want);
}

/** Why an image is missing, with the fix: used where the image is needed and absent. */
export function missingHint(ref: string, images: (ImageRecord & { namespace?: string })[]): string {
  const want = normalizeRef(ref);
  const elsewhere = images.find((i) => i.name === want && i.namespace !== CRI_NAMESPACE);
  if (elsewhere)
    return `${want} is in containerd namespace "${elsewhere.namespace ?? 'default'}", not "${CRI_NAMESPACE}": import it with "ctr -n ${CRI_NAMESPACE} images import"`;
  const sameRepo = images.find(
    (i) => i.namespace === CRI_NAMESPACE && i.name.replace(/:[^/]*$/, '') === want.replace(/[:@][^/]*$/, ''),
  );
  if (sameRepo) return `only ${sameRepo.name} is present; the reference must match exactly`;
  return `import it with "ctr -n ${CRI_NAMESPACE} images import" or make it pullable through /etc/containerd/certs.d`;
}

export interface ImageListInput {
  /** The minor of the kubeadm that lists the images (its pause, coredns pins). */
  kubeadmMinor: number;
  kubernetesVersion: Version;
  imageRepository: string;
  dnsImageRepository?: string;
  dnsImageTag?: string;
  dnsDisabled?: boolean;
  proxyDisabled?: boolean;
  /** Undefined for external etcd. */
  etcd?: { imageRepository?: string; imageTag?: string };
}

/** images.GetDNSImage: only the default repository nests CoreDNS under coredns/. */
export function dnsImage(repo: string, dnsRepo: string | undefined, tag: string): string {
  let r = dnsRepo || repo;
  if (r === DEFAULT_REPOSITORY) r = `${r}/coredns`;
  return `${r}/coredns:${tag}`;
}

/** images.GetControlPlaneImages, in its order. */
export function controlPlaneImages(o: ImageListInput): string[] {
  const own = factsFor(o.kubeadmMinor);
  const repo = o.imageRepository;
  const v = o.kubernetesVersion.text;
  const out = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((c) => `${repo}/${c}:${v}`);
  if (!o.proxyDisabled) out.push(`${repo}/kube-proxy:${v}`);
  if (!o.dnsDisabled) out.push(dnsImage(repo, o.dnsImageRepository, o.dnsImageTag || own.coredns));
  out.push(`${repo}/pause:${own.pause}`);
  if (o.etcd) {
    const etcdMinor = MINORS[o.kubernetesVersion.minor] ? o.kubernetesVersion.minor : o.kubeadmMinor;
    out.push(`${o.etcd.imageRepository || repo}/etcd:${o.etcd.imageTag || factsFor(etcdMinor).etcd}`);
  }
  return out;
}

export interface ImageStatus {
  image?: ImageRecord;
  /** Why the image is not there (absent when it is). */
  missing?: string;
}

/**
 * kubeadm's ImagePullCheck (preflight/checks.go): with IfNotPresent an image the runtime has is
 * skipped, any other is pulled; Never skips the check; a failed pull is
 * `failed to pull image REF: ERR`. A sandbox image other than kubeadm's pause is only a warning.
 */
export async function imagePullCheck(
  criSocket: string,
  images: string[],
  policy: string,
  kubeadmPause: string,
): Promise<Finding[]> {
  if (policy === 'Never') return [];
  if (policy !== 'IfNotPresent' && policy !== 'Always')
    return [{ name: 'ImagePull', message: `unsupported pull policy "${policy}"` }];
  const out: Finding[] = [];
  const info = await criCall<RuntimeInfo>(criSocket, 'GET', '/v1/version');
  if (info.sandboxImage !== kubeadmPause)
    out.push({
      name: 'ImagePull',
      warning: true,
      message: `detected that the sandbox image "${info.sandboxImage}" of the container runtime is inconsistent with that used by kubeadm. It is recommended to use "${kubeadmPause}" as the CRI sandbox image.`,
    });
  for (const image of images) {
    const st = await criCall<ImageStatus>(criSocket, 'POST', '/v1/images/status', { image });
    if (st.image && policy === 'IfNotPresent') continue;
    try {
      await criCall(criSocket, 'POST', '/v1/images/pull', { image }, 120_000);
    } catch (e) {
      // the hint (wrong namespace, other tag) is the stand-in's, after kubeadm's message
      const hint = st.missing ? ` (${st.missing})` : '';
      out.push({
        name: 'ImagePull',
        message: `failed to pull image ${image}: ${(e as Error).message}${hint}`,
      });
    }
  }
  return out;
}

/** The images kubeadm lists for a ClusterConfiguration (GetControlPlaneImages). */
export function clusterImages(c: Doc | undefined, target: Version, kubeadmMinor: number): string[] {
  return controlPlaneImages({
    kubeadmMinor,
    kubernetesVersion: target,
    imageRepository: getStr(c, 'imageRepository') ?? DEFAULT_REPOSITORY,
    ...optional('dnsImageRepository', getStr(c, 'dns.imageRepository')),
    ...optional('dnsImageTag', getStr(c, 'dns.imageTag')),
    dnsDisabled: get(c, 'dns.disabled') === true,
    proxyDisabled: get(c, 'proxy.disabled') === true,
    ...(get(c, 'etcd.external')
      ? {}
      : {
          etcd: {
            ...optional('imageRepository', getStr(c, 'etcd.local.imageRepository')),
            ...optional('imageTag', getStr(c, 'etcd.local.imageTag')),
          },
        }),
  });
}

const optional = <K extends string>(k: K, v: string | undefined) =>
  (v ? { [k]: v } : {}) as { [P in K]?: string };

/** RunPullImagesCheck (init, control-plane join, upgrade): the findings preflight judges. */
export async function prePullFindings(
  cluster: Doc | undefined,
  target: Version,
  kubeadmMinor: number,
  criSocket: string,
  policy: string,
): Promise<Finding[]> {
  const repo = getStr(cluster, 'imageRepository') ?? DEFAULT_REPOSITORY;
  return imagePullCheck(
    criSocket,
    clusterImages(cluster, target, kubeadmMinor),
    policy,
    `${repo}/pause:${factsFor(kubeadmMinor).pause}`,
  );
}

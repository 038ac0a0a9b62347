import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Dispatcher } from 'undici';
import { isScalar, parseAllDocuments, visit } from 'yaml';
import { badInput, KubeonError } from '../core/errors.js';
import { type ArtifactCache, fileKey } from './cache.js';
import type { SupportedVersion } from './catalog.js';
import { getText, reasonOf } from './http.js';
import type { FileSource } from './mirrors.js';
import type { Trust } from './trust.js';

/**
 * The CNI manifest create applies, before any node changes. Calico's comes from upstream (through the
 * spec's mirrors) and is kept only when it hashes to the digest pinned for its URL, then cached like
 * any artifact, so a later run needs no network for it. Cilium publishes a Helm chart and no manifest
 * (quick-install.yaml went in 1.10, cilium/cilium#16498), and kubeon does not render charts: the user
 * gives `helm template` output, which is checked to be that Cilium release by its images.
 */

export interface CniManifest {
  /** Upstream URL, or the file the user gave. */
  source: string;
  sha256: string;
  text: string;
}

export function calicoManifestUrl(version: string): string {
  return `https://raw.githubusercontent.com/projectcalico/calico/${version}/manifests/calico.yaml`;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export interface ManifestFetch {
  cache: ArtifactCache;
  dispatcher: Dispatcher;
  sources: readonly FileSource[];
  trust: Trust;
  signal?: AbortSignal;
}

export async function fetchCalicoManifest(v: SupportedVersion, o: ManifestFetch): Promise<CniManifest> {
  const url = calicoManifestUrl(v.calico);
  const trusted = o.trust.byUrl(url);
  if (!trusted)
    throw new KubeonError(`no trusted digest for the calico manifest ${url}`, {
      hint: 'list its sha256 and URL in KUBEON_TRUSTED_DIGESTS',
    });
  if (await o.cache.verify(trusted.digest))
    return {
      source: url,
      sha256: trusted.digest,
      text: await readFile(o.cache.blobPath(trusted.digest), 'utf8'),
    };
  const tried: string[] = [];
  for (const source of o.sources) {
    const at = source.rewrite(url);
    if (!at) continue;
    let text: string;
    try {
      text = await getText(o.dispatcher, at, {
        maxBytes: 8 << 20,
        ...(o.signal ? { signal: o.signal } : {}),
      });
    } catch (err) {
      tried.push(`${at} (${reasonOf(err)})`);
      continue;
    }
    const got = sha256(text);
    if (got !== trusted.digest) {
      tried.push(`${at} (sha256 ${got}, not ${trusted.digest} ${trusted.from})`);
      continue;
    }
    await o.cache.init();
    const tmp = await o.cache.tempPath('calico.yaml');
    await writeFile(tmp, text, { mode: 0o600 });
    await o.cache.commit(tmp, got);
    await o.cache.record({
      [fileKey('calico', v.calico, 'any', 'calico.yaml')]: {
        sha256: got,
        bytes: Buffer.byteLength(text),
        url: at,
        checksumSource: trusted.from,
        fetchedAt: new Date().toISOString(),
        kubernetes: [v.version],
      },
    });
    return { source: url, sha256: got, text };
  }
  throw new KubeonError(
    `the calico manifest could not be fetched: ${tried.join(', ') || 'no mirror serves it'}`,
    {
      hint: 'give a mirror that has it with --mirror, or use --cni none and install a network plugin yourself',
    },
  );
}

/** Every `image:` value in a multi-document manifest, without digests, in the order met. */
export function manifestImages(text: string, what: string): string[] {
  const out: string[] = [];
  for (const doc of parseAllDocuments(text, { version: '1.1' })) {
    if (doc.errors.length) throw badInput(`${what} is not valid YAML: ${doc.errors[0]!.message}`);
    visit(doc, {
      Pair(_, pair) {
        if (isScalar(pair.key) && pair.key.value === 'image' && isScalar(pair.value)) {
          const ref = pair.value.value;
          if (typeof ref === 'string') out.push(ref.split('@')[0]!);
        }
      },
    });
  }
  return out;
}

const CILIUM_HINT = (v: SupportedVersion) =>
  `render Cilium ${v.cilium} with: helm template cilium cilium/cilium --version ${v.cilium.slice(1)} --namespace kube-system > cilium.yaml, and pass --cni-manifest cilium.yaml`;

/**
 * The user's rendered Cilium chart: its images must be exactly the ones kubeon ships for the
 * catalogued release (agent, generic operator and, where the catalog knows its tag, envoy), so an
 * offline install carries every image it needs and another release is refused by name.
 */
export async function readCiliumManifest(
  path: string | undefined,
  v: SupportedVersion,
): Promise<CniManifest> {
  if (!path)
    throw badInput(
      `--cni cilium needs the rendered Cilium chart: Cilium publishes no manifest, only a Helm chart`,
      CILIUM_HINT(v),
    );
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw badInput(
      `the cilium manifest ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? err}`,
      CILIUM_HINT(v),
    );
  }
  const images = manifestImages(text, `the cilium manifest ${file}`);
  const allowed = (ref: string): boolean =>
    ref === `quay.io/cilium/cilium:${v.cilium}` ||
    ref === `quay.io/cilium/operator-generic:${v.cilium}` ||
    (v.ciliumEnvoy
      ? ref === `quay.io/cilium/cilium-envoy:${v.ciliumEnvoy}`
      : ref.startsWith('quay.io/cilium/cilium-envoy:'));
  const agent = `quay.io/cilium/cilium:${v.cilium}`;
  const stray = images.find((i) => !allowed(i));
  if (stray || !images.includes(agent))
    throw badInput(
      stray
        ? `the cilium manifest ${file} uses image ${stray}, which is not part of Cilium ${v.cilium} as kubeon ships it`
        : `the cilium manifest ${file} does not run ${agent}`,
      `${CILIUM_HINT(v)} (hubble-relay and hubble-ui left disabled)`,
    );
  return { source: file, sha256: sha256(text), text };
}

import { readFileSync } from 'node:fs';
import { badInput } from '../core/errors.js';
import { fileKey } from './cache.js';
import digestData from './digests.json' with { type: 'json' };
import type { FileArtifact } from './plan.js';

/**
 * Which digests kubeon trusts without asking anyone: the sha256 pinned in digests.json for every
 * catalogued file (taken from upstream's published checksums), overridden by an organisation's own list
 * in KUBEON_TRUSTED_DIGESTS (rebuilt binaries, the lab's stand-ins). A mirror never supplies a trusted
 * digest: what it serves is checked against these, or against upstream's checksum file.
 */

export interface TrustedDigest {
  digest: string;
  /** Where it came from, recorded in the cache index. */
  from: string;
}

export interface Trust {
  lookup(a: FileArtifact): TrustedDigest | undefined;
  /** The digest of a file known by its upstream URL alone (a CNI manifest). */
  byUrl(url: string): TrustedDigest | undefined;
}

const PINS: Readonly<Record<string, string>> = digestData.sha256;
const URL_PINS: Readonly<Record<string, string>> = digestData.manifests;

export function pinnedDigest(a: FileArtifact): string | undefined {
  return PINS[fileKey(a.component, a.version, a.arch, a.name)];
}

const LINE = /^([0-9a-f]{64})\s+(https:\/\/\S+)$/;

/**
 * The override file: `<sha256>  <upstream URL>` per line (sha256sum's layout with the URL as the name),
 * `#` comments and blank lines allowed. Any other line is an error naming it.
 */
export function parseTrustedDigests(text: string, source: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m)
      throw badInput(
        `${source} line ${i + 1} is not "<sha256>  <upstream https URL>"`,
        'write one lower-case sha256 and the upstream URL of the file per line',
      );
    out.set(m[2]!, m[1]!);
  }
  return out;
}

/** KUBEON_TRUSTED_DIGESTS (a file path) when set, over the pinned digests. */
export function trustOf(env: NodeJS.ProcessEnv): Trust {
  const path = env.KUBEON_TRUSTED_DIGESTS;
  let override: Map<string, string> | undefined;
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw badInput(
        `KUBEON_TRUSTED_DIGESTS ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? err}`,
        'point it at your list of trusted digests, or unset it',
      );
    }
    override = parseTrustedDigests(text, path);
  }
  const pinned = (digest: string | undefined): TrustedDigest | undefined =>
    digest ? { digest, from: 'pinned in the kubeon catalog' } : undefined;
  return {
    lookup(a) {
      const own = override?.get(a.url);
      return own ? { digest: own, from: `trusted ${path}` } : pinned(pinnedDigest(a));
    },
    byUrl(url) {
      const own = override?.get(url);
      return own ? { digest: own, from: `trusted ${path}` } : pinned(URL_PINS[url]);
    },
  };
}

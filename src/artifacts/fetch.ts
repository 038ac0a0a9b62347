import { createWriteStream } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pLimit from 'p-limit';
import { type Dispatcher, request } from 'undici';
import { KubeonError } from '../core/errors.js';
import { type ArtifactCache, fileKey, type IndexEntry } from './cache.js';
import { parseChecksum, sha256File } from './checksum.js';
import { fetchFailureError } from './failures.js';
import { getText, HttpStatusError, reasonOf } from './http.js';
import type { FileSource } from './mirrors.js';
import type { FileArtifact } from './plan.js';
import { formatBytes, type Progress, silentProgress } from './progress.js';
import type { Trust, TrustedDigest } from './trust.js';

/**
 * Fetches verified files into the cache. For each file: take the trusted digest (KUBEON_TRUSTED_DIGESTS, else
 * the digest pinned in the catalog, else upstream's checksum file from upstream or KUBEON_CHECKSUM_SOURCE);
 * reuse the cached blob if its bytes still match; otherwise try each mirror in order, resuming a partial
 * download with Range, and keep the bytes only if they hash to that digest. A mirror's own checksum file is
 * used only with --trust-mirror-checksums, announced for every file and recorded in the index; without it,
 * a file with no trusted digest is refused.
 */

export interface FetchOptions {
  cache: ArtifactCache;
  dispatcher: Dispatcher;
  /** Mirrors in the order they are tried. */
  sources: readonly FileSource[];
  /** Where checksum files are trusted from (upstream, or an operator's trusted server). */
  trusted: FileSource;
  /** Pinned and operator-supplied digests, consulted before any checksum file. */
  trust: Trust;
  /** --trust-mirror-checksums: accept a mirror's own checksum file when nothing trusted answers. */
  trustMirrorChecksums?: boolean;
  /** Kubernetes version the files are fetched for, recorded in the index for prune. */
  kubernetes: string;
  progress?: Progress;
  concurrency?: number;
  /** Attempts on one URL while each attempt makes progress (dropped connections). */
  resumeAttempts?: number;
  warn?: (msg: string) => void;
}

export interface FetchedFile {
  artifact: FileArtifact;
  name: string;
  sha256: string;
  bytes: number;
  source: 'downloaded' | 'cached';
  url: string;
  path: string;
  checksumSource: string;
}

interface Attempt {
  url: string;
  reason: string;
}

class FileFailure extends Error {
  readonly attempts: Attempt[];
  constructor(label: string, attempts: Attempt[]) {
    super(`${label}: ${attempts.map((a) => `${a.url} (${a.reason})`).join(', ')}`);
    this.attempts = attempts;
  }
}

/** No digest from any trusted source, and the mirror's own was not to be trusted. */
class UntrustedFailure extends FileFailure {}

const UNTRUSTED_HINT =
  "restore access to upstream checksums (or KUBEON_CHECKSUM_SOURCE), list your own digests in KUBEON_TRUSTED_DIGESTS, or pass --trust-mirror-checksums to accept the mirror's own checksum files";

export function labelOf(a: FileArtifact): string {
  return `${a.name} ${a.component === a.name ? `${a.version} ` : ''}linux/${a.arch}`;
}

export async function fetchFiles(files: readonly FileArtifact[], opts: FetchOptions): Promise<FetchedFile[]> {
  await opts.cache.init();
  const limit = pLimit(opts.concurrency ?? 4);
  const run: RunState = {};
  const settled = await Promise.allSettled(files.map((f) => limit(() => fetchOne(f, opts, run))));
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  if (failures.length > 0) {
    const untrusted = failures.filter((f) => f instanceof UntrustedFailure);
    if (untrusted.length > 0)
      throw new KubeonError(
        `refusing ${untrusted.length} of ${files.length} files: no trusted checksum (${untrusted.map((f) => (f as Error).message).join('; ')})`,
        { hint: UNTRUSTED_HINT },
      );
    throw fetchFailureError(failures as FileFailure[], files.length);
  }
  return settled.map((s) => (s as PromiseFulfilledResult<FetchedFile>).value);
}

/** Shared by the files of one fetch: a trusted source that is down is not waited for again per file. */
interface RunState {
  trustedDown?: string;
}

const MIRROR_TRUSTED = '(--trust-mirror-checksums)';

/** Whether a cache entry was verified only against a mirror's own checksum file. */
export function mirrorTrusted(entry: Pick<IndexEntry, 'checksumSource'>): boolean {
  return entry.checksumSource.endsWith(MIRROR_TRUSTED);
}

async function fetchOne(a: FileArtifact, opts: FetchOptions, run: RunState): Promise<FetchedFile> {
  const label = labelOf(a);
  const key = fileKey(a.component, a.version, a.arch, a.name);
  const attempts: Attempt[] = [];
  const trusted = await trustedDigest(a, opts, attempts, run);
  const progress = opts.progress ?? silentProgress;

  const record = async (
    entry: Omit<IndexEntry, 'kubernetes' | 'fetchedAt'>,
    source: 'downloaded' | 'cached',
  ) => {
    await opts.cache.record({
      [key]: { ...entry, fetchedAt: new Date().toISOString(), kubernetes: [opts.kubernetes] },
    });
    return {
      artifact: a,
      name: a.name,
      sha256: entry.sha256,
      bytes: entry.bytes,
      source,
      url: entry.url,
      path: opts.cache.blobPath(entry.sha256),
      checksumSource: entry.checksumSource,
    };
  };

  const known = await opts.cache.lookup(key);
  if (trusted && (await opts.cache.verify(trusted.digest))) {
    const bytes = (await stat(opts.cache.blobPath(trusted.digest))).size;
    const url = known?.sha256 === trusted.digest ? known.url : a.url;
    return record({ sha256: trusted.digest, bytes, url, checksumSource: trusted.from }, 'cached');
  }

  // Without a trusted digest nothing is downloaded, unless the user chose to trust the mirrors' own files.
  if (!trusted && !opts.trustMirrorChecksums) {
    if (known && !mirrorTrusted(known) && (await opts.cache.verify(known.sha256))) {
      opts.warn?.(`${label}: no checksum reachable, using the cached copy verified at ${known.fetchedAt}`);
      return record(known, 'cached');
    }
    throw new UntrustedFailure(label, attempts);
  }

  for (const source of opts.sources) {
    const url = source.rewrite(a.url);
    if (!url) continue;
    let expected = trusted;
    if (!expected) {
      const sumUrl = source.rewrite(a.checksumUrl);
      if (!sumUrl) continue;
      try {
        const digest = parseChecksum(await getText(opts.dispatcher, sumUrl), a.name);
        if (!digest) throw new Error(`no sha256 for ${a.name} in it`);
        expected = { digest, from: `mirror ${sumUrl} ${MIRROR_TRUSTED}` };
        opts.warn?.(
          `--trust-mirror-checksums: ${label} is verified only against the mirror's own ${sumUrl} (${run.trustedDown ?? attempts[0]?.reason ?? 'no trusted checksum'})`,
        );
      } catch (err) {
        attempts.push({ url: sumUrl, reason: `checksum: ${reasonOf(err)}` });
        continue;
      }
      if (await opts.cache.verify(expected.digest)) {
        const bytes = (await stat(opts.cache.blobPath(expected.digest))).size;
        return record({ sha256: expected.digest, bytes, url, checksumSource: expected.from }, 'cached');
      }
    }
    progress.begin(key, label);
    try {
      const bytes = await downloadVerified(url, expected.digest, opts, (done, total) =>
        progress.update(key, done, total),
      );
      progress.end(key, `${formatBytes(bytes)} from ${url}`);
      return record({ sha256: expected.digest, bytes, url, checksumSource: expected.from }, 'downloaded');
    } catch (err) {
      progress.end(key, `failed from ${url}: ${reasonOf(err)}`);
      attempts.push({ url, reason: reasonOf(err) });
    }
  }

  // Nothing reachable: a blob verified earlier still serves, digest and all, for a machine now offline.
  if (!trusted && known && attempts.every((x) => !x.reason.includes('mismatch'))) {
    if (await opts.cache.verify(known.sha256)) {
      opts.warn?.(`${label}: no checksum reachable, using the cached copy verified at ${known.fetchedAt}`);
      return record(known, 'cached');
    }
  }
  if (attempts.length === 0) attempts.push({ url: a.url, reason: 'no configured mirror serves this file' });
  throw new FileFailure(label, attempts);
}

/** The digest from the trusted source, or undefined (with the reason recorded) when it cannot be had. */
async function trustedDigest(
  a: FileArtifact,
  opts: FetchOptions,
  attempts: Attempt[],
  run: RunState,
): Promise<TrustedDigest | undefined> {
  const own = opts.trust.lookup(a);
  if (own) return own;
  const url = opts.trusted.rewrite(a.checksumUrl);
  if (!url) return undefined;
  if (run.trustedDown) {
    attempts.push({ url, reason: `checksum: not tried, ${run.trustedDown}` });
    return undefined;
  }
  try {
    const digest = parseChecksum(await getText(opts.dispatcher, url), a.name);
    if (!digest) throw new Error(`no sha256 for ${a.name} in it`);
    return { digest, from: `${opts.trusted.name === 'upstream' ? 'upstream' : 'trusted'} ${url}` };
  } catch (err) {
    attempts.push({ url, reason: `checksum: ${reasonOf(err)}` });
    // An answer (404, a file without the digest) concerns this file; no answer means the source is down.
    if (!(err instanceof HttpStatusError) && !String((err as Error).message).startsWith('no sha256')) {
      run.trustedDown ??= `${opts.trusted.name} unreachable: ${reasonOf(err)}`;
    }
    return undefined;
  }
}

interface PartMeta {
  url: string;
  validator?: string;
}

/**
 * Downloads `url` into the partial file for `digest`, resuming what an earlier run or attempt left, and
 * moves it into the store only if the bytes hash to `digest`. Returns the size.
 */
async function downloadVerified(
  url: string,
  digest: string,
  opts: FetchOptions,
  onProgress: (done: number, total: number | undefined) => void,
): Promise<number> {
  const part = opts.cache.partialPath(digest);
  const metaPath = `${part}.json`;
  const attempts = opts.resumeAttempts ?? 4;
  let lastError: unknown;
  let restartedFromZero = false;
  let earlyDrops = 0;
  for (let i = 0; i < attempts; i++) {
    const before = await sizeOf(part);
    try {
      await transfer(url, part, metaPath, opts.dispatcher, onProgress, () =>
        opts.warn?.(
          `waiting for the mirror: ${url} (a caching mirror answers only once it has the file itself)`,
        ),
      );
    } catch (err) {
      lastError = err;
      if (err instanceof HttpStatusError) throw err;
      const after = await sizeOf(part);
      // Retry the same URL while attempts make progress. A connection dropped before the first megabyte
      // (a busy mirror shedding load) gets a few tries with backoff too; a refused or silent one fails over.
      if (after > before) continue;
      if (after < EARLY_BYTES && droppedConnection(err) && earlyDrops < EARLY_RETRIES) {
        await new Promise((r) => setTimeout(r, EARLY_BACKOFF_MS * 2 ** earlyDrops++));
        i--;
        continue;
      }
      throw err;
    }
    const got = await sha256File(part);
    if (got === digest) {
      const bytes = await sizeOf(part);
      await opts.cache.commit(part, digest);
      await rm(metaPath, { force: true });
      return bytes;
    }
    await rm(part, { force: true });
    await rm(metaPath, { force: true });
    // A resumed file may be spoilt by its old head; one clean transfer decides whether the mirror is bad.
    if (before > 0 && !restartedFromZero) {
      restartedFromZero = true;
      continue;
    }
    throw new Error(`sha256 mismatch: got ${got.slice(0, 12)}…, want ${digest.slice(0, 12)}…`);
  }
  throw lastError instanceof Error ? lastError : new Error('download did not complete');
}

const WAITING_NOTICE_MS = 10_000;
const FILE_HEADERS_TIMEOUT_MS = 10 * 60_000;
const EARLY_BYTES = 1 << 20;
const EARLY_RETRIES = 3;
const EARLY_BACKOFF_MS = 200;

/** The server or the path closed an open connection (not refused, not timed out, not an HTTP answer). */
function droppedConnection(err: unknown): boolean {
  const codes = [(err as NodeJS.ErrnoException).code, ((err as Error).cause as NodeJS.ErrnoException)?.code];
  if (codes.some((c) => c === 'ECONNRESET' || c === 'UND_ERR_SOCKET' || c === 'EPIPE')) return true;
  return /other side closed|socket hang up|premature close|connection closed at/i.test(
    String((err as Error).message),
  );
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function readMeta(path: string): Promise<PartMeta | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as PartMeta;
  } catch {
    return undefined;
  }
}

/** One HTTP transfer into `part`: a resume with Range (and If-Range for the same URL) or a fresh start. */
async function transfer(
  url: string,
  part: string,
  metaPath: string,
  dispatcher: Dispatcher,
  onProgress: (done: number, total: number | undefined) => void,
  onWaiting: () => void,
): Promise<void> {
  let have = await sizeOf(part);
  const meta = await readMeta(metaPath);
  const headers: Record<string, string> = {};
  if (have > 0) {
    headers.range = `bytes=${have}-`;
    if (meta?.url === url && meta.validator) headers['if-range'] = meta.validator;
  }
  // A caching mirror (DaoCloud) sends nothing until it has fetched a file it did not hold: a big first
  // download may take minutes to start, so the headers get longer than the client's default, with a word.
  const waiting = setTimeout(onWaiting, WAITING_NOTICE_MS);
  const res = await request(url, {
    dispatcher,
    method: 'GET',
    headers,
    headersTimeout: FILE_HEADERS_TIMEOUT_MS,
  }).finally(() => clearTimeout(waiting));
  if (res.statusCode === 416 && have > 0) {
    // The part may already hold the whole file (a run killed before the rename); the digest decides.
    await res.body.dump();
    return;
  }
  if (res.statusCode !== 200 && res.statusCode !== 206) {
    await res.body.dump();
    throw new HttpStatusError(res.statusCode, url);
  }
  let append = false;
  if (res.statusCode === 206) {
    const start = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
    if (!start || Number(start[1]) !== have) {
      await res.body.dump();
      throw new Error(`bad Content-Range "${res.headers['content-range']}" for a resume at ${have}`);
    }
    append = true;
  } else have = 0;
  const length = Number(res.headers['content-length']);
  const total = Number.isFinite(length) ? have + length : undefined;
  const etag = res.headers.etag;
  const validator =
    typeof etag === 'string' && !etag.startsWith('W/')
      ? etag
      : (res.headers['last-modified'] as string | undefined);
  await writeFile(metaPath, JSON.stringify({ url, ...(validator ? { validator } : {}) } satisfies PartMeta), {
    mode: 0o600,
  });
  let done = have;
  onProgress(done, total);
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      done += chunk.length;
      onProgress(done, total);
      cb(null, chunk);
    },
  });
  await pipeline(res.body, counter, createWriteStream(part, { flags: append ? 'a' : 'w', mode: 0o600 }));
  if (total !== undefined && done !== total)
    throw new Error(`connection closed at ${done} of ${total} bytes`);
}

import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { sha256File } from './checksum.js';

/**
 * The control machine's artifact cache: content-addressed blobs under `sha256/<digest>`, partial downloads
 * under `partial/<expected digest>.part` (so a resume, even from another mirror, continues the very bytes
 * it expects), and `index.json` naming what each blob is. A blob is only ever created by renaming a file
 * whose digest was just checked, so a mismatch never reaches `sha256/`.
 */

export interface IndexEntry {
  sha256: string;
  bytes: number;
  /** The URL the bytes came from. */
  url: string;
  /** Where the expected digest came from (`upstream <url>`, `trusted <url>` or `mirror <url>`). */
  checksumSource: string;
  fetchedAt: string;
  /** Kubernetes versions this entry was fetched for; prune keeps entries a cluster's version uses. */
  kubernetes: string[];
}

interface IndexFile {
  version: 1;
  entries: Record<string, IndexEntry>;
}

export class ArtifactCache {
  readonly dir: string;
  /** Serializes index writes within this process. */
  #writes: Promise<void> = Promise.resolve();

  constructor(dir: string) {
    this.dir = dir;
  }

  blobPath(digest: string): string {
    return join(this.dir, 'sha256', digest);
  }

  partialPath(digest: string): string {
    return join(this.dir, 'partial', `${digest}.part`);
  }

  /** A scratch path inside the cache, on the same file system as the blobs so rename is atomic. */
  async tempPath(label: string): Promise<string> {
    await mkdir(join(this.dir, 'tmp'), { recursive: true, mode: 0o700 });
    return join(this.dir, 'tmp', `${label}.${process.pid}.${randomBytes(4).toString('hex')}`);
  }

  async init(): Promise<void> {
    for (const d of [this.dir, join(this.dir, 'sha256'), join(this.dir, 'partial')]) {
      await mkdir(d, { recursive: true, mode: 0o700 });
    }
  }

  /**
   * True when the blob exists and its bytes still hash to its name; a blob that no longer matches is
   * removed so it is fetched again.
   */
  async verify(digest: string): Promise<boolean> {
    const path = this.blobPath(digest);
    try {
      await stat(path);
    } catch {
      return false;
    }
    if ((await sha256File(path)) === digest) return true;
    await rm(path, { force: true });
    return false;
  }

  /** Moves a file whose digest the caller has checked into the store. */
  async commit(from: string, digest: string): Promise<string> {
    const to = this.blobPath(digest);
    await mkdir(join(this.dir, 'sha256'), { recursive: true, mode: 0o700 });
    await chmod(from, 0o644);
    await rename(from, to);
    return to;
  }

  async readIndex(): Promise<IndexFile> {
    try {
      const parsed = JSON.parse(await readFile(join(this.dir, 'index.json'), 'utf8')) as IndexFile;
      return parsed.version === 1 && parsed.entries ? parsed : { version: 1, entries: {} };
    } catch {
      return { version: 1, entries: {} };
    }
  }

  async lookup(key: string): Promise<IndexEntry | undefined> {
    return (await this.readIndex()).entries[key];
  }

  /**
   * Records entries, merging with what is on disk at the moment of writing so parallel writers in one
   * process, or another kubeon, lose at most their own newest entry, never the file.
   */
  record(updates: Record<string, IndexEntry>): Promise<void> {
    const next = this.#writes.then(() => this.#record(updates));
    this.#writes = next.catch(() => undefined);
    return next;
  }

  async #record(updates: Record<string, IndexEntry>): Promise<void> {
    const index = await this.readIndex();
    for (const [key, entry] of Object.entries(updates)) {
      const old = index.entries[key];
      const kubernetes = [
        ...new Set([...(old?.sha256 === entry.sha256 ? old.kubernetes : []), ...entry.kubernetes]),
      ];
      index.entries[key] = { ...entry, kubernetes: kubernetes.sort() };
    }
    await writeFileAtomic(join(this.dir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`, 0o600);
  }

  /**
   * Removes every index entry whose Kubernetes versions no cluster uses, every blob no remaining entry
   * names, and every partial or scratch file. Returns what was removed.
   */
  async prune(
    versionsInUse: ReadonlySet<string>,
  ): Promise<{ entries: string[]; blobs: string[]; bytes: number }> {
    const index = await this.readIndex();
    const removedEntries: string[] = [];
    for (const [key, entry] of Object.entries(index.entries)) {
      const keep = entry.kubernetes.filter((v) => versionsInUse.has(v));
      if (keep.length === 0) {
        delete index.entries[key];
        removedEntries.push(key);
      } else entry.kubernetes = keep;
    }
    const referenced = new Set(Object.values(index.entries).map((e) => e.sha256));
    const removedBlobs: string[] = [];
    let bytes = 0;
    let blobs: string[] = [];
    try {
      blobs = await readdir(join(this.dir, 'sha256'));
    } catch {
      blobs = [];
    }
    for (const digest of blobs) {
      if (referenced.has(digest)) continue;
      const path = this.blobPath(digest);
      bytes += (await stat(path)).size;
      await rm(path, { force: true });
      removedBlobs.push(digest);
    }
    await rm(join(this.dir, 'partial'), { recursive: true, force: true });
    await rm(join(this.dir, 'tmp'), { recursive: true, force: true });
    await this.init();
    await writeFileAtomic(join(this.dir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`, 0o600);
    return { entries: removedEntries, blobs: removedBlobs, bytes };
  }
}

export function fileKey(component: string, version: string, arch: string, name: string): string {
  return `${component}/${version}/${arch}/${name}`;
}

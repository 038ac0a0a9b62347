import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { EtcdClient, EtcdEndpoint } from './client.js';
import { verifySnapshot } from './snapshot.js';

/**
 * Snapshots kept on the control machine under `clusters/<name>/backups/`. A snapshot is streamed to
 * a hidden partial file (0600: it holds every Secret of the cluster), verified against the sha256
 * etcd appended, and only then renamed into place; a broken stream never leaves a file that looks
 * like a backup.
 */
export const SNAPSHOT_PREFIX = 'etcd-snapshot-';

export interface SavedSnapshot {
  path: string;
  bytes: number;
  sha256: string;
  member: string;
}

/** `etcd-snapshot-20261203T143000Z-m1.db`: sorts by time; the member says where it came from. */
export function snapshotName(now: Date, member: string): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const safe = member.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${SNAPSHOT_PREFIX}${stamp}-${safe}.db`;
}

export async function saveSnapshot(
  client: EtcdClient,
  ep: EtcdEndpoint,
  file: string,
): Promise<SavedSnapshot> {
  const partial = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString('hex')}.partial`);
  const fh = await open(partial, 'wx', 0o600);
  try {
    try {
      await client.snapshot(ep, async (chunk) => {
        await fh.write(chunk);
      });
      await fh.sync();
    } finally {
      await fh.close();
    }
    const check = await verifySnapshot(partial);
    if (!check.ok) throw new Error(`snapshot from ${ep.name} is unusable: ${check.problem}`);
    await rename(partial, file);
    const { size } = await stat(file);
    return { path: file, bytes: size, sha256: check.sha256, member: ep.name };
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}

/** Removes all but the newest `keep` snapshots kubeon saved in `dir`; returns the removed paths. */
export async function pruneSnapshots(dir: string, keep: number): Promise<string[]> {
  const names = (await readdir(dir).catch(() => [] as string[]))
    .filter((n) => n.startsWith(SNAPSHOT_PREFIX) && n.endsWith('.db'))
    .sort();
  const drop = names.slice(0, Math.max(0, names.length - keep));
  for (const n of drop) await rm(join(dir, n), { force: true });
  return drop.map((n) => join(dir, n));
}

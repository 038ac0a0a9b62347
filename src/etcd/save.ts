import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { KubeonError } from '../core/errors.js';
import { pruneSnapshots, type SavedSnapshot, saveSnapshot, snapshotName } from './backups.js';
import type { EtcdAccess } from './connect.js';

/** Snapshots kept under `clusters/<name>/backups/` unless `--keep` says otherwise. */
export const DEFAULT_KEEP = 5;

export function backupsDir(clusterDir: string): string {
  return join(clusterDir, 'backups');
}

export interface SaveRequest {
  /** `clusters/<name>` of the cluster. */
  clusterDir: string;
  /** Where the user wants the snapshot; without it, a dated file in the backups directory. */
  file?: string;
  /** How many snapshots to keep in the backups directory (the newest). */
  keep?: number;
  now: Date;
}

export interface SaveResult extends SavedSnapshot {
  /** Older snapshots removed from the backups directory to keep the last N. */
  pruned: string[];
}

/**
 * Streams a snapshot from the member `withEtcd` chose to the control machine, verifies it, and
 * keeps the newest N in the cluster's backups directory. A file the user names is never pruned and
 * never overwritten.
 */
export async function saveClusterSnapshot(etcd: EtcdAccess, req: SaveRequest): Promise<SaveResult> {
  if (req.file !== undefined) {
    const file = resolve(req.file);
    if (existsSync(file))
      throw new KubeonError(`${file} already exists`, {
        hint: 'name a new file, or move the old one away first',
      });
    return { ...(await saveSnapshot(etcd.client, etcd.endpoint, file)), pruned: [] };
  }
  const dir = backupsDir(req.clusterDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const saved = await saveSnapshot(
    etcd.client,
    etcd.endpoint,
    join(dir, snapshotName(req.now, etcd.endpoint.name)),
  );
  const pruned = await pruneSnapshots(dir, Math.max(1, req.keep ?? DEFAULT_KEEP));
  return { ...saved, pruned };
}

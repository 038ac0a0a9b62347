import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/**
 * etcd's Maintenance.Snapshot sends the bbolt file and then its sha256 (etcd server
 * `v3rpc/maintenance.go`), and `etcdutl snapshot restore` refuses a file whose trailing hash does not
 * match (`snapshot/v3_snapshot.go`: a size of 512·k + 32 bytes marks a file that carries the hash).
 * kubeon checks the same before it keeps or restores a snapshot, so a truncated or corrupt file is
 * refused on the control machine rather than on a master in the middle of a restore.
 */
const HASH_BYTES = 32;
const PAGE_MULTIPLE = 512;

export interface SnapshotCheck {
  ok: boolean;
  /** Bytes of the database itself (without the trailing hash). */
  dbBytes: number;
  sha256: string;
  problem?: string;
}

export async function verifySnapshot(file: string): Promise<SnapshotCheck> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    if (size < PAGE_MULTIPLE + HASH_BYTES || size % PAGE_MULTIPLE !== HASH_BYTES) {
      return {
        ok: false,
        dbBytes: size,
        sha256: '',
        problem: `${size} bytes is not a database plus its sha256 (etcd snapshots are 512·k + 32 bytes): truncated, or not an etcd snapshot`,
      };
    }
    const dbBytes = size - HASH_BYTES;
    const hash = createHash('sha256');
    const buf = Buffer.alloc(1 << 20);
    let pos = 0;
    while (pos < dbBytes) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, dbBytes - pos), pos);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    const trailer = Buffer.alloc(HASH_BYTES);
    await fh.read(trailer, 0, HASH_BYTES, dbBytes);
    const digest = hash.digest();
    if (!digest.equals(trailer)) {
      return {
        ok: false,
        dbBytes,
        sha256: digest.toString('hex'),
        problem: 'the sha256 etcd appended does not match the data: the file is corrupt',
      };
    }
    return { ok: true, dbBytes, sha256: digest.toString('hex') };
  } finally {
    await fh.close();
  }
}

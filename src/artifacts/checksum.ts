import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Finds the sha256 of `fileName` in a checksum file as upstream publishes them: a bare digest
 * (dl.k8s.io, crictl) or `sha256sum` lines `<hex>  <name>` (containerd, CNI, runc's list of every arch).
 * Returns undefined when the file names other files only or holds no digest.
 */
export function parseChecksum(text: string, fileName: string): string | undefined {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length === 1 && HEX64.test(lines[0]!.toLowerCase())) return lines[0]!.toLowerCase();
  for (const line of lines) {
    const m = /^([0-9a-fA-F]{64})\s+\*?(?:\.\/)?(.+)$/.exec(line);
    if (m && m[2]!.split('/').pop() === fileName) return m[1]!.toLowerCase();
  }
  return undefined;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

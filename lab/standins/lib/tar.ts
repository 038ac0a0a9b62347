/** Reads the members of a (possibly gzipped) tar archive, enough to inspect an image archive. */
import { gunzipSync } from 'node:zlib';

export function tarEntries(data: Buffer): Map<string, Buffer> {
  const buf = data[0] === 0x1f && data[1] === 0x8b ? gunzipSync(data) : data;
  const out = new Map<string, Buffer>();
  let off = 0;
  let longName: string | undefined;
  while (off + 512 <= buf.length) {
    const header = buf.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const field = (a: number, n: number) =>
      header
        .subarray(a, a + n)
        .toString('latin1')
        .replace(/\0.*$/s, '');
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    if (Number.isNaN(size)) throw new Error('archive/tar: invalid tar header');
    const type = field(156, 1);
    const prefix = field(345, 155);
    let name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = undefined;
    const body = buf.subarray(off + 512, off + 512 + size);
    if (type === 'L') longName = body.toString('latin1').replace(/\0.*$/s, '');
    else if (type === '0' || type === '' || type === '\0') {
      name = name.replace(/^\.\//, '');
      out.set(name, Buffer.from(body));
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  if (out.size === 0) throw new Error('archive/tar: invalid tar header');
  return out;
}

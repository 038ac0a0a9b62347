import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../core/atomic.js';

/**
 * Host keys pinned per cluster in OpenSSH known_hosts format, so `ssh -o UserKnownHostsFile=...`
 * accepts the same file. Trust on first use: an unknown host's key is recorded; a different key for
 * a known host is refused unless the user accepts that node's new key explicitly.
 */

/** `host` for port 22, `[host]:port` otherwise, as OpenSSH writes it. */
export function hostId(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The key type named inside the public key blob (the first SSH string), e.g. ssh-ed25519. */
export function keyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  if (len > blob.length - 4 || len > 64) return 'unknown';
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** `SHA256:…` exactly as `ssh-keygen -lf` prints it (unpadded base64). */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export interface KnownHost {
  hosts: string[];
  type: string;
  key: Buffer;
}

type Line = { entry: KnownHost } | { text: string };

export function parseKnownHosts(text: string): Line[] {
  const out: Line[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '') continue;
    const fields = t.split(/\s+/);
    // Comments, markers (@cert-authority, @revoked) and hashed names are kept as they are but not used.
    if (t.startsWith('#') || t.startsWith('@') || t.startsWith('|') || fields.length < 3) {
      out.push({ text: line });
      continue;
    }
    const key = Buffer.from(fields[2]!, 'base64');
    if (keyType(key) !== fields[1]) {
      out.push({ text: line });
      continue;
    }
    out.push({ entry: { hosts: fields[0]!.split(','), type: fields[1]!, key } });
  }
  return out;
}

export function formatKnownHosts(lines: readonly Line[]): string {
  return lines
    .map((l) =>
      'entry' in l ? `${l.entry.hosts.join(',')} ${l.entry.type} ${l.entry.key.toString('base64')}` : l.text,
    )
    .map((l) => `${l}\n`)
    .join('');
}

/** Server host key algorithms for a pinned key type, so the server is asked for the key we know. */
export function hostKeyAlgorithms(type: string): string[] {
  if (type === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return [type];
}

export type HostKeyVerdict =
  | { status: 'known' }
  | { status: 'new' }
  | { status: 'changed'; pinned: string[]; offered: string };

export class HostKeyPins {
  private lines: Line[];
  private dirty = false;

  private constructor(
    readonly path: string | undefined,
    lines: Line[],
  ) {
    this.lines = lines;
  }

  /** Reads the cluster's known_hosts; a missing file is an empty one. `path` undefined keeps pins in memory. */
  static async load(path: string | undefined): Promise<HostKeyPins> {
    if (path === undefined) return new HostKeyPins(undefined, []);
    try {
      return new HostKeyPins(path, parseKnownHosts(await readFile(path, 'utf8')));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new HostKeyPins(path, []);
      throw err;
    }
  }

  private entriesFor(id: string): KnownHost[] {
    const out: KnownHost[] = [];
    for (const l of this.lines) if ('entry' in l && l.entry.hosts.includes(id)) out.push(l.entry);
    return out;
  }

  /** Key types pinned for a host, to steer the server's choice of host key. */
  pinnedTypes(id: string): string[] {
    return [...new Set(this.entriesFor(id).map((e) => e.type))];
  }

  check(id: string, key: Buffer): HostKeyVerdict {
    const entries = this.entriesFor(id);
    if (entries.length === 0) return { status: 'new' };
    if (entries.some((e) => e.key.equals(key))) return { status: 'known' };
    return { status: 'changed', pinned: entries.map((e) => fingerprint(e.key)), offered: fingerprint(key) };
  }

  /** Records `key` as the only key of `id` (replacing any other). */
  pin(id: string, key: Buffer): void {
    const kept: Line[] = [];
    for (const l of this.lines) {
      if (!('entry' in l) || !l.entry.hosts.includes(id)) {
        kept.push(l);
        continue;
      }
      const others = l.entry.hosts.filter((h) => h !== id);
      if (others.length > 0) kept.push({ entry: { ...l.entry, hosts: others } });
    }
    kept.push({ entry: { hosts: [id], type: keyType(key), key } });
    this.lines = kept;
    this.dirty = true;
  }

  /** Writes the file (atomically, 0600) if anything was pinned since the last save. */
  async save(): Promise<void> {
    if (!this.dirty || this.path === undefined) return;
    this.dirty = false;
    await writeFileAtomic(this.path, formatKnownHosts(this.lines), 0o600);
  }

  get text(): string {
    return formatKnownHosts(this.lines);
  }
}

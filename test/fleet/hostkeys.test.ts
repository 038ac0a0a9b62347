import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateEd25519 } from '../../lab/sshkeys.js';
import {
  fingerprint,
  formatKnownHosts,
  HostKeyPins,
  hostId,
  keyType,
  parseKnownHosts,
} from '../../src/fleet/hostkeys.js';

const blob = (pub: string) => Buffer.from(pub.split(' ')[1]!, 'base64');

describe('known_hosts', () => {
  const a = generateEd25519('a');
  const b = generateEd25519('b');

  it('names hosts the way OpenSSH does', () => {
    expect(hostId('10.0.0.1', 22)).toBe('10.0.0.1');
    expect(hostId('10.0.0.1', 2222)).toBe('[10.0.0.1]:2222');
    expect(hostId('fd00::1', 2222)).toBe('[fd00::1]:2222');
  });

  it('computes the fingerprint ssh-keygen prints', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeon-fp-'));
    const path = join(dir, 'k.pub');
    execFileSync('sh', ['-c', 'cat > "$0"', path], { input: a.publicKey });
    const out = execFileSync('ssh-keygen', ['-lf', path], { encoding: 'utf8' });
    expect(out.split(' ')[1]).toBe(fingerprint(blob(a.publicKey)));
    expect(keyType(blob(a.publicKey))).toBe('ssh-ed25519');
  });

  it('parses and re-formats, keeping comments, hashed and marker lines', () => {
    const text = [
      '# pinned by kubeon',
      `10.0.0.1,node1 ${a.publicKey.split(' ').slice(0, 2).join(' ')}`,
      '|1|abc=|def= ssh-ed25519 AAAA',
      '@revoked * ssh-rsa AAAA',
      '',
    ].join('\n');
    const lines = parseKnownHosts(text);
    expect(lines.filter((l) => 'entry' in l)).toHaveLength(1);
    expect(formatKnownHosts(lines)).toBe(text);
  });

  it('trusts on first use, knows a pinned key, refuses a changed one with both fingerprints', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeon-kh-'));
    const path = join(dir, 'known_hosts');
    const pins = await HostKeyPins.load(path);
    const id = hostId('10.0.0.1', 2222);
    expect(pins.check(id, blob(a.publicKey))).toEqual({ status: 'new' });
    pins.pin(id, blob(a.publicKey));
    await pins.save();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toMatch(/^\[10\.0\.0\.1\]:2222 ssh-ed25519 AAAA/);

    const again = await HostKeyPins.load(path);
    expect(again.check(id, blob(a.publicKey))).toEqual({ status: 'known' });
    expect(again.check(id, blob(b.publicKey))).toEqual({
      status: 'changed',
      pinned: [a.fingerprint],
      offered: b.fingerprint,
    });
    expect(again.pinnedTypes(id)).toEqual(['ssh-ed25519']);
    again.pin(id, blob(b.publicKey));
    expect(again.check(id, blob(a.publicKey)).status).toBe('changed');
    expect(again.check(id, blob(b.publicKey)).status).toBe('known');
  });

  it('is accepted by OpenSSH ssh-keygen -F', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeon-kh-'));
    const path = join(dir, 'known_hosts');
    const pins = await HostKeyPins.load(path);
    pins.pin(hostId('10.0.0.9', 2200), blob(a.publicKey));
    await pins.save();
    const out = execFileSync('ssh-keygen', ['-F', '[10.0.0.9]:2200', '-f', path], { encoding: 'utf8' });
    expect(out).toContain('ssh-ed25519');
  });
});

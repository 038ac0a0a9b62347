import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';

// Keys are made in-process rather than with ssh-keygen: a process start costs about 9 ms here,
// which is 3 s of CPU for 300 hosts.

export interface Ed25519Key {
  /** OpenSSH private key file content (openssh-key-v1, unencrypted). */
  privateKey: string;
  /** `ssh-ed25519 AAAA... comment` */
  publicKey: string;
  /** `SHA256:...` exactly as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export function generateEd25519(comment: string): Ed25519Key {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d ?? '', 'base64url');
  const pub = Buffer.from(jwk.x ?? '', 'base64url');
  const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);

  const check = randomBytes(4).readUInt32BE();
  const secret = [
    uint32(check),
    uint32(check),
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ];
  let section = Buffer.concat(secret);
  // The unencrypted section is padded with 1, 2, 3, ... to the cipher block size, 8 for "none".
  const pad = (8 - (section.length % 8)) % 8;
  section = Buffer.concat([section, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const file = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(blob),
    sshString(section),
  ]);
  const b64 = file.toString('base64').replace(/.{1,70}/g, '$&\n');
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `ssh-ed25519 ${blob.toString('base64')} ${comment}`,
    fingerprint: fingerprintOf(blob),
  };
}

export function fingerprintOf(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** Fingerprint of an `ssh-ed25519 AAAA...` public key line. */
export function fingerprintOfLine(line: string): string {
  const b64 = line.trim().split(/\s+/)[1] ?? '';
  return fingerprintOf(Buffer.from(b64, 'base64'));
}

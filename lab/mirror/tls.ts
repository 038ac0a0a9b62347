/**
 * A private CA and a server certificate for the mirror, made with the real `openssl` so kubeon's
 * TLS path (custom CA file, SAN checks) is exercised against ordinary certificates.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A self-signed P-256 certificate and its key, made by the real openssl. */
export async function selfSignedEc(o: {
  cn: string;
  days: number;
  keyFile: string;
  certFile: string;
  extensions?: string[];
}): Promise<void> {
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    String(o.days),
    '-subj',
    `/CN=${o.cn}`,
    '-keyout',
    o.keyFile,
    '-out',
    o.certFile,
    ...(o.extensions ?? []).flatMap((e) => ['-addext', e]),
  ]);
}

export interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/**
 * Makes (or reuses) `ca.crt`, `server.crt`, `server.key` in `dir`. The server certificate covers
 * localhost, 127.0.0.1, ::1 and `hosts`; it is re-issued (same CA) when `hosts` grows, so clients
 * that trust the CA keep working.
 */
export async function ensureTlsFiles(dir: string, hosts: string[] = []): Promise<TlsFiles> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files: TlsFiles = {
    caFile: path.join(dir, 'ca.crt'),
    certFile: path.join(dir, 'server.crt'),
    keyFile: path.join(dir, 'server.key'),
  };
  const caKey = path.join(dir, 'ca.key');
  const sans = [...new Set(['localhost', '127.0.0.1', '::1', ...hosts])].map((h) =>
    isIP(h) ? `IP:${h}` : `DNS:${h}`,
  );
  const sanFile = path.join(dir, 'server.sans');
  const issued = await readFile(sanFile, 'utf8').catch(() => '');
  const have = new Set(issued.split(',').filter(Boolean));
  const caExists = await readFile(files.caFile).then(
    () => true,
    () => false,
  );

  if (!caExists) {
    await selfSignedEc({
      cn: 'kubeon lab mirror CA',
      days: 3650,
      keyFile: caKey,
      certFile: files.caFile,
      extensions: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'],
    });
  }
  if (caExists && sans.every((s) => have.has(s))) return files;

  const csr = path.join(dir, 'server.csr');
  const ext = path.join(dir, 'server.ext');
  await writeFile(
    ext,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${sans.join(',')}`,
      '',
    ].join('\n'),
  );
  await run('openssl', [
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    '/CN=kubeon lab mirror',
    '-keyout',
    files.keyFile,
    '-out',
    csr,
  ]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    files.caFile,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-days',
    '3650',
    '-sha256',
    '-extfile',
    ext,
    '-out',
    files.certFile,
  ]);
  await writeFile(sanFile, sans.join(','));
  return files;
}

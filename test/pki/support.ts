import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import type { ClusterSpec } from '../../src/cluster/spec.js';
import { validateSpec } from '../../src/cluster/validate.js';
import { certFacts } from '../../src/pki/describe.js';
import { parseKubeconfig } from '../../src/pki/kubeconfig.js';

export const run = promisify(execFile);

/** A fixed clock: golden files then differ only in keys and serials, which they do not record. */
export const NOW = new Date('2026-06-01T00:00:00Z');

export function makeSpec(version: string, extra: Record<string, unknown> = {}): ClusterSpec {
  return validateSpec({
    name: 'golden',
    version,
    masters: [
      { ip: '192.0.2.11', name: 'cp-1' },
      { ip: '192.0.2.12', name: 'cp-2' },
    ],
    controlPlane: { certSANs: ['api.example.com', '203.0.113.5'] },
    ...extra,
  }).spec;
}

export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

function certSummary(pem: string) {
  const f = certFacts(pem);
  return {
    subject: f.subject,
    issuer: f.issuer,
    isCA: f.isCA,
    keyUsages: f.keyUsages,
    extUsages: f.extUsages,
    dns: f.dns,
    ips: f.ips,
    validityHours: Math.round((f.notAfter.getTime() - f.notBefore.getTime()) / 3_600_000),
    keyAlgorithm: f.keyAlgorithm,
  };
}

/** Everything the golden files pin: per file, the certificate facts, kubeconfig servers, PEM types. */
export function summarize(root: string, files: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const path of files) {
    const rel = relative(root, path);
    const text = readFileSync(path, 'utf8');
    if (path.endsWith('.crt')) out[rel] = certSummary(text);
    else if (path.endsWith('.key') || path.endsWith('.pub')) out[rel] = { pem: text.split('\n')[0] };
    else {
      const k = parseKubeconfig(text);
      if (!k?.certPem || !k.keyPem) throw new Error(`${rel} has no client certificate`);
      out[rel] = {
        server: k.server,
        tlsServerName: k.tlsServerName ?? null,
        caIsClusterCa: k.caPem === readFileSync(join(root, 'pki/ca.crt'), 'utf8'),
        keyPem: k.keyPem.split('\n')[0],
        cert: certSummary(k.certPem),
      };
    }
  }
  return out;
}

const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), 'golden');

/** Compares with test/pki/golden/NAME.json; UPDATE_GOLDEN=1 rewrites the file instead. */
export function expectGolden(name: string, data: unknown): void {
  const path = join(GOLDEN_DIR, `${name}.json`);
  const text = `${JSON.stringify(data, null, 2)}\n`;
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(path, text);
    return;
  }
  if (!existsSync(path)) throw new Error(`golden file ${path} is missing; run with UPDATE_GOLDEN=1 once`);
  expect(JSON.parse(text)).toEqual(JSON.parse(readFileSync(path, 'utf8')));
}

export function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

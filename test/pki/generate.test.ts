import './support.js';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterSpec } from '../../src/cluster/spec.js';
import { parseKubeconfig } from '../../src/pki/kubeconfig.js';
import { CAS, leafProfiles } from '../../src/pki/profiles.js';
import { ensureClusterPki, ensureControlEtcdClient } from '../../src/pki/store.js';
import { expectGolden, listFiles, makeSpec, modeOf, NOW, run, summarize } from './support.js';

const VERSIONS = ['v1.30.6', 'v1.31.2', 'v1.37.1'];
const WHO = { user: 'ops', host: 'laptop' };
const MASTERS = [
  { name: 'cp-1', ip: '192.0.2.11' },
  { name: 'cp-2', ip: '192.0.2.12' },
];
const NINETY_NINE_YEARS_S = String(Math.floor(99 * 365.25 * 86_400));

let work: string;

function clusterPaths(name: string) {
  const dir = join(work, name);
  return { dir, pki: join(dir, 'pki'), kubeconfig: join(dir, 'kubeconfig') };
}

async function generate(name: string, spec: ClusterSpec, masters = MASTERS) {
  const paths = clusterPaths(name);
  const r = await ensureClusterPki(paths, spec, spec.version, masters, { now: NOW, who: WHO });
  return { paths, written: r.written };
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'kubeon-pki-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

// One master per version keeps key generation short: the first master has every kind of file, and
// what a joining master lacks (kubelet.conf) is covered by the profile tests and the re-run tests.
describe.each(VERSIONS)('PKI for %s', (version) => {
  let paths: ReturnType<typeof clusterPaths>;
  const masters = MASTERS.slice(0, 1);
  beforeAll(async () => {
    ({ paths } = await generate(version, makeSpec(version), masters));
  }, 120_000);

  it('matches the golden subjects, usages, SANs, validity lengths and servers', () => {
    const files = [...listFiles(paths.pki), paths.kubeconfig];
    expectGolden(version.replace(/\.\d+$/, ''), summarize(paths.dir, files));
  });

  it('has every leaf verified by openssl against its CA and valid for at least 99 more years', async () => {
    const spec = makeSpec(version);
    for (const m of masters) {
      for (const leaf of leafProfiles(spec, m, version)) {
        const ca = join(paths.pki, `${CAS.find((c) => c.id === leaf.ca)!.file}.crt`);
        const crt = join(paths.pki, 'nodes', m.name, 'pki', `${leaf.file}.crt`);
        const v = await run('openssl', ['verify', '-CAfile', ca, crt]);
        expect(v.stdout.trim()).toBe(`${crt}: OK`);
        await run('openssl', ['x509', '-in', crt, '-noout', '-checkend', NINETY_NINE_YEARS_S]);
      }
    }
    for (const ca of CAS) {
      await run('openssl', [
        'x509',
        '-in',
        join(paths.pki, `${ca.file}.crt`),
        '-noout',
        '-checkend',
        NINETY_NINE_YEARS_S,
      ]);
    }
  });

  it('has kubeconfig client certificates verified by openssl and valid for 99 years', async () => {
    const confs = listFiles(paths.pki).filter((p) => p.endsWith('.conf'));
    expect(confs.length).toBe(5);
    for (const conf of [...confs, paths.kubeconfig]) {
      const k = parseKubeconfig(readFileSync(conf, 'utf8'))!;
      const crt = join(work, 'client.crt');
      writeFileSync(crt, k.certPem!);
      const v = await run('openssl', ['verify', '-CAfile', join(paths.pki, 'ca.crt'), crt]);
      expect(v.stdout.trim(), conf).toBe(`${crt}: OK`);
      await run('openssl', ['x509', '-in', crt, '-noout', '-checkend', NINETY_NINE_YEARS_S]);
      unlinkSync(crt);
    }
  });

  it('keeps secrets in 0600 files under 0700 directories', () => {
    for (const f of [...listFiles(paths.pki), paths.kubeconfig]) expect(modeOf(f), f).toBe(0o600);
    for (const d of [paths.pki, join(paths.pki, 'etcd'), join(paths.pki, 'nodes', 'cp-1', 'pki', 'etcd')]) {
      expect(modeOf(d), d).toBe(0o700);
    }
  });

  it('writes RSA keys as PKCS#1 the way kubeadm does and validates them with openssl', async () => {
    const key = join(paths.pki, 'nodes', 'cp-1', 'pki', 'apiserver.key');
    expect(readFileSync(key, 'utf8')).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    const { stdout } = await run('openssl', ['rsa', '-in', key, '-check', '-noout']);
    expect(stdout).toContain('RSA key ok');
  });
});

describe('re-running', () => {
  const spec = makeSpec('v1.31.2');
  let paths: ReturnType<typeof clusterPaths>;
  beforeAll(async () => {
    ({ paths } = await generate('rerun', spec));
  }, 120_000);

  it('changes nothing when everything is in place', async () => {
    const before = listFiles(paths.pki).map((f) => readFileSync(f, 'utf8'));
    const { written } = await generate('rerun', spec);
    expect(written).toEqual([]);
    expect(listFiles(paths.pki).map((f) => readFileSync(f, 'utf8'))).toEqual(before);
  });

  it('re-issues only what is missing or half-written, never a CA', async () => {
    const ca = readFileSync(join(paths.pki, 'ca.crt'), 'utf8');
    unlinkSync(join(paths.pki, 'nodes/cp-2/pki/etcd/peer.crt'));
    // A crash between writing a new key and its certificate leaves a key that matches no certificate.
    writeFileSync(join(paths.pki, 'nodes/cp-1/pki/apiserver.key'), readFileSync(join(paths.pki, 'sa.key')));
    const { written } = await generate('rerun', spec);
    expect(written.sort()).toEqual([
      'nodes/cp-1/pki/apiserver.crt',
      'nodes/cp-1/pki/apiserver.key',
      'nodes/cp-2/pki/etcd/peer.crt',
      'nodes/cp-2/pki/etcd/peer.key',
    ]);
    expect(readFileSync(join(paths.pki, 'ca.crt'), 'utf8')).toBe(ca);
  });

  it('re-issues the apiserver certificates when a SAN is added', async () => {
    const more = {
      ...spec,
      controlPlane: { ...spec.controlPlane, certSANs: [...spec.controlPlane.certSANs, 'new.example'] },
    };
    const { written } = await generate('rerun', more);
    expect(written.sort()).toEqual([
      'nodes/cp-1/pki/apiserver.crt',
      'nodes/cp-1/pki/apiserver.key',
      'nodes/cp-2/pki/apiserver.crt',
      'nodes/cp-2/pki/apiserver.key',
    ]);
  });

  it('replaces a CA key left without its certificate, but refuses a CA certificate without its key', async () => {
    const fp = join(paths.pki, 'front-proxy-ca');
    unlinkSync(`${fp}.crt`);
    const { written } = await generate('rerun', spec);
    expect(written).toContain('front-proxy-ca.crt');
    expect(written).toContain('nodes/cp-1/pki/front-proxy-client.crt');
    unlinkSync(join(paths.pki, 'etcd/ca.key'));
    await expect(generate('rerun', spec)).rejects.toThrow(/etcd\/ca\.crt exists but its key/);
  });
});

describe('ECDSA-P256', () => {
  it('makes EC keys (SEC1) and ECDSA certificates that openssl verifies', async () => {
    const spec = makeSpec('v1.31.2', { pki: { keyAlgorithm: 'ECDSA-P256' } });
    const { paths } = await generate('ecdsa', spec);
    const key = join(paths.pki, 'nodes/cp-1/pki/etcd/server.key');
    expect(readFileSync(key, 'utf8')).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
    expect(readFileSync(join(paths.pki, 'sa.key'), 'utf8')).toMatch(/^-----BEGIN EC PRIVATE KEY-----/);
    const crt = join(paths.pki, 'nodes/cp-1/pki/etcd/server.crt');
    const text = (await run('openssl', ['x509', '-in', crt, '-noout', '-text'])).stdout;
    expect(text).toContain('ecdsa-with-SHA256');
    expect(text).toContain('prime256v1');
    const v = await run('openssl', ['verify', '-CAfile', join(paths.pki, 'etcd/ca.crt'), crt]);
    expect(v.stdout).toContain(': OK');
  });

  it('honours shorter validities', async () => {
    const spec = makeSpec('v1.31.2', {
      pki: { certValidity: '8760h', caValidity: '87600h', keyAlgorithm: 'ECDSA-P256' },
    });
    const { paths } = await generate('short', spec);
    const crt = join(paths.pki, 'nodes/cp-1/pki/apiserver.crt');
    await expect(
      run('openssl', ['x509', '-in', crt, '-noout', '-checkend', String(2 * 365 * 86_400)]),
    ).rejects.toThrow();
    await run('openssl', [
      'x509',
      '-in',
      join(paths.pki, 'ca.crt'),
      '-noout',
      '-checkend',
      String(9 * 365 * 86_400),
    ]);
  });
});

describe('control-machine etcd client', () => {
  it('is signed by the etcd CA, kept 0600, reused on the next call, and never mints a CA', async () => {
    const spec = makeSpec('v1.31.2', { pki: { keyAlgorithm: 'ECDSA-P256' } });
    const { paths } = await generate('etcdclient', spec);
    const first = await ensureControlEtcdClient(paths.pki, spec, NOW);
    expect(first.ca).toBe(readFileSync(join(paths.pki, 'etcd/ca.crt'), 'utf8'));
    const verify = await run('openssl', [
      'verify',
      '-CAfile',
      join(paths.pki, 'etcd/ca.crt'),
      join(paths.pki, 'control/etcd-client.crt'),
    ]);
    expect(verify.stdout).toMatch(/OK/);
    expect(modeOf(join(paths.pki, 'control/etcd-client.key'))).toBe(0o600);
    expect((await ensureControlEtcdClient(paths.pki, spec, NOW)).cert).toBe(first.cert);

    const bare = clusterPaths('noetcdca');
    await expect(ensureControlEtcdClient(bare.pki, spec, NOW)).rejects.toThrow(/has no etcd CA/);
  }, 120_000);
});

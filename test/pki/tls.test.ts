import './support.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkServerIdentity, connect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { ClusterSpec } from '../../src/cluster/spec.js';
import { Store } from '../../src/cluster/store.js';
import { validateSpec } from '../../src/cluster/validate.js';
import { parseKubeconfig } from '../../src/pki/kubeconfig.js';
import { waitReadyz } from '../../src/pki/renew.js';
import { ensureClusterPki } from '../../src/pki/store.js';
import { kubeon } from '../cli/harness.js';
import { run } from './support.js';

/**
 * A real HTTPS server with the generated apiserver certificate, requiring client certificates from
 * the cluster CA, reached with hostname verification by every name and address the certificate
 * carries, and by the real kubectl through the control machine's kubeconfig.
 */

const ENDPOINT = 'api.tls.test';
const WHO = { user: 'ops', host: 'laptop' };
const NODE = { name: 'cp-1', ip: '192.0.2.11' };
const NINETY_NINE_YEARS_S = 99 * 365.25 * 86_400;

interface Cluster {
  spec: ClusterSpec;
  pki: string;
  kubeconfig: string;
  server: Server;
  port: number;
  /** Client subjects the server saw, in order. */
  clients: string[];
}

let home: string;
const clusters: Cluster[] = [];

async function freePort(): Promise<number> {
  const s = netServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

async function startCluster(name: string): Promise<Cluster> {
  const port = await freePort();
  const { spec } = validateSpec({
    name,
    version: 'v1.32.3',
    masters: [NODE],
    controlPlane: {
      endpoint: ENDPOINT,
      mode: 'external',
      lbIp: '127.0.0.1',
      port,
      certSANs: ['extra.tls.test', '198.51.100.9'],
    },
    network: { dnsDomain: 'corp.local' },
  });
  const store = new Store(home);
  await store.writeSpec(spec);
  const paths = await store.ensureClusterDirs(name);
  await ensureClusterPki(paths, spec, spec.version, [NODE], { now: new Date(), who: WHO });
  const pki = paths.pki;
  const node = join(pki, 'nodes', NODE.name, 'pki');
  const clients: string[] = [];
  const server = createServer(
    {
      key: readFileSync(join(node, 'apiserver.key')),
      cert: readFileSync(join(node, 'apiserver.crt')),
      ca: readFileSync(join(pki, 'ca.crt')),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      clients.push(`O=${peer.subject.O ?? ''}, CN=${peer.subject.CN}`);
      if (req.url === '/readyz') return res.end('ok');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ major: '1', minor: '32', gitVersion: 'v1.32.3', platform: 'linux/amd64' }));
    },
  );
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { spec, pki, kubeconfig: paths.kubeconfig, server, port, clients };
}

function adminCreds(c: Cluster) {
  const k = parseKubeconfig(readFileSync(join(c.pki, 'nodes', NODE.name, 'admin.conf'), 'utf8'))!;
  return { ca: readFileSync(join(c.pki, 'ca.crt')), cert: k.certPem!, key: k.keyPem! };
}

/** GET by host name: the name resolves to 127.0.0.1 and is what the certificate is checked against. */
function getByName(c: Cluster, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get(
      {
        host: name,
        port: c.port,
        path: '/version',
        ...adminCreds(c),
        agent: false,
        lookup: (_h, _o, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }]),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
  });
}

/** TLS to 127.0.0.1 with the certificate checked by Node's own hostname check for `ip`. */
function connectAsIp(c: Cluster, ip: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = connect({
      host: '127.0.0.1',
      port: c.port,
      ...adminCreds(c),
      checkServerIdentity: (_host, cert) => checkServerIdentity(ip, cert),
    });
    s.on('secureConnect', () => {
      const cert = s.getPeerCertificate();
      s.end();
      resolve(cert);
    });
    s.on('error', reject);
  });
}

async function kubectl(kubeconfig: string, ...args: string[]) {
  return run(
    '/usr/bin/kubectl',
    ['--kubeconfig', kubeconfig, '--cache-dir', join(home, 'kube-cache'), ...args],
    {
      env: { PATH: '/usr/bin:/bin', HOME: home },
      timeout: 30_000,
    },
  );
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'kubeon-tls-'));
  clusters.push(await startCluster('blue'), await startCluster('green'));
}, 120_000);
afterAll(async () => {
  for (const c of clusters) await new Promise((r) => c.server.close(r));
  rmSync(home, { recursive: true, force: true });
});

describe('the apiserver certificate behind a real TLS server', () => {
  it('is accepted with hostname verification under every DNS name it carries', async () => {
    const c = clusters[0]!;
    const names = [
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.corp.local',
      ENDPOINT,
      NODE.name,
      'localhost',
      'extra.tls.test',
    ];
    for (const name of names) expect(await getByName(c, name), name).toBe(200);
  });

  it('is refused under a name it does not carry', async () => {
    await expect(getByName(clusters[0]!, 'kubernetes.default.svc.cluster.local')).rejects.toThrow(
      /does not match certificate's altnames/,
    );
  });

  it('is accepted for every IP it carries and refused for others', async () => {
    const c = clusters[0]!;
    for (const ip of ['10.96.0.1', NODE.ip, '127.0.0.1', '198.51.100.9']) {
      const cert = await connectAsIp(c, ip);
      expect(cert.subject.CN).toBe('kube-apiserver');
    }
    await expect(connectAsIp(c, '192.0.2.99')).rejects.toThrow(/IP: 192.0.2.99 is not in the cert's list/);
  });

  it('demands a client certificate from the cluster CA', async () => {
    const c = clusters[0]!;
    const other = clusters[1]!;
    const attempt = (creds: { ca: Buffer; cert?: string; key?: string }) =>
      new Promise<void>((resolve, reject) => {
        const req = get(
          { host: '127.0.0.1', port: c.port, path: '/version', agent: false, ...creds },
          (res) => {
            res.resume();
            res.on('end', () => resolve());
          },
        );
        req.on('error', reject);
      });
    const ca = readFileSync(join(c.pki, 'ca.crt'));
    await expect(attempt({ ca })).rejects.toThrow();
    const foreign = adminCreds(other);
    await expect(attempt({ ca, cert: foreign.cert, key: foreign.key })).rejects.toThrow();
  });
});

describe('the control machine kubeconfig with kubectl', () => {
  it('reaches each of two clusters with the same endpoint name at once, as its own identity', async () => {
    for (const c of clusters) {
      const k = YAML.parse(readFileSync(c.kubeconfig, 'utf8'));
      expect(k.clusters[0].cluster.server).toBe(`https://127.0.0.1:${c.port}`);
      expect(k.clusters[0].cluster['tls-server-name']).toBe(ENDPOINT);
      const { stdout } = await kubectl(c.kubeconfig, 'version', '-o', 'json');
      expect(JSON.parse(stdout).serverVersion.gitVersion).toBe('v1.32.3');
      expect(c.clients.at(-1)).toBe('O=kubeadm:cluster-admins, CN=kubeon:ops@laptop');
    }
  });

  it('fails against the other cluster, and with a wrong TLS server name', async () => {
    const [blue, green] = clusters as [Cluster, Cluster];
    const crossed = join(home, 'crossed.kubeconfig');
    const k = YAML.parse(readFileSync(blue.kubeconfig, 'utf8'));
    k.clusters[0].cluster.server = `https://127.0.0.1:${green.port}`;
    writeFileSync(crossed, YAML.stringify(k), { mode: 0o600 });
    await expect(kubectl(crossed, 'version', '-o', 'json')).rejects.toThrow(
      /certificate signed by unknown authority/,
    );
    const renamed = join(home, 'renamed.kubeconfig');
    const r = YAML.parse(readFileSync(blue.kubeconfig, 'utf8'));
    r.clusters[0].cluster['tls-server-name'] = 'other.name';
    writeFileSync(renamed, YAML.stringify(r), { mode: 0o600 });
    await expect(kubectl(renamed, 'version', '-o', 'json')).rejects.toThrow(/valid for .*not other\.name/);
  });

  it('is what the renew rollout uses to wait for /readyz', async () => {
    const c = clusters[0]!;
    const k = parseKubeconfig(readFileSync(c.kubeconfig, 'utf8'))!;
    const creds = { caPem: k.caPem!, certPem: k.certPem!, keyPem: k.keyPem!, servername: ENDPOINT };
    expect(await waitReadyz('127.0.0.1', creds, { timeoutMs: 5000, port: c.port })).toBe(true);
    const closed = await freePort();
    expect(await waitReadyz('127.0.0.1', creds, { timeoutMs: 300, intervalMs: 100, port: closed })).toBe(
      false,
    );
  });
});

describe('kubeon certs', () => {
  async function cli(...argv: string[]) {
    const r = await kubeon(['--home', home, ...argv], { HOME: home });
    return { code: r.code, out: r.stdout, err: r.stderr };
  }

  it('reports every certificate and kubeconfig with at least 99 years left (-o json)', async () => {
    const { code, out } = await cli('certs', 'blue', '-o', 'json');
    expect(code).toBe(0);
    const rows = JSON.parse(out) as { name: string; residualSeconds: number; signer: string; kind: string }[];
    // 3 CAs, 7 leaves and 5 kubeconfigs of the one master, and this machine's kubeconfig.
    expect(rows).toHaveLength(16);
    for (const r of rows) expect(r.residualSeconds, r.name).toBeGreaterThanOrEqual(NINETY_NINE_YEARS_S);
    const signer = Object.fromEntries(rows.map((r) => [r.name, r.signer]));
    expect(signer).toMatchObject({
      ca: 'self',
      'cp-1/apiserver': 'ca',
      'cp-1/etcd/peer': 'etcd-ca',
      'cp-1/front-proxy-client': 'front-proxy-ca',
      'cp-1/super-admin.conf': 'ca',
      kubeconfig: 'ca',
    });
  });

  it('shows SANs in the table with -v', async () => {
    const { code, out } = await cli('-v', 'certs', 'blue');
    expect(code).toBe(0);
    expect(out).toMatch(/^WHERE\s+NAME\s+SUBJECT\s+SANS\s+EXPIRES\s+RESIDUAL\s+SIGNER$/m);
    expect(out).toMatch(
      /cp-1\/apiserver\s+CN=kube-apiserver\s+DNS:api\.tls\.test,.*IP:198\.51\.100\.9\s.*\s99y\s+ca$/m,
    );
  });

  it('exits 2 for an unknown action or a bad flag value, before touching anything', async () => {
    expect((await cli('certs', 'blue', 'rotate')).code).toBe(2);
    const bad = await cli('certs', 'blue', 'renew', '--settle', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--settle soon is not a whole number of seconds');
    expect((await cli('certs', 'blue', 'renew', '--timeout', 'never')).code).toBe(2);
  });

  it('exits 2 for an unknown cluster', async () => {
    const { code, err } = await cli('certs', 'nosuch');
    expect(code).toBe(2);
    expect(err).toContain('unknown cluster "nosuch"');
  });

  it('re-issues leaves from the existing CAs with renew --no-place', async () => {
    const c = clusters[1]!;
    const ca = readFileSync(join(c.pki, 'ca.crt'), 'utf8');
    const before = readFileSync(join(c.pki, 'nodes', NODE.name, 'pki', 'apiserver.crt'), 'utf8');
    const { code, err } = await cli('certs', 'green', 'renew', '--no-place');
    expect(code, err).toBe(0);
    expect(readFileSync(join(c.pki, 'ca.crt'), 'utf8')).toBe(ca);
    const after = readFileSync(join(c.pki, 'nodes', NODE.name, 'pki', 'apiserver.crt'), 'utf8');
    expect(after).not.toBe(before);
    const v = await run('openssl', [
      'verify',
      '-CAfile',
      join(c.pki, 'ca.crt'),
      join(c.pki, 'nodes', NODE.name, 'pki', 'apiserver.crt'),
    ]);
    expect(v.stdout).toContain(': OK');
  });
});

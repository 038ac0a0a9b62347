import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneSnapshots, saveSnapshot, snapshotName } from '../../src/etcd/backups.js';
import { EtcdClient, type EtcdEndpoint, EtcdRequestError, memberIdHex } from '../../src/etcd/client.js';
import { verifySnapshot } from '../../src/etcd/snapshot.js';
import { issueCa, issueLeaf } from '../../src/pki/issue.js';

/**
 * kubeon's etcd client against a real etcd (Debian etcd-server) on loopback with client-certificate
 * authentication, as kubeadm configures stacked etcd: every call goes through the v3 JSON gateway.
 */

let dir: string;
let etcd: ChildProcess;
let port: number;
let client: EtcdClient;
let foreign: EtcdClient;
let ep: EtcdEndpoint;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port: p } = s.address() as { port: number };
      s.close(() => resolve(p));
    });
  });
}

async function waitHealthy(c: EtcdClient, e: EtcdEndpoint, ms: number): Promise<void> {
  const until = Date.now() + ms;
  let last = '';
  while (Date.now() < until) {
    const h = await c.health(e);
    if (h.healthy) return;
    last = h.error ?? '';
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`etcd did not become healthy: ${last}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kubeon-etcd-client-'));
  const opts = { now: new Date(), validity: '876000h', algorithm: 'ECDSA-P256' as const };
  const ca = await issueCa('etcd-ca', opts);
  const server = await issueLeaf(
    ca,
    { cn: 'm1', o: [], usages: ['serverAuth', 'clientAuth'], dns: ['localhost', 'm1'], ips: ['127.0.0.1'] },
    opts,
  );
  const clientCert = await issueLeaf(
    ca,
    { cn: 'kubeon-etcd-client', o: [], usages: ['clientAuth'], dns: [], ips: [] },
    opts,
  );
  const otherCa = await issueCa('etcd-ca', opts);
  const otherClient = await issueLeaf(
    otherCa,
    { cn: 'intruder', o: [], usages: ['clientAuth'], dns: [], ips: [] },
    opts,
  );
  writeFileSync(join(dir, 'ca.crt'), ca.certPem);
  writeFileSync(join(dir, 'server.crt'), server.certPem);
  writeFileSync(join(dir, 'server.key'), server.key.pem, { mode: 0o600 });
  port = await freePort();
  const peer = await freePort();
  etcd = spawn(
    'etcd',
    [
      '--name=m1',
      `--data-dir=${join(dir, 'data')}`,
      `--listen-client-urls=https://127.0.0.1:${port}`,
      `--advertise-client-urls=https://127.0.0.1:${port}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=m1=http://127.0.0.1:${peer}`,
      '--client-cert-auth=true',
      `--trusted-ca-file=${join(dir, 'ca.crt')}`,
      `--cert-file=${join(dir, 'server.crt')}`,
      `--key-file=${join(dir, 'server.key')}`,
      '--log-level=error',
    ],
    { stdio: 'ignore' },
  );
  client = new EtcdClient({ ca: ca.certPem, cert: clientCert.certPem, key: clientCert.key.pem });
  foreign = new EtcdClient({ ca: ca.certPem, cert: otherClient.certPem, key: otherClient.key.pem }, 3000);
  ep = {
    name: 'm1',
    servername: 'localhost',
    dial: () =>
      new Promise((resolve, reject) => {
        const s = tcpConnect(port, '127.0.0.1');
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      }),
  };
  await waitHealthy(client, ep, 20_000);
}, 30_000);

afterAll(() => {
  etcd?.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe('etcd client over the v3 JSON gateway', () => {
  it('lists members with etcdctl-style hex IDs and reports status with the leader', async () => {
    const members = await client.members(ep);
    expect(members).toHaveLength(1);
    expect(members[0]?.name).toBe('m1');
    expect(members[0]?.id).toMatch(/^[0-9a-f]{16}$/);
    expect(members[0]?.clientUrls).toEqual([`https://127.0.0.1:${port}`]);
    const status = await client.status(ep);
    expect(status.memberId).toBe(members[0]?.id);
    expect(status.isLeader).toBe(true);
    expect(status.version).toMatch(/^3\.\d+\.\d+/);
    expect(status.dbSize).toBeGreaterThan(0);
    expect(status.raftIndex).toBeGreaterThan(0);
  });

  it('writes and reads a key', async () => {
    await client.put(ep, '/kubeon/test/a', 'value with spaces and ünïcode');
    expect(await client.get(ep, '/kubeon/test/a')).toBe('value with spaces and ünïcode');
    expect(await client.get(ep, '/kubeon/test/absent')).toBeUndefined();
  });

  it('refuses a client certificate from another CA', async () => {
    await expect(foreign.members(ep)).rejects.toBeInstanceOf(EtcdRequestError);
    const h = await foreign.health(ep);
    expect(h.healthy).toBe(false);
  });

  it('saves a snapshot that carries etcd’s own sha256, and spots a corrupted copy', async () => {
    await client.put(ep, '/kubeon/test/snap', 'before');
    const file = join(dir, 'snap.db');
    const chunks: Buffer[] = [];
    await client.snapshot(ep, (c) => {
      chunks.push(c);
    });
    writeFileSync(file, Buffer.concat(chunks));
    const check = await verifySnapshot(file);
    expect(check.problem).toBeUndefined();
    expect(check.ok).toBe(true);
    expect(check.dbBytes % 512).toBe(0);
    // The snapshot holds the key (bbolt stores values unencoded).
    expect(readFileSync(file).includes(Buffer.from('/kubeon/test/snap'))).toBe(true);

    const corrupt = join(dir, 'corrupt.db');
    const bytes = readFileSync(file);
    bytes[4096] = (bytes[4096] ?? 0) ^ 0xff;
    writeFileSync(corrupt, bytes);
    expect((await verifySnapshot(corrupt)).problem).toMatch(/does not match/);

    const truncated = join(dir, 'truncated.db');
    writeFileSync(truncated, readFileSync(file).subarray(0, 10_000));
    expect((await verifySnapshot(truncated)).problem).toMatch(/truncated/);
  });

  it('keeps verified snapshots 0600 under backups and prunes to the newest N', async () => {
    const backups = join(dir, 'backups');
    mkdirSync(backups, { mode: 0o700 });
    const saved = [];
    for (let i = 0; i < 3; i++) {
      const name = snapshotName(new Date(Date.UTC(2026, 11, 3, 14, 30, i)), 'm1');
      saved.push(await saveSnapshot(client, ep, join(backups, name)));
    }
    expect(saved[0]?.path).toMatch(/etcd-snapshot-20261203T143000Z-m1\.db$/);
    expect(statSync(saved[2]!.path).mode & 0o777).toBe(0o600);
    expect(saved[2]?.sha256).toMatch(/^[0-9a-f]{64}$/);
    const removed = await pruneSnapshots(backups, 2);
    expect(removed).toEqual([saved[0]?.path]);
    expect(readdirSync(backups).sort()).toEqual(
      [saved[1]!.path, saved[2]!.path].map((p) => p.split('/').pop()).sort(),
    );
  });

  it('leaves no file behind when the member cannot be reached', async () => {
    const backups = join(dir, 'backups-fail');
    mkdirSync(backups, { mode: 0o700 });
    const dead: EtcdEndpoint = {
      ...ep,
      name: 'gone',
      dial: () => Promise.reject(new Error('connection refused')),
    };
    await expect(saveSnapshot(client, dead, join(backups, 'x.db'))).rejects.toThrow(/connection refused/);
    expect(readdirSync(backups)).toEqual([]);
  });

  it('defragments a member', async () => {
    await expect(client.defragment(ep)).resolves.toBeUndefined();
    await waitHealthy(client, ep, 5000);
  });

  it('refuses a malformed member ID before any request', async () => {
    await expect(client.removeMember(ep, 'zz')).rejects.toThrow(/not an etcd member ID/);
  });

  it('renders gateway decimal IDs as 16 hex digits', () => {
    expect(memberIdHex('10276657743932975437')).toBe('8e9e05c52164694d');
    expect(memberIdHex('1')).toBe('0000000000000001');
  });
});

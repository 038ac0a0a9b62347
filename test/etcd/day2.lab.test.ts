import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, labDown, labUp } from '../../lab/api.js';
import { testLabId } from '../../lab/support/test-id.js';
import type { InfoReport } from '../../src/info/summary.js';
import { type CreateLab, createLab, NET_FLAGS, sh } from '../create/support.js';

/**
 * `kubeon etcd` and `kubeon info` on one lab master running the real etcd (Debian's 3.4, started by
 * the kubelet stand-in from kubeadm's manifest). One cluster serves every case: info's fields against
 * what the node itself reports, the API reached through an SSH tunnel when its address is not, and a
 * snapshot saved to this machine, a corrupt one refused, the good one restored.
 */

const ID = testLabId('t-etcd-day2');
const VERSION = 'v1.31.14';
const NAME = 'day2';
let lab: Lab;
let k: CreateLab;

const etcdctl = (...args: string[]) => k.cli('etcd', NAME, '--', ...args);

beforeAll(async () => {
  await labDown(ID);
  [lab, k] = await Promise.all([labUp({ id: ID, system: 1 }), createLab(VERSION)]);
  const h = lab.hosts[0]!;
  const r = await k.cli(
    'create',
    NAME,
    VERSION,
    '-m',
    h.ip,
    '--default-pk-file',
    h.keyPath,
    '--mirror',
    k.mirror.url,
    ...NET_FLAGS,
    ...k.imageFlags,
  );
  if (r.code !== 0) throw new Error(`create failed: ${r.stderr}`);
}, 900_000);

afterAll(async () => {
  await labDown(ID);
  await k?.close();
}, 300_000);

async function info(): Promise<InfoReport> {
  const r = await k.cli('info', NAME, '-o', 'json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as InfoReport;
}

describe('kubeon info', () => {
  it('-o json agrees with what the node and its etcd say', async () => {
    const h = lab.hosts[0]!;
    const r = await info();
    const node = JSON.parse(
      await sh(lab, h.name, 'kubectl --kubeconfig /etc/kubernetes/admin.conf get node "$(hostname)" -o json'),
    ) as {
      status: { nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string; osImage: string } };
    };
    expect(r.cluster).toMatchObject({
      name: NAME,
      version: VERSION,
      endpoint: 'apiserver.cluster.local:6443',
    });
    expect(r.cluster.api.via).toBe('direct');
    expect(r.ha).toEqual({ mode: 'none', workers: [] });
    expect(r.nodes).toHaveLength(1);
    expect(r.nodes[0]).toMatchObject({
      name: h.name,
      role: 'master',
      ip: h.ip,
      status: 'Ready',
      kubeletVersion: node.status.nodeInfo.kubeletVersion,
      runtime: node.status.nodeInfo.containerRuntimeVersion,
      os: node.status.nodeInfo.osImage,
    });
    expect(r.controlPlane[h.name]!.map((c) => [c.component, c.ready])).toEqual([
      ['etcd', true],
      ['kube-apiserver', true],
      ['kube-controller-manager', true],
      ['kube-scheduler', true],
    ]);
    const pods = JSON.parse(
      await sh(lab, h.name, 'kubectl --kubeconfig /etc/kubernetes/admin.conf get pods -A -o json'),
    ) as { items: unknown[] };
    expect(r.pods.total).toBe(pods.items.length);
    const member = (await etcdctl('member', 'list')).stdout.trim().split(', ');
    expect(r.etcd.members).toEqual([
      expect.objectContaining({ id: member[0], name: h.name, healthy: true, leader: true }),
    ]);
    expect(r.etcd.members[0]!.dbSize).toBeGreaterThan(0);
    // kubeon's PKI is made for 100 years.
    expect(r.certificates.earliest!.residualSeconds).toBeGreaterThan(99 * 365 * 86400);
    expect(r.lastOperation?.status).toBe('running');
    const table = await k.cli('display', NAME);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`${h.name}  etcd  kube-apiserver`);
    expect(table.stdout).not.toContain('\x1b[');
  }, 300_000);

  it('reaches the API through an SSH tunnel when its address does not answer from here', async () => {
    const path = join(k.home, 'clusters', NAME, 'kubeconfig');
    const good = readFileSync(path, 'utf8');
    // Nothing listens on port 1 of this machine's loopback: the direct connection is refused.
    writeFileSync(path, good.replace(/server: https:\/\/[^\s]+/, 'server: https://127.0.0.1:1'));
    try {
      const r = await info();
      expect(r.cluster.api.via).toBe(`tunnel through ${lab.hosts[0]!.name}`);
      expect(r.cluster.version).toBe(VERSION);
      expect(r.nodes.map((n) => n.name)).toEqual([lab.hosts[0]!.name]);
    } finally {
      writeFileSync(path, good);
    }
  }, 300_000);
});

describe('kubeon etcd', () => {
  it('members, health and status read the real etcd', async () => {
    const members = await k.cli('etcd', NAME, 'members', '-o', 'json');
    expect(members.code, members.stderr).toBe(0);
    expect(JSON.parse(members.stdout)).toEqual([
      expect.objectContaining({ name: lab.hosts[0]!.name, isLearner: false }),
    ]);
    const health = await k.cli('etcd', NAME, 'health', '-o', 'json');
    expect(health.code, health.stderr).toBe(0);
    expect(JSON.parse(health.stdout)).toEqual([expect.objectContaining({ healthy: true })]);
    const status = await k.cli('etcd', NAME, 'status', '-o', 'json');
    expect(JSON.parse(status.stdout)[0].status).toMatchObject({ isLeader: true, version: '3.4.23' });
  }, 300_000);

  it('restores a saved snapshot: data written before it is back, data written after it is gone', async () => {
    const h = lab.hosts[0]!;
    expect((await etcdctl('put', '/kubeon-test/before', 'yes')).code).toBe(0);
    const saved = await k.cli('etcd', NAME, 'snapshot', 'save', '-o', 'json');
    expect(saved.code, saved.stderr).toBe(0);
    const file = (JSON.parse(saved.stdout) as { path: string }).path;
    const backups = join(k.home, 'clusters', NAME, 'backups');
    expect(readdirSync(backups)).toEqual([file.split('/').at(-1)]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect((await etcdctl('put', '/kubeon-test/after', 'yes')).code).toBe(0);

    // One flipped byte: the sha256 etcd appended no longer matches, and nothing is touched.
    const bad = join(k.work, 'corrupt.db');
    copyFileSync(file, bad);
    const bytes = readFileSync(bad);
    bytes[4096] = bytes[4096]! ^ 0xff;
    writeFileSync(bad, bytes);
    const refused = await k.cli('etcd', NAME, 'snapshot', 'restore', bad, '--yes');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('the file is corrupt');
    expect(await sh(lab, h.name, 'ls /etc/kubernetes/manifests')).toContain('etcd.yaml');
    expect((await etcdctl('get', '/kubeon-test/after', '--print-value-only')).stdout).toBe('yes\n');

    const restored = await k.cli('etcd', NAME, 'snapshot', 'restore', file, '--yes');
    expect(restored.stderr).toContain(`restored from ${file} on 1 master(s)`);
    expect(restored.code).toBe(0);
    expect((await etcdctl('get', '/kubeon-test/before', '--print-value-only')).stdout).toBe('yes\n');
    expect((await etcdctl('get', '/kubeon-test/after', '--print-value-only')).stdout).toBe('');
    expect(await sh(lab, h.name, 'ls -d /var/lib/etcd.before-restore-*')).toMatch(
      /before-restore-\d{8}T\d{6}Z/,
    );
    // The restore returns once etcd answers; the API servers follow on the restored data.
    let after = await info();
    for (const until = Date.now() + 180_000; after.nodes.length === 0 && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 3000));
      after = await info();
    }
    expect(after.nodes[0]?.status).toBe('Ready');
    expect(after.etcd.members[0]!.healthy).toBe(true);
  }, 600_000);
});

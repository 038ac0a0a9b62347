import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, labDown, labUp } from '../../lab/api.js';
import { testLabId } from '../../lab/support/test-id.js';
import { type CreateLab, createLab, fileList, NET_FLAGS, sh } from './support.js';

/**
 * 3 masters + 2 workers in haproxy mode: a dry run changes no file on any host; create brings every
 * node Ready with the workers behind their local haproxy; destroy leaves every host as before.
 */

const ID = testLabId('t-create-ha');
const VERSION = 'v1.31.14';
let lab: Lab;
let k: CreateLab;
const before = new Map<string, string[]>();

const snapshot = async () =>
  new Map(await Promise.all(lab.hosts.map(async (h) => [h.name, await fileList(lab, h.name)] as const)));

beforeAll(async () => {
  await labDown(ID);
  [lab, k] = await Promise.all([labUp({ id: ID, system: 5 }), createLab(VERSION)]);
  for (const [n, l] of await snapshot()) before.set(n, l);
}, 900_000);

afterAll(async () => {
  await labDown(ID);
  await k?.close();
}, 300_000);

function createArgs(): string[] {
  const [m1, m2, m3, w1, w2] = lab.hosts;
  return [
    'create',
    'ha',
    VERSION,
    '-m',
    m1!.ip,
    '-m',
    m2!.ip,
    '-m',
    m3!.ip,
    '-w',
    w1!.ip,
    '-w',
    w2!.ip,
    '--default-pk-file',
    m1!.keyPath,
    '--mirror',
    k.mirror.url,
    ...NET_FLAGS,
    ...k.imageFlags,
  ];
}

describe('kubeon create with 3 masters and 2 workers', () => {
  it('--dry-run prints a plan per node and changes no file on any host', async () => {
    const r = await k.cli(...createArgs(), '--dry-run');
    expect(r.code).toBe(0);
    for (const h of lab.hosts) expect(r.stderr).toContain(`  ${h.name}: `);
    expect(r.stderr).toContain('kubeadm join --control-plane');
    expect(r.stderr).toContain('nothing was changed on any node');
    expect(await snapshot()).toEqual(before);
  }, 300_000);

  it('creates the cluster: every node Ready, workers on their local haproxy', async () => {
    const r = await k.cli(...createArgs());
    expect(r.stderr).toContain('cluster "ha" is ready');
    expect(r.code).toBe(0);
    const m1 = lab.hosts[0]!.name;
    const list = JSON.parse(
      await sh(lab, m1, 'kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o json'),
    ) as {
      items: {
        metadata: { name: string; labels: Record<string, string> };
        status: { conditions: { type: string; status: string }[] };
      }[];
    };
    expect(list.items.map((n) => n.metadata.name).sort()).toEqual(lab.hosts.map((h) => h.name).sort());
    for (const n of list.items)
      expect(n.status.conditions.find((c) => c.type === 'Ready')?.status, n.metadata.name).toBe('True');
    const workers = list.items
      .filter((n) => 'node-role.kubernetes.io/worker' in n.metadata.labels)
      .map((n) => n.metadata.name);
    expect(workers.sort()).toEqual([lab.hosts[3]!.name, lab.hosts[4]!.name].sort());
    for (const w of lab.hosts.slice(3)) {
      expect(await sh(lab, w.name, "grep -A1 '# BEGIN kubeon ha' /etc/hosts | tail -1")).toBe(
        '127.0.0.1 apiserver.cluster.local\n',
      );
      expect(
        await sh(lab, w.name, 'curl -ksS -o /dev/null -w "%{http_code}" https://127.0.0.1:6443/readyz'),
      ).toBe('200');
    }
    for (const m of lab.hosts.slice(0, 3))
      expect(await sh(lab, m.name, "grep -A1 '# BEGIN kubeon ha' /etc/hosts | tail -1")).toBe(
        `${m.ip} apiserver.cluster.local\n`,
      );
  }, 900_000);

  it('destroy leaves every host as it was before create and forgets the cluster', async () => {
    const r = await k.cli('destroy', 'ha', '--yes');
    expect(r.stderr).toContain('cluster "ha" destroyed');
    expect(r.code).toBe(0);
    const after = await snapshot();
    for (const h of lab.hosts) expect(after.get(h.name), h.name).toEqual(before.get(h.name));
    expect((await k.cli('list')).stdout).not.toContain('ha');
  }, 600_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fault, type Lab, labDown, labUp } from '../../lab/api.js';
import { testLabId } from '../../lab/support/test-id.js';
import { type CreateLab, createLab, NET_FLAGS, sh } from '../create/support.js';

/**
 * add and del on one lab of five hosts, the smallest sizes that prove each point (the issue's
 * 3+2 plus 1+5 is for the bench): a 1+1 cluster gets two masters and a worker while its worker is
 * down (the new nodes join, the old worker is reported, `add --resume` refreshes it once it is
 * back); then a dead master is removed with --force, a live master and a worker with the normal
 * path, each checked on the real etcd and on every worker's haproxy; removing the last master is
 * refused.
 */

const ID = testLabId('t-day2-nodes');
const VERSION = 'v1.31.14';
const KUBECTL = 'kubectl --kubeconfig /etc/kubernetes/admin.conf';
let lab: Lab;
let k: CreateLab;

const host = (i: number) => lab.hosts[i]!;
const FAST = ['--connect-timeout', '5s'];

beforeAll(async () => {
  await labDown(ID);
  [lab, k] = await Promise.all([labUp({ id: ID, system: 5 }), createLab(VERSION)]);
  const r = await k.cli(
    'create',
    'nd',
    VERSION,
    '-m',
    host(0).ip,
    '-w',
    host(1).ip,
    '--default-pk-file',
    host(0).keyPath,
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

/** Member names of the real etcd, read through its JSON gateway on the first master. */
async function etcdMembers(): Promise<string[]> {
  const out = await sh(
    lab,
    host(0).name,
    "curl -sS --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/apiserver-etcd-client.crt --key /etc/kubernetes/pki/apiserver-etcd-client.key -X POST -d '{}' https://127.0.0.1:2379/v3/cluster/member/list",
  );
  return ((JSON.parse(out) as { members: { name: string }[] }).members ?? []).map((m) => m.name).sort();
}

async function nodeNames(): Promise<string[]> {
  const out = await sh(lab, host(0).name, `${KUBECTL} get nodes -o name`);
  return out
    .trim()
    .split('\n')
    .map((l) => l.replace('node/', ''))
    .sort();
}

/** The backend server names in a worker's haproxy.cfg. */
async function backends(i: number): Promise<string[]> {
  const cfg = await sh(lab, host(i).name, 'cat /etc/kubeon/haproxy/haproxy.cfg');
  return [...cfg.matchAll(/^ {2}server (\S+) /gm)].map((m) => m[1]!).sort();
}

const hostsLine = (i: number) => sh(lab, host(i).name, "grep -A1 '# BEGIN kubeon nd' /etc/hosts | tail -1");
const names = (...i: number[]) => i.map((n) => host(n).name).sort();

async function yearsLeft(i: number, file: string): Promise<number> {
  const out = await sh(lab, host(i).name, `openssl x509 -enddate -noout -in ${file}`);
  const end = Date.parse(out.trim().replace('notAfter=', ''));
  return (end - Date.now()) / (365.25 * 86_400_000);
}

describe('kubeon add and del', () => {
  it('add joins two masters and a worker while the old worker is down, and reports that worker', async () => {
    await fault(lab, host(1).name, 'down');
    const r = await k.cli('add', 'nd', '-m', host(2).ip, '-m', host(3).ip, '-w', host(4).ip, ...FAST);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`${host(1).name}: `);
    expect(r.stderr).toContain('kubeon add nd --resume');
    expect(await nodeNames()).toEqual(names(0, 1, 2, 3, 4));
    expect(await etcdMembers()).toEqual(names(0, 2, 3));
    expect(await backends(4)).toEqual(names(0, 2, 3));
    expect(await hostsLine(4)).toBe('127.0.0.1 apiserver.cluster.local\n');
    for (const i of [2, 3]) {
      expect(await hostsLine(i)).toBe(`${host(i).ip} apiserver.cluster.local\n`);
      for (const f of ['apiserver.crt', 'etcd/server.crt', 'etcd/peer.crt'])
        expect(await yearsLeft(i, `/etc/kubernetes/pki/${f}`), `${host(i).name} ${f}`).toBeGreaterThanOrEqual(
          99,
        );
    }
  }, 900_000);

  it('add --resume brings the old worker behind its own haproxy once it is back', async () => {
    await fault(lab, host(1).name, 'up');
    const r = await k.cli('add', 'nd', '--resume');
    expect(r.code, r.stderr).toBe(0);
    expect(await backends(1)).toEqual(names(0, 2, 3));
    expect(await hostsLine(1)).toBe('127.0.0.1 apiserver.cluster.local\n');
    const spec = await k.cli('view', 'config', 'nd');
    for (const i of [2, 3, 4]) expect(spec.stdout).toContain(host(i).ip);
  }, 600_000);

  it('del --force removes a dead master from etcd and the API and rewrites every worker haproxy', async () => {
    await fault(lab, host(3).name, 'down');
    const r = await k.cli('del', 'nd', host(3).name, '--force', '--yes', ...FAST);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('2 member(s) would remain, 2 of them healthy');
    expect(await etcdMembers()).toEqual(names(0, 2));
    expect(await nodeNames()).toEqual(names(0, 1, 2, 4));
    for (const w of [1, 4]) expect(await backends(w), host(w).name).toEqual(names(0, 2));
  }, 600_000);

  it('del of a live master drains, leaves etcd, is reset and cleaned; workers point at the last master', async () => {
    const r = await k.cli('del', 'nd', host(2).ip, '--yes');
    expect(r.code, r.stderr).toBe(0);
    expect(await etcdMembers()).toEqual(names(0));
    expect(await nodeNames()).toEqual(names(0, 1, 4));
    expect(await sh(lab, host(2).name, 'ls /etc/kubernetes /opt/kubeon 2>&1 || true')).toContain(
      'No such file',
    );
    for (const w of [1, 4]) {
      expect(await hostsLine(w)).toBe(`${host(0).ip} apiserver.cluster.local\n`);
      expect(
        await sh(lab, host(w).name, 'test -e /etc/kubernetes/manifests/local-haproxy.yaml || echo gone'),
      ).toBe('gone\n');
    }
  }, 600_000);

  it('del of a worker deletes its Node and cleans it', async () => {
    const r = await k.cli('del', 'nd', 'w2', '--yes');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`removed ${host(4).name}`);
    expect(await nodeNames()).toEqual(names(0, 1));
    expect(await sh(lab, host(4).name, 'test -e /etc/kubernetes || echo clean')).toBe('clean\n');
    expect((await k.cli('view', 'config', 'nd')).stdout).not.toContain(host(4).ip);
  }, 600_000);

  it('refuses to remove the last master, changing nothing', async () => {
    const r = await k.cli('del', 'nd', 'masters', '--yes');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('without a master');
    expect(await etcdMembers()).toEqual(names(0));
    expect(await nodeNames()).toEqual(names(0, 1));
  }, 120_000);
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { fault, hostExec, type Lab, type LabHost, labDown, labUp } from '../../lab/api.js';
import { testLabId } from '../../lab/support/test-id.js';
import { type ClusterSpec, ClusterSpecSchema } from '../../src/cluster/spec.js';
import { Fleet } from '../../src/fleet/fleet.js';
import { HostKeyPins } from '../../src/fleet/hostkeys.js';
import { MemoryLog } from '../../src/fleet/log.js';
import { type HaHealth, haproxyServers, probeHa } from '../../src/ha/health-probe.js';
import { haproxyConfig } from '../../src/render/haproxy.js';
import { type CreateLab, createLab, fileList, NET_FLAGS, sh } from '../create/support.js';
import { parseLoop, requestLoop, startLb } from './lab-lb.js';

/**
 * The updater and external HA modes end to end on one lab: 3 masters and 1 worker (system hosts) and
 * one light host as the user's load balancer.
 * - updater: create while the first master's 6443 is unreachable from the worker (it joins through
 *   the second master, by the boot script); the Service, slice and controller objects; the boot unit;
 *   the probe; once the Service IP answers (the test plays kube-proxy, which the lab has not), the
 *   waiter moves the worker to it; destroy leaves every host as before.
 * - external: a real haproxy on the light host listening on 8443 in front of the masters; every node
 *   resolves the endpoint to it, port 8443 everywhere the endpoint is used, its address in the
 *   apiserver certificate; the probe, also with a master missing from the LB's pool.
 * - kubeon's rendered haproxy.cfg run by Debian's haproxy on the worker in front of the three lab
 *   apiservers: a master cut off, no request fails after the check window; back, in rotation again.
 */

const ID = testLabId('t-ha-modes');
const VERSION = 'v1.31.14';
const LB_PORT = 8443;
const SERVICE_IP = '172.20.0.2';
let lab: Lab;
let k: CreateLab;
let sys: LabHost[];
let lbHost: LabHost;
const before = new Map<string, string[]>();

const snapshot = async () =>
  new Map(await Promise.all(sys.map(async (h) => [h.name, await fileList(lab, h.name)] as const)));
const m = (i: number) => sys[i]!;
const w1 = () => sys[3]!;

beforeAll(async () => {
  await labDown(ID);
  [lab, k] = await Promise.all([labUp({ id: ID, system: 4, light: 1 }), createLab(VERSION)]);
  sys = lab.hosts.filter((h) => h.kind === 'system');
  lbHost = lab.hosts.find((h) => h.kind === 'light')!;
  for (const [n, l] of await snapshot()) before.set(n, l);
}, 900_000);

afterAll(async () => {
  await labDown(ID);
  await k?.close();
}, 300_000);

function createArgs(name: string, ...mode: string[]): string[] {
  return [
    'create',
    name,
    VERSION,
    ...[0, 1, 2].flatMap((i) => ['-m', m(i).ip]),
    '-w',
    w1().ip,
    '--default-pk-file',
    m(0).keyPath,
    '--mirror',
    k.mirror.url,
    ...mode,
    ...NET_FLAGS,
    ...k.imageFlags,
  ];
}

async function probe(name: string): Promise<HaHealth> {
  // The stored spec carries the node names create learnt.
  const spec = ClusterSpecSchema.parse(
    YAML.parse(readFileSync(join(k.home, 'clusters', name, 'cluster.yaml'), 'utf8')),
  );
  const fleet = new Fleet({
    hostKeys: { pins: await HostKeyPins.load(undefined), acceptNew: new Set(), ignore: true },
    log: new MemoryLog(),
    env: {},
  });
  const nodes = [
    ...spec.masters.map((n) => ({ ...n, role: 'master' as const })),
    ...spec.workers.map((n) => ({ ...n, role: 'worker' as const })),
  ].map((n) => ({
    node: { role: n.role, ip: n.ip, name: n.name },
    target: { name: n.name ?? n.ip, host: n.ip, port: 22, user: 'root', privateKeyFile: m(0).keyPath },
  }));
  try {
    return await probeHa({ spec, fleet, nodes });
  } finally {
    await fleet.close();
  }
}

const rejectFirst = () => `-p tcp -d ${m(0).ip} --dport 6443 -j REJECT --reject-with tcp-reset`;
const serviceDnat = () => `-p tcp -d ${SERVICE_IP} --dport 6443 -j DNAT --to-destination ${m(2).ip}:6443`;
const block = (h: LabHost, cluster: string) =>
  sh(lab, h.name, `grep -A1 -xF '# BEGIN kubeon ${cluster}' /etc/hosts | tail -1`);
const kubectl = (q: string) => sh(lab, m(0).name, `kubectl --kubeconfig /etc/kubernetes/admin.conf ${q}`);

async function until<T>(what: string, f: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`${what}: still ${JSON.stringify(v)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe('updater mode', () => {
  it('creates the cluster with the first master unreachable from the worker', async () => {
    await sh(lab, w1().name, `iptables -I OUTPUT ${rejectFirst()}`);
    const r = await k.cli(...createArgs('upd', '--lb-mode', 'updater'));
    expect(r.stderr).toContain('cluster "upd" is ready');
    expect(r.code).toBe(0);
    // The boot script skipped the first master and kubeadm joined through the second.
    expect(await block(w1(), 'upd')).toBe(`${m(1).ip} apiserver.cluster.local\n`);
    const unit = 'kubeon-apiserver-startup.service';
    expect(await sh(lab, w1().name, `systemctl is-enabled ${unit}; systemctl is-active ${unit}`)).toBe(
      'enabled\nactive\n',
    );
    expect(await sh(lab, w1().name, 'systemctl is-active kubeon-apiserver-wait-upd.service')).toBe(
      'active\n',
    );
    for (const h of sys.slice(0, 3)) expect(await block(h, 'upd')).toBe(`${h.ip} apiserver.cluster.local\n`);

    expect(await kubectl('-n kube-system get service apiserver -o jsonpath={.spec.clusterIP}')).toBe(
      SERVICE_IP,
    );
    expect(
      await kubectl('-n kube-system get deployment kubeon-apiserver-updater -o jsonpath={.spec.replicas}'),
    ).toBe('2');
    expect(
      await kubectl("-n kube-system get roles kubeon-apiserver-updater -o jsonpath='{.rules[*].verbs}'"),
    ).not.toContain('*');
    const slice = await kubectl(
      "-n kube-system get endpointslice apiserver -o jsonpath='{.endpoints[*].addresses[0]}'",
    );
    expect(slice.split(' ').sort()).toEqual(
      sys
        .slice(0, 3)
        .map((h) => h.ip)
        .sort(),
    );

    const p = await probe('upd');
    expect(p.mode).toBe('updater');
    expect(p.masters.every((x) => x.inRotation)).toBe(true);
    expect(p.workers).toEqual([
      expect.objectContaining({
        node: w1().name,
        route: 'master',
        resolvesTo: m(1).ip,
        reaches: [m(1).name],
        ok: true,
      }),
    ]);
  }, 1_200_000);

  it('moves the worker to the Service IP once it answers, and the probe sees it', async () => {
    // The lab has no kube-proxy: this rule does its job for the Service, towards one apiserver.
    await sh(lab, w1().name, `iptables -t nat -A OUTPUT ${serviceDnat()}`);
    await until(
      'hosts block',
      () => block(w1(), 'upd'),
      (b) => b === `${SERVICE_IP} apiserver.cluster.local\n`,
      30_000,
    );
    const p = await probe('upd');
    expect(p.workers[0]).toMatchObject({ route: 'service', resolvesTo: SERVICE_IP, ok: true });
    expect(p.workers[0]!.reaches.sort()).toEqual(
      sys
        .slice(0, 3)
        .map((h) => h.name)
        .sort(),
    );
    expect(p.ok).toBe(true);
  }, 120_000);

  it('destroy leaves every host as it was', async () => {
    await sh(
      lab,
      w1().name,
      `iptables -D OUTPUT ${rejectFirst()}; iptables -t nat -D OUTPUT ${serviceDnat()}`,
    );
    const r = await k.cli('destroy', 'upd', '--yes');
    expect(r.code, r.stderr).toBe(0);
    const after = await snapshot();
    for (const h of sys) expect(after.get(h.name), h.name).toEqual(before.get(h.name));
    expect(
      await sh(lab, w1().name, 'systemctl list-units --all --plain --no-legend "kubeon-*" | wc -l'),
    ).toBe('0\n');
  }, 600_000);
});

describe('external mode', () => {
  it(`creates the cluster behind a haproxy on ${LB_PORT}: port and address everywhere the endpoint is used`, async () => {
    await startLb(lab, lbHost, LB_PORT, sys.slice(0, 3));
    const r = await k.cli(...createArgs('ext', '--lb-ip', lbHost.ip, '--lb-port', String(LB_PORT)));
    expect(r.stderr).toContain('cluster "ext" is ready');
    expect(r.code).toBe(0);
    for (const h of sys) expect(await block(h, 'ext'), h.name).toBe(`${lbHost.ip} apiserver.cluster.local\n`);
    expect(
      await kubectl('-n kube-system get configmap kubeadm-config -o jsonpath={.data.ClusterConfiguration}'),
    ).toContain(`controlPlaneEndpoint: apiserver.cluster.local:${LB_PORT}`);
    for (const h of sys)
      expect(await sh(lab, h.name, "grep -h 'server:' /etc/kubernetes/kubelet.conf")).toContain(
        `https://apiserver.cluster.local:${LB_PORT}`,
      );
    expect(
      await sh(
        lab,
        m(0).name,
        'openssl x509 -in /etc/kubernetes/pki/apiserver.crt -noout -ext subjectAltName',
      ),
    ).toContain(`IP Address:${lbHost.ip}`);
    expect(readFileSync(join(k.home, 'clusters', 'ext', 'kubeconfig'), 'utf8')).toContain(
      `server: https://${lbHost.ip}:${LB_PORT}`,
    );
    const p = await probe('ext');
    expect(p.mode).toBe('external');
    expect(p.endpoint).toBe(`apiserver.cluster.local:${LB_PORT}`);
    expect(p.masters.map((x) => x.inRotation)).toEqual([true, true, true]);
    expect(p.workers).toEqual([expect.objectContaining({ route: 'lb', resolvesTo: lbHost.ip, ok: true })]);
  }, 1_200_000);

  it('the probe names a master the load balancer does not reach', async () => {
    await startLb(lab, lbHost, LB_PORT, sys.slice(0, 2));
    const p = await probe('ext');
    expect(p.ok).toBe(false);
    expect(p.masters.map((x) => x.inRotation)).toEqual([true, true, false]);
    expect(p.problems).toContain(`master ${m(2).name} (${m(2).ip}) is not in rotation`);
    await startLb(lab, lbHost, LB_PORT, sys.slice(0, 3));
  }, 120_000);

  it("kubeon's haproxy.cfg in front of the three apiservers: no failed request after the check window, and a master comes back", async () => {
    const cfg = haproxyConfig({
      spec: { name: 'ext', controlPlane: { port: 6443 } } as ClusterSpec,
      masters: sys.slice(0, 3).map((h) => ({ name: h.name, ip: h.ip })),
    });
    const w = w1().name;
    const start = await hostExec(
      lab,
      w,
      [
        'bash',
        '-c',
        'cat > /tmp/kh.cfg && { nohup haproxy -db -f /tmp/kh.cfg >/tmp/kh.log 2>&1 & echo $! > /tmp/kh.pid; }',
      ],
      {
        input: cfg,
      },
    );
    expect(start.code, start.stderr).toBe(0);
    // Empty until haproxy listens.
    const stats = async () =>
      haproxyServers((await hostExec(lab, w, ['curl', '-fsS', 'http://127.0.0.1:8404/stats;csv'])).stdout);
    await until('all masters up', stats, (s) => [...s.values()].filter(Boolean).length === 3, 20_000);
    // One request every 100 ms for 20 s through 127.0.0.1:6443, verified against the cluster CA.
    const loop = hostExec(lab, w, requestLoop('https://127.0.0.1:6443/readyz', 20));
    await new Promise((r) => setTimeout(r, 4000));
    const cut = Date.now();
    await fault(lab, m(2).name, 'down');
    let rows: ReturnType<typeof parseLoop>;
    try {
      rows = parseLoop((await loop).stdout);
    } catch (err) {
      // The master comes back whatever happened, so the destroy below finds every host.
      await fault(lab, m(2).name, 'up');
      throw err;
    }
    const failed = rows.filter((r) => !r.ok);
    const window = failed.length ? Math.max(...failed.map((r) => r.t)) - cut : 0;
    console.log(
      `haproxy: ${rows.length} requests, ${failed.length} failed, last failure ${window} ms after the cut`,
    );
    const downStats = await stats();
    await fault(lab, m(2).name, 'up');
    // inter 1s, fall 2, timeout check 2s: out of rotation within ~4 s; none fails after that, and
    // requests went on after it (each takes 100-200 ms with curl's start on a loaded machine).
    expect(window).toBeLessThan(6000);
    expect(rows.filter((r) => r.t > cut + 6000).length).toBeGreaterThan(20);
    expect(downStats.get(m(2).name)).toBe(false);

    await until('the master back in rotation', stats, (s) => s.get(m(2).name) === true, 30_000);
    const served = async () => {
      const csv = await sh(lab, w, "curl -fsS 'http://127.0.0.1:8404/stats;csv'");
      const head = csv.split('\n')[0]!.replace(/^# /, '').split(',');
      const row = csv
        .split('\n')
        .find((l) => l.startsWith(`kube-apiserver,${m(2).name},`))!
        .split(',');
      return Number(row[head.indexOf('stot')]);
    };
    const n0 = await served();
    await sh(
      lab,
      w,
      'for _ in 1 2 3 4 5 6; do curl -sf -o /dev/null --cacert /etc/kubernetes/pki/ca.crt https://127.0.0.1:6443/readyz; done',
    );
    expect(await served()).toBeGreaterThan(n0);
    await sh(lab, w, 'kill "$(cat /tmp/kh.pid)"; rm -f /tmp/kh.cfg /tmp/kh.pid /tmp/kh.log');
  }, 180_000);

  it('destroy leaves every host as it was', async () => {
    const r = await k.cli('destroy', 'ext', '--yes');
    expect(r.code, r.stderr).toBe(0);
    const after = await snapshot();
    for (const h of sys) expect(after.get(h.name), h.name).toEqual(before.get(h.name));
  }, 600_000);
});

import './support.js';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostExec, type Lab, labDown, labUp } from '../../lab/api.js';
import { testLabId } from '../../lab/support/test-id.js';
import type { ClusterSpec } from '../../src/cluster/spec.js';
import { type ClusterPaths, Store } from '../../src/cluster/store.js';
import { validateSpec } from '../../src/cluster/validate.js';
import { Fleet } from '../../src/fleet/fleet.js';
import { HostKeyPins } from '../../src/fleet/hostkeys.js';
import { MemoryLog } from '../../src/fleet/log.js';
import { raw, script } from '../../src/fleet/script.js';
import type { FleetTarget } from '../../src/fleet/types.js';
import { NODE_CERTS_SCRIPT, nodeInventory, readCaCerts } from '../../src/pki/inventory.js';
import { parseKubeconfig } from '../../src/pki/kubeconfig.js';
import type { MasterTarget } from '../../src/pki/operations.js';
import { placeFiles, readPlacement } from '../../src/pki/placement.js';
import { ensureClusterPki } from '../../src/pki/store.js';
import { kubeon } from '../cli/harness.js';

/**
 * kubeon's PKI on three plain lab hosts: placed over SSH by the fleet (files, owners, modes), then
 * used by a real three-member etcd (Debian etcd-server 3.4) with client and peer certificate
 * authentication, and read back the way `kubeon certs --nodes` does it (renew: kubeadm.lab.test.ts).
 */

const ID = testLabId('t-pki-etcd');
const VERSION = 'v1.31.2';
const ETCD_DATA = '/var/lib/kubeon-pki-test-etcd';
const NINETY_NINE_YEARS_S = 99 * 365.25 * 86_400;

let lab: Lab;
let work: string;
let spec: ClusterSpec;
let fleet: Fleet;
let log: MemoryLog;
let masters: MasterTarget[];
let clusterPaths: ClusterPaths;
const paths = () => clusterPaths;
/** PIDs (in each host's PID namespace) of the daemons this test started, to stop exactly those. */
const started: { host: string; pid: string }[] = [];

async function sh(host: string, text: string, input?: string) {
  return hostExec(lab, host, ['bash', '-euo', 'pipefail', '-c', text], input === undefined ? {} : { input });
}

async function mustSh(host: string, text: string, input?: string): Promise<string> {
  const r = await sh(host, text, input);
  if (r.code !== 0) throw new Error(`${host}: ${text.split('\n')[0]}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Starts a daemon in the host's namespaces, detached, and remembers its PID. */
async function daemon(host: string, argv: string, logFile: string): Promise<void> {
  const pid = (await mustSh(host, `${argv} >${logFile} 2>&1 </dev/null & echo $!`)).trim();
  started.push({ host, pid });
}

function etcdctl(host: string, cert: string, key: string, cacert = '/etc/kubernetes/pki/etcd/ca.crt') {
  const endpoints = lab.hosts.map((h) => `https://${h.ip}:2379`).join(',');
  return sh(
    host,
    `ETCDCTL_API=3 etcdctl --endpoints=${endpoints} --cacert=${cacert} --cert=${cert} --key=${key} --dial-timeout=3s --command-timeout=5s endpoint health 2>&1`,
  );
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'kubeon-pki-lab-'));
  await labDown(ID);
  lab = await labUp({ id: ID, light: 3 });
  spec = validateSpec({
    name: 'labpki',
    version: VERSION,
    ssh: { defaults: { user: 'root', privateKeyFile: lab.hosts[0]!.keyPath } },
    masters: lab.hosts.map((h) => ({ ip: h.ip, name: h.name })),
  }).spec;
  // Registered like a real cluster, so `kubeon certs --nodes` reaches the hosts too.
  const store = new Store(join(work, 'home'));
  await store.writeSpec(spec);
  clusterPaths = await store.ensureClusterDirs(spec.name);
  copyFileSync(lab.knownHostsPath, clusterPaths.knownHosts);
  log = new MemoryLog();
  fleet = new Fleet({
    hostKeys: { pins: await HostKeyPins.load(clusterPaths.knownHosts), acceptNew: new Set(), ignore: false },
    log,
    env: {},
  });
  masters = lab.hosts.map((h, index) => {
    const target: FleetTarget = {
      name: h.name,
      host: h.ip,
      port: h.sshPort,
      user: 'root',
      privateKeyFile: h.keyPath,
    };
    return { node: { name: h.name, ip: h.ip }, target, index };
  });
  await ensureClusterPki(
    paths(),
    spec,
    VERSION,
    masters.map((m) => m.node),
    {
      now: new Date(),
      who: { user: 'ops', host: 'ctl' },
    },
  );
}, 300_000);

afterAll(async () => {
  for (const { host, pid } of started)
    await sh(host, `kill ${pid} 2>/dev/null || true`).catch(() => undefined);
  await fleet?.close();
  await labDown(ID);
  rmSync(work, { recursive: true, force: true });
}, 120_000);

describe('placement on plain hosts', () => {
  it("puts each master's files under /etc/kubernetes with kubeadm's modes, owned by root", async () => {
    for (const m of masters) {
      const files = await readPlacement(paths().pki, spec, VERSION, m.node, { kubelet: m.index === 0 });
      await placeFiles(fleet, m.target, files, work);
      const listing = await mustSh(
        m.node.name,
        `find /etc/kubernetes -type f -printf '%p %u:%g %m\\n' | sort; find /etc/kubernetes -type d -printf '%p %m\\n'`,
      );
      const got = new Map(
        listing
          .trim()
          .split('\n')
          .map((l) => [l.split(' ')[0]!, l.split(' ').slice(1).join(' ')]),
      );
      for (const f of files) {
        expect(got.get(f.path), f.path).toBe(`root:root ${f.mode.toString(8)}`);
        const sum = (await mustSh(m.node.name, `sha256sum < ${f.path}`)).split(' ')[0];
        expect(sum, f.path).toBe(createHash('sha256').update(f.content).digest('hex'));
      }
      for (const d of ['/etc/kubernetes/pki', '/etc/kubernetes/pki/etcd']) expect(got.get(d)).toBe('755');
      expect(files.filter((f) => f.mode === 0o644).every((f) => f.path.endsWith('.crt'))).toBe(true);
      expect(got.has('/etc/kubernetes/kubelet.conf')).toBe(m.index === 0);
      expect([...got.keys()].filter((p) => p.includes('.stage') || p.includes('.tmp'))).toEqual([]);
    }
    expect(readFileSync(join(paths().pki, 'ca.key'), 'utf8')).toMatch(/PRIVATE KEY/);
  });
});

describe('a real three-member etcd cluster on the placed certificates', () => {
  beforeAll(async () => {
    const cluster = lab.hosts.map((h) => `${h.name}=https://${h.ip}:2380`).join(',');
    const p = '/etc/kubernetes/pki/etcd';
    for (const h of lab.hosts) {
      await mustSh(h.name, `rm -rf ${ETCD_DATA}; mkdir -p -m 0700 ${ETCD_DATA}`);
      await daemon(
        h.name,
        [
          'etcd',
          `--name=${h.name}`,
          `--data-dir=${ETCD_DATA}`,
          `--listen-client-urls=https://${h.ip}:2379,https://127.0.0.1:2379`,
          `--advertise-client-urls=https://${h.ip}:2379`,
          `--listen-peer-urls=https://${h.ip}:2380`,
          `--initial-advertise-peer-urls=https://${h.ip}:2380`,
          `--initial-cluster=${cluster}`,
          '--initial-cluster-token=kubeon-pki-test',
          '--initial-cluster-state=new',
          '--client-cert-auth=true',
          `--trusted-ca-file=${p}/ca.crt`,
          `--cert-file=${p}/server.crt`,
          `--key-file=${p}/server.key`,
          '--peer-client-cert-auth=true',
          `--peer-trusted-ca-file=${p}/ca.crt`,
          `--peer-cert-file=${p}/peer.crt`,
          `--peer-key-file=${p}/peer.key`,
        ].join(' '),
        '/var/log/kubeon-pki-test-etcd.log',
      );
    }
    const deadline = Date.now() + 90_000;
    for (;;) {
      const r = await etcdctl('l001', `${p}/healthcheck-client.crt`, `${p}/healthcheck-client.key`);
      if (r.code === 0) break;
      if (Date.now() > deadline) {
        const logs = await sh('l001', 'tail -n 20 /var/log/kubeon-pki-test-etcd.log');
        throw new Error(`etcd did not become healthy: ${r.stdout}\n${logs.stdout}`);
      }
      await new Promise((res) => setTimeout(res, 1000));
    }
  }, 180_000);

  it('answers endpoint health on all three members with the healthcheck-client certificate', async () => {
    for (const h of lab.hosts) {
      const r = await etcdctl(
        h.name,
        '/etc/kubernetes/pki/etcd/healthcheck-client.crt',
        '/etc/kubernetes/pki/etcd/healthcheck-client.key',
      );
      expect(r.code, r.stdout).toBe(0);
      for (const peer of lab.hosts) expect(r.stdout).toContain(`https://${peer.ip}:2379 is healthy`);
    }
  });

  it('answers endpoint health with the apiserver-etcd-client certificate', async () => {
    const r = await etcdctl(
      'l002',
      '/etc/kubernetes/pki/apiserver-etcd-client.crt',
      '/etc/kubernetes/pki/apiserver-etcd-client.key',
    );
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout.match(/is healthy/g)).toHaveLength(3);
  });

  it('formed its membership over TLS peer links', async () => {
    const r = await sh(
      'l003',
      'ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt ' +
        '--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key member list',
    );
    expect(r.code, r.stderr).toBe(0);
    for (const h of lab.hosts)
      expect(r.stdout).toContain(`${h.name}, https://${h.ip}:2380, https://${h.ip}:2379`);
  });

  it("refuses a client certificate from another cluster's CA", async () => {
    const foreign = join(work, 'foreign');
    await ensureClusterPki(
      { pki: join(foreign, 'pki'), kubeconfig: join(foreign, 'kubeconfig') },
      { ...spec, name: 'foreign', pki: { ...spec.pki, keyAlgorithm: 'ECDSA-P256' } },
      VERSION,
      [masters[0]!.node],
      { now: new Date(), who: { user: 'ops', host: 'ctl' } },
    );
    const src = join(foreign, 'pki', 'nodes', 'l001', 'pki', 'etcd');
    await mustSh(
      'l001',
      'umask 077; mkdir -p /root/foreign; cat > /root/foreign/hc.crt',
      readFileSync(join(src, 'healthcheck-client.crt'), 'utf8'),
    );
    await mustSh(
      'l001',
      'umask 077; cat > /root/foreign/hc.key',
      readFileSync(join(src, 'healthcheck-client.key'), 'utf8'),
    );
    const r = await etcdctl('l001', '/root/foreign/hc.crt', '/root/foreign/hc.key');
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toMatch(/is healthy/);
    expect(r.stdout.match(/is unhealthy/g)).toHaveLength(3);
    // etcd says why: the client certificate does not chain to its trusted CA.
    const logs = await mustSh('l001', 'cat /var/log/kubeon-pki-test-etcd.log');
    expect(logs).toMatch(/rejected connection from .*certificate signed by unknown authority/);
  });
});

describe('kubeon certs on the masters', () => {
  it('reads every placed certificate back, public parts only, each with 99 years left', async () => {
    const results = await fleet.run(
      masters.map((m) => m.target),
      script('read certificates', raw(NODE_CERTS_SCRIPT)),
    );
    const cas = await readCaCerts(paths().pki);
    const now = new Date();
    for (const [i, r] of results.entries()) {
      expect(r.error).toBeUndefined();
      expect(r.stdout).not.toMatch(/PRIVATE KEY/);
      const rows = nodeInventory(masters[i]!.node.name, r.stdout, cas, now);
      const names = rows.map((x) => x.name).sort();
      expect(names).toEqual(
        [
          'admin.conf',
          'apiserver',
          'apiserver-etcd-client',
          'apiserver-kubelet-client',
          'ca',
          'controller-manager.conf',
          'etcd/ca',
          'etcd/healthcheck-client',
          'etcd/peer',
          'etcd/server',
          'front-proxy-ca',
          'front-proxy-client',
          ...(i === 0 ? ['kubelet.conf'] : []),
          'scheduler.conf',
          'super-admin.conf',
        ].sort(),
      );
      for (const row of rows) {
        expect(row.residualSeconds, row.name).toBeGreaterThanOrEqual(NINETY_NINE_YEARS_S);
        expect(row.signer, row.name).not.toBe('unknown');
      }
    }
  });

  it('reads kubelet.conf after kubelet took over its rotated certificate, without the key beside it', async () => {
    const conf = join(paths().pki, 'nodes', 'l001', 'kubelet.conf');
    const k = parseKubeconfig(readFileSync(conf, 'utf8'))!;
    // What kubeadm's kubelet-finalize leaves: the kubeconfig names a file holding certificate and key.
    await mustSh(
      'l001',
      'umask 077; mkdir -p /var/lib/kubelet/pki; cat > /var/lib/kubelet/pki/kubelet-client-current.pem',
      `${k.certPem}${k.keyPem}`,
    );
    await mustSh(
      'l001',
      "sed -i -e 's#client-certificate-data:.*#client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem#' -e 's#client-key-data:.*#client-key: /var/lib/kubelet/pki/kubelet-client-current.pem#' /etc/kubernetes/kubelet.conf",
    );
    const [r] = await fleet.run([masters[0]!.target], script('read certificates', raw(NODE_CERTS_SCRIPT)));
    expect(r!.stdout).not.toMatch(/PRIVATE KEY/);
    const rows = nodeInventory('l001', r!.stdout, await readCaCerts(paths().pki), new Date());
    expect(rows.find((x) => x.name === 'kubelet.conf')).toMatchObject({
      subject: 'O=system:nodes, CN=system:node:l001',
      signer: 'ca',
    });
  });

  it("shows them with kubeon certs --nodes -o json, next to the control machine's copies", async () => {
    const {
      code,
      stdout: out,
      stderr: err,
    } = await kubeon(['--home', join(work, 'home'), 'certs', spec.name, '--nodes', '-o', 'json'], {
      HOME: work,
    });
    expect(code, err).toBe(0);
    const rows = JSON.parse(out) as { where: string; name: string; residualSeconds: number }[];
    const where = (w: string) => rows.filter((r) => r.where === w).length;
    // Control: 3 CAs, 7 leaves and 4 kubeconfigs per master, kubelet.conf of the first, its own.
    expect(where('control')).toBe(3 + 3 * 7 + 3 * 4 + 1 + 1);
    // Each master: 3 CAs, 7 leaves, 4 kubeconfigs, and kubelet.conf on the first.
    expect([where('l001'), where('l002'), where('l003')]).toEqual([15, 14, 14]);
    for (const r of rows)
      expect(r.residualSeconds, `${r.where} ${r.name}`).toBeGreaterThanOrEqual(NINETY_NINE_YEARS_S);
  });
});

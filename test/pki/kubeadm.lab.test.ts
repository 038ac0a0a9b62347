import './support.js';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { hostExec, type Lab, labDown, labUp } from '../../lab/api.js';
import { installStandins } from '../../lab/standins/install.js';
import { testLabId } from '../../lab/support/test-id.js';
import type { ClusterSpec } from '../../src/cluster/spec.js';
import { type ClusterPaths, Store } from '../../src/cluster/store.js';
import { validateSpec } from '../../src/cluster/validate.js';
import { Fleet } from '../../src/fleet/fleet.js';
import { HostKeyPins } from '../../src/fleet/hostkeys.js';
import { MemoryLog } from '../../src/fleet/log.js';
import type { FleetTarget } from '../../src/fleet/types.js';
import { kubeadmApiVersion, kubeadmPkiConfig } from '../../src/pki/kubeadm.js';
import { parseKubeconfig } from '../../src/pki/kubeconfig.js';
import { type PlacedFile, placeFiles, readPlacement } from '../../src/pki/placement.js';
import { waitReadyz } from '../../src/pki/renew.js';
import { ensureClusterPki } from '../../src/pki/store.js';
import { kubeon } from '../cli/harness.js';
import { run } from './support.js';

/**
 * kubeadm (the lab's strict stand-in, on system hosts with systemd, kubelet and containerd
 * stand-ins and a real etcd) given kubeon's PKI: init and two control-plane joins keep every placed
 * file, the API servers serve kubeon's certificate, the control machine's kubeconfig works, and
 * `kubeon certs renew` rolls new certificates through kubelet's static pod restarts.
 */

const ID = testLabId('t-pki-kubeadm');
const VERSION = 'v1.31.14';
const ENDPOINT = 'apiserver.cluster.local';

let lab: Lab;
let work: string;
let spec: ClusterSpec;
let paths: ClusterPaths;
const placed = new Map<string, PlacedFile[]>();

const ip = (name: string) => lab.hosts.find((h) => h.name === name)!.ip;

async function sh(host: string, text: string, input?: string) {
  return hostExec(lab, host, ['bash', '-euo', 'pipefail', '-c', text], input === undefined ? {} : { input });
}

async function mustSh(host: string, text: string, input?: string): Promise<string> {
  const r = await sh(host, text, input);
  if (r.code !== 0)
    throw new Error(`${host}: ${text.split('\n')[0]}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function kubeadmConfig(host: string): string {
  const cluster = {
    apiVersion: kubeadmApiVersion(VERSION),
    kind: 'ClusterConfiguration',
    kubernetesVersion: VERSION,
    controlPlaneEndpoint: `${ENDPOINT}:6443`,
    networking: { podSubnet: '10.244.0.0/16', serviceSubnet: spec.network.serviceCIDR },
    ...kubeadmPkiConfig(spec, VERSION),
  };
  const init = {
    apiVersion: kubeadmApiVersion(VERSION),
    kind: 'InitConfiguration',
    localAPIEndpoint: { advertiseAddress: ip(host) },
    nodeRegistration: {
      name: host,
      criSocket: 'unix:///run/containerd/containerd.sock',
      kubeletExtraArgs: [{ name: 'node-ip', value: ip(host) }],
    },
  };
  const kubelet = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    cgroupDriver: 'systemd',
  };
  return [init, cluster, kubelet].map((d) => YAML.stringify(d, { version: '1.1' })).join('---\n');
}

/** SHA-256 of the certificate an API server presents on ip:6443. */
function servedFingerprint(address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: address, port: 6443, rejectUnauthorized: false, servername: ENDPOINT });
    s.on('secureConnect', () => {
      const raw = s.getPeerCertificate().raw;
      s.end();
      resolve(createHash('sha256').update(raw).digest('hex'));
    });
    s.on('error', reject);
  });
}

function fingerprintOf(pem: string): string {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return createHash('sha256').update(der).digest('hex');
}

/**
 * Node names through the real kubectl and the control machine's kubeconfig. Raw GETs, because the
 * API server stand-in does not serve the discovery documents `kubectl get` starts with.
 */
async function nodeNames(): Promise<string[]> {
  const { stdout } = await run(
    '/usr/bin/kubectl',
    ['--kubeconfig', paths.kubeconfig, 'get', '--raw', '/api/v1/nodes'],
    { env: { PATH: '/usr/bin:/bin', HOME: work }, timeout: 30_000 },
  );
  return (JSON.parse(stdout) as { items: { metadata: { name: string } }[] }).items
    .map((n) => n.metadata.name)
    .sort();
}

async function cli(...argv: string[]) {
  const r = await kubeon(['--home', join(work, 'home'), ...argv], { HOME: work });
  return { code: r.code, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'kubeon-pki-kubeadm-'));
  await labDown(ID);
  lab = await labUp({ id: ID, system: 3 });
  spec = validateSpec({
    name: 'kadm',
    version: VERSION,
    ssh: { defaults: { user: 'root', privateKeyFile: lab.hosts[0]!.keyPath } },
    masters: lab.hosts.map((h) => ({ ip: h.ip, name: h.name })),
  }).spec;
  const store = new Store(join(work, 'home'));
  await store.writeSpec(spec);
  paths = await store.ensureClusterDirs(spec.name);
  copyFileSync(lab.knownHostsPath, paths.knownHosts);
  const masters = lab.hosts.map((h) => ({ name: h.name, ip: h.ip }));
  await ensureClusterPki(paths, spec, VERSION, masters, {
    now: new Date(),
    who: { user: 'ops', host: 'ctl' },
  });
  // Joining masters discover the cluster through the first one while their own API server is not up.
  const endpoint = `${ip('s001')} ${ENDPOINT}`;
  await Promise.all(
    lab.hosts.map((h) =>
      installStandins((argv, opts) => hostExec(lab, h.name, argv, opts ?? {}), {
        kubernetes: VERSION,
        containerd: '1.7.27',
        hosts: [endpoint],
      }),
    ),
  );
  const fleet = new Fleet({
    hostKeys: { pins: await HostKeyPins.load(paths.knownHosts), acceptNew: new Set(), ignore: false },
    log: new MemoryLog(),
    env: {},
  });
  try {
    for (const [i, h] of lab.hosts.entries()) {
      const target: FleetTarget = {
        name: h.name,
        host: h.ip,
        port: h.sshPort,
        user: 'root',
        privateKeyFile: h.keyPath,
      };
      const files = await readPlacement(
        paths.pki,
        spec,
        VERSION,
        { name: h.name, ip: h.ip },
        { kubelet: i === 0 },
      );
      await placeFiles(fleet, target, files, paths.dir);
      placed.set(h.name, files);
    }
  } finally {
    await fleet.close();
  }
}, 600_000);

afterAll(async () => {
  await labDown(ID);
  rmSync(work, { recursive: true, force: true });
}, 300_000);

describe("kubeadm on kubeon's PKI", () => {
  let joinCommand = '';

  it('kubeadm init reuses every placed certificate and kubeconfig', async () => {
    await mustSh('s001', 'umask 077; cat > /root/kubeadm.yaml', kubeadmConfig('s001'));
    const out = await mustSh('s001', 'kubeadm init --config /root/kubeadm.yaml 2>&1');
    const m = /kubeadm join \S+ --token (\S+) \\\n\s+--discovery-token-ca-cert-hash (\S+)/.exec(out);
    expect(m, out).not.toBeNull();
    joinCommand = `kubeadm join ${ip('s001')}:6443 --token ${m![1]} --discovery-token-ca-cert-hash ${m![2]} --control-plane`;
    for (const f of placed.get('s001')!) {
      if (f.path.endsWith('/kubelet.conf')) continue;
      const now = await mustSh('s001', `cat ${f.path}`);
      expect(now, f.path).toBe(f.content);
    }
  }, 300_000);

  it('control-plane joins keep the placed files too, one master at a time', async () => {
    for (const host of ['s002', 's003']) {
      await mustSh(host, `${joinCommand} --apiserver-advertise-address ${ip(host)} --node-name ${host} 2>&1`);
      for (const f of placed.get(host)!) {
        expect(await mustSh(host, `cat ${f.path}`), `${host}:${f.path}`).toBe(f.content);
      }
    }
  }, 300_000);

  it("every API server serves kubeon's certificate and the control kubeconfig works with kubectl", async () => {
    const k = parseKubeconfig(readFileSync(paths.kubeconfig, 'utf8'))!;
    const creds = { caPem: k.caPem!, certPem: k.certPem!, keyPem: k.keyPem!, servername: ENDPOINT };
    for (const h of lab.hosts) {
      // A joined master's API server comes up a moment after `kubeadm join` returns.
      expect(await waitReadyz(h.ip, creds, { timeoutMs: 120_000, intervalMs: 1000 }), h.name).toBe(true);
      const crt = placed.get(h.name)!.find((f) => f.path === '/etc/kubernetes/pki/apiserver.crt')!;
      expect(await servedFingerprint(h.ip)).toBe(fingerprintOf(crt.content));
    }
    expect(await nodeNames()).toEqual(['s001', 's002', 's003']);
  });

  it('kubeon certs --nodes shows 99 years everywhere', async () => {
    const { code, out, err } = await cli('certs', spec.name, '--nodes', '-o', 'json');
    expect(code, err).toBe(0);
    const rows = JSON.parse(out) as { where: string; name: string; residualSeconds: number }[];
    for (const r of rows.filter((x) => x.name !== 'kubelet.conf')) {
      expect(r.residualSeconds, `${r.where} ${r.name}`).toBeGreaterThanOrEqual(99 * 365.25 * 86_400);
    }
    expect(new Set(rows.map((r) => r.where))).toEqual(new Set(['control', 's001', 's002', 's003']));
  });

  it('kubeon certs renew --nodes re-issues, places and restarts that master through kubelet', async () => {
    const before = await Promise.all(lab.hosts.map((h) => servedFingerprint(h.ip)));
    const { code, err } = await cli(
      'certs',
      spec.name,
      'renew',
      '--nodes',
      'name=s002',
      '--readyz-timeout',
      '120',
      '--settle',
      '3',
    );
    expect(code, err).toBe(0);
    expect(err).toMatch(/s002: placing[\s\S]*s002: restarting[\s\S]*s002: waiting for \/readyz/);
    for (const [i, h] of lab.hosts.entries()) {
      const local = readFileSync(join(paths.pki, 'nodes', h.name, 'pki', 'apiserver.crt'), 'utf8');
      const served = await servedFingerprint(h.ip);
      expect(served, h.name).toBe(fingerprintOf(local));
      if (h.name === 's002') expect(served, h.name).not.toBe(before[i]);
      else expect(served, h.name).toBe(before[i]);
    }
    expect(await nodeNames()).toEqual(['s001', 's002', 's003']);
  }, 600_000);

  it('kubeon certs renew goes through every master, one at a time', async () => {
    const before = await Promise.all(lab.hosts.map((h) => servedFingerprint(h.ip)));
    const { code, err } = await cli('certs', spec.name, 'renew', '--readyz-timeout', '120', '--settle', '3');
    expect(code, err).toBe(0);
    expect(err).toMatch(
      /s001: placing[\s\S]*s001: waiting for \/readyz[\s\S]*s002: placing[\s\S]*s002: waiting for \/readyz[\s\S]*s003: placing/,
    );
    for (const [i, h] of lab.hosts.entries()) {
      const local = readFileSync(join(paths.pki, 'nodes', h.name, 'pki', 'apiserver.crt'), 'utf8');
      const served = await servedFingerprint(h.ip);
      expect(served, h.name).not.toBe(before[i]);
      expect(served, h.name).toBe(fingerprintOf(local));
    }
    expect(await nodeNames()).toEqual(['s001', 's002', 's003']);
  }, 600_000);
});

// Fan-out distribution over real OpenSSH sshds in lab hosts: node-to-node copies with a temporary,
// restricted key; a node that disappears mid-run; cleanup after success and failure.
import 'reflect-metadata';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fault, hostExec, type Lab, labDown, labUp } from '../../lab/api.js';
import { testLabId } from '../../lab/support/test-id.js';
import { Fleet } from '../../src/fleet/fleet.js';
import { HostKeyPins } from '../../src/fleet/hostkeys.js';
import { MemoryLog } from '../../src/fleet/log.js';
import type { FleetTarget } from '../../src/fleet/types.js';
import {
  type BundleFile,
  type DistributeEvent,
  distribute,
  type NodeBundle,
} from '../../src/phases/distribute.js';

const ID = testLabId('t-art-dist');
const VERSION = 'v1.31.14';
let lab: Lab;
let work: string;
let files: BundleFile[];

function target(name: string): FleetTarget {
  const h = lab.hosts.find((x) => x.name === name)!;
  // l008 refuses root: it is reached as the sudo user, so the key lands in that user's authorized_keys.
  return h.refusesRoot
    ? {
        name,
        host: h.ip,
        port: 22,
        user: h.sudoUser,
        sudoPassword: h.sudoPassword,
        privateKeyFile: h.keyPath,
      }
    : { name, host: h.ip, port: 22, user: 'root', privateKeyFile: h.keyPath };
}

async function fleetOf(): Promise<Fleet> {
  return new Fleet({
    hostKeys: { pins: await HostKeyPins.load(lab.knownHostsPath), acceptNew: new Set(), ignore: false },
    env: { HOME: work },
    log: new MemoryLog(),
    connectTimeoutMs: 5000,
    keepaliveMs: 3000,
    retry: { attempts: 2, baseMs: 200, capMs: 500 },
  });
}

function bundles(names: string[]): NodeBundle[] {
  return names.map((n) => ({ target: target(n), files }));
}

async function sh(host: string, cmd: string): Promise<string> {
  const r = await hostExec(lab, host, ['sh', '-c', cmd]);
  return r.stdout;
}

/** No fan-out key or staging directory left anywhere on the host. */
async function expectNoLeftovers(host: string): Promise<void> {
  expect(
    await sh(host, 'cat /root/.ssh/authorized_keys /home/*/.ssh/authorized_keys 2>/dev/null'),
  ).not.toContain('kubeon-fanout-');
  expect(await sh(host, 'ls -d /var/tmp/kubeon-fanout-* 2>/dev/null || true')).toBe('');
}

const all = () => lab.hosts.map((h) => h.name);

beforeAll(async () => {
  await labDown(ID);
  lab = await labUp({ id: ID, light: 8, refuseRoot: ['l008'] });
  work = mkdtempSync(join(tmpdir(), 'kubeon-dist-'));
  const make = (name: string, bytes: number, mode: number): BundleFile => {
    const data = randomBytes(bytes);
    const path = join(work, name);
    writeFileSync(path, data);
    return { name, path, bytes, mode, sha256: createHash('sha256').update(data).digest('hex') };
  };
  files = [
    make('kubelet', 3 << 20, 0o755),
    make('kubeadm', 200_000, 0o755),
    make('cni-plugins.tgz', 50_000, 0o644),
  ];
}, 300_000);

afterAll(async () => {
  await labDown(ID);
}, 300_000);

describe('artifact fan-out', () => {
  it('seeds two nodes, lets nodes feed nodes, verifies and installs, and removes the key', async () => {
    const fleet = await fleetOf();
    const events: DistributeEvent[] = [];
    const res = await distribute({
      fleet,
      version: VERSION,
      bundles: bundles(all()),
      scratchDir: work,
      seeds: 2,
      knownHosts: readFileSync(lab.knownHostsPath, 'utf8'),
      onEvent: (e) => events.push(e),
    });
    await fleet.close();
    expect(res.nodes.filter((n) => n.error)).toEqual([]);
    expect(res.controlCopies).toBe(2);
    expect(res.peerCopies).toBe(6);
    expect(res.nodes.find((n) => n.node === 'l008')!.via).toBe('peer');
    expect(res.cleanupFailed).toEqual([]);
    for (const h of all()) {
      const sums = await sh(h, `cd /opt/kubeon/${VERSION} && sha256sum * && stat -c '%n %a' *`);
      for (const f of files) {
        expect(sums, h).toContain(`${f.sha256}  ${f.name}`);
        expect(sums, h).toContain(`${f.name} ${f.mode.toString(8)}`);
      }
      await expectNoLeftovers(h);
    }

    // Everything is in place now: a second run sends nothing.
    const again = await fleetOf();
    const second = await distribute({
      fleet: again,
      version: VERSION,
      bundles: bundles(all()),
      scratchDir: work,
    });
    await again.close();
    expect(second.nodes.every((n) => n.via === 'present' && n.skipped === files.length)).toBe(true);
    expect(second.controlCopies + second.peerCopies).toBe(0);
  });

  it('carries on when a node disappears mid-run, reports it, and cleans the key everywhere it can', async () => {
    for (const h of all()) await sh(h, `rm -rf /opt/kubeon`);
    // Installing fails on l003 (its /opt/kubeon is a file): a failure after the key went out.
    await sh('l003', 'touch /opt/kubeon');
    const fleet = await fleetOf();
    let downed = false;
    const res = await distribute({
      fleet,
      version: VERSION,
      bundles: bundles(all()),
      scratchDir: work,
      seeds: 1,
      stepTimeoutMs: 60_000,
      onEvent: (e) => {
        if (e.kind === 'seeded' && !downed) {
          downed = true;
          void fault(lab, 'l006', 'down');
        }
      },
    });
    await fleet.close();
    await fault(lab, 'l006', 'up');
    const byNode = new Map(res.nodes.map((n) => [n.node, n]));
    expect(byNode.get('l006')!.error).toBeDefined();
    expect(byNode.get('l003')!.error?.message).toMatch(/install artifact bundle/);
    for (const h of all().filter((x) => x !== 'l006' && x !== 'l003')) {
      expect(byNode.get(h)!.error, h).toBeUndefined();
      expect(await sh(h, `sha256sum /opt/kubeon/${VERSION}/kubelet`)).toContain(files[0]!.sha256);
    }
    expect(res.cleanupFailed).toEqual(['l006']);
    for (const h of all().filter((x) => x !== 'l006')) await expectNoLeftovers(h);
    // l006 kept its entry (it was unreachable), limited by expiry-time; the next run clears it.
    expect(await sh('l006', 'cat /root/.ssh/authorized_keys')).toMatch(/expiry-time="\d{12}Z",command=/);
    await sh('l003', 'rm -f /opt/kubeon');
    const again = await fleetOf();
    const next = await distribute({
      fleet: again,
      version: VERSION,
      bundles: bundles(all()),
      scratchDir: work,
    });
    await again.close();
    expect(next.nodes.filter((n) => n.error)).toEqual([]);
    for (const h of all()) await expectNoLeftovers(h);
  });
});

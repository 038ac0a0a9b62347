import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { type Lab, labDown, labUp } from '../../lab/api.js';
import type { CallEntry } from '../../lab/standins/lib/calllog.js';
import { testLabId } from '../../lab/support/test-id.js';
import { verifySnapshot } from '../../src/etcd/snapshot.js';
import { type CreateLab, createLab, NET_FLAGS, sh } from '../create/support.js';

/**
 * `kubeon upgrade` against the stand-ins' kubeadm upgrade policy: one master and two workers on 1.30,
 * a skip of two minors refused before anything is touched, a dry run that changes nothing, then the
 * upgrade to 1.31 interrupted after the first worker batch and finished by the same command. The
 * order of operations comes from the stand-ins' call logs; certificates are still 100-year ones.
 */

const ID = testLabId('t-upgrade');
const FROM = 'v1.30.14';
const TO = 'v1.31.14';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let lab: Lab;
let k: CreateLab;

beforeAll(async () => {
  await labDown(ID);
  [lab, k] = await Promise.all([labUp({ id: ID, system: 3 }), createLab(FROM, TO)]);
  const [m, w1, w2] = lab.hosts;
  const r = await k.cli(
    'create',
    'up',
    FROM,
    '-m',
    m!.ip,
    '-w',
    w1!.ip,
    '-w',
    w2!.ip,
    '--default-pk-file',
    m!.keyPath,
    '--mirror',
    k.mirror.url,
    ...NET_FLAGS,
    ...k.imageFlags,
  );
  if (r.code !== 0) throw new Error(`create failed:\n${r.stderr}`);
}, 900_000);

afterAll(async () => {
  await labDown(ID);
  await k?.close();
}, 300_000);

async function calls(host: string): Promise<CallEntry[]> {
  const text = await sh(lab, host, 'cat /var/log/kubeon-standins/calls.jsonl 2>/dev/null || true');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as CallEntry);
}

const clusterDir = () => join(k.home, 'clusters', 'up');

function state(): {
  status: string;
  kubernetesVersion?: string;
  journal: { phase: string; node?: string; status: string }[];
} {
  return JSON.parse(readFileSync(join(clusterDir(), 'state.json'), 'utf8'));
}

/** kubeon as a process of its own, so it can be interrupted; SIGINT once the workers' phase starts. */
function interruptedUpgrade(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'src/main.ts'),
      '--home',
      k.home,
      'upgrade',
      'up',
      TO,
      '--batch',
      '1',
      '-o',
      'json',
    ],
    { env: k.env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    // The runner starts the first batch right after announcing the phase: the signal lands inside
    // that batch, which finishes, and the next one never starts.
    if (!sent && stdout.includes(`"event":"phase-start","phase":"upgrade-workers@${TO}"`)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('kubeon upgrade', () => {
  it('refuses a skip of two minors before touching anything, and a dry run changes nothing', async () => {
    const before = readFileSync(join(clusterDir(), 'state.json'), 'utf8');
    const skip = await k.cli('upgrade', 'up', 'v1.37.1');
    expect(skip.code).toBe(2);
    expect(skip.stderr).toContain('v1.37.1 skips 6 minor(s), and kubeadm upgrades one minor at a time');
    expect(skip.stderr).toContain('upgrade through 1.31 then 1.32');
    const dry = await k.cli('upgrade', 'up', TO, '--dry-run');
    expect(dry.stderr).toContain(
      `upgrade "up" ${FROM} -> ${TO}: 1 master one at a time, 2 workers in batches of 1`,
    );
    expect(dry.stderr).toContain(`kubeadm upgrade apply ${TO} --certificate-renewal=false`);
    expect(dry.stderr).toContain('nothing was changed on any node');
    expect(dry.code).toBe(0);
    expect(readFileSync(join(clusterDir(), 'state.json'), 'utf8')).toBe(before);
    expect(existsSync(join(clusterDir(), 'backups'))).toBe(false);
    for (const h of lab.hosts) {
      expect(await sh(lab, h.name, 'kubeadm version -o short')).toBe(`${FROM}\n`);
      expect((await calls(h.name)).filter((c) => c.event.startsWith('upgrade-'))).toEqual([]);
    }
  }, 300_000);

  it('upgrades one minor in order, continues after an interrupt mid-workers, keeps 100-year certificates', async () => {
    const [m, w1, w2] = lab.hosts.map((h) => h.name) as [string, string, string];
    const first = await interruptedUpgrade();
    expect(first.stderr).toContain('interrupted by SIGINT');
    expect(first.code).toBe(130);
    const mid = state();
    expect(mid.status).toBe('upgrading');
    const workersDone = mid.journal.filter((e) => e.phase === `upgrade-workers@${TO}` && e.status === 'done');
    expect(workersDone.map((e) => e.node)).toEqual([w1]);
    expect(
      mid.journal.some((e) => e.phase === `upgrade-apply@${TO}` && e.node === m && e.status === 'done'),
    ).toBe(true);
    // The snapshot was taken before anything changed, on the control machine, and is whole.
    const backups = readdirSync(join(clusterDir(), 'backups'));
    expect(backups).toHaveLength(1);
    expect((await verifySnapshot(join(clusterDir(), 'backups', backups[0]!))).ok).toBe(true);
    expect(await sh(lab, w2, 'kubelet --version')).toBe(`Kubernetes ${FROM}\n`);

    const second = await k.cli('upgrade', 'up', TO);
    expect(second.stderr).toContain(`cluster "up" runs Kubernetes ${TO} on every node`);
    expect(second.code).toBe(0);
    // Resumed: the snapshot was not taken again.
    expect(readdirSync(join(clusterDir(), 'backups'))).toHaveLength(1);

    const [cm, c1, c2] = await Promise.all([calls(m), calls(w1), calls(w2)]);
    const at = (c: CallEntry) => Date.parse(c.time);
    const applies = cm.filter((c) => c.tool === 'kubeadm' && c.event === 'call' && c.argv?.[1] === 'apply');
    expect(applies).toHaveLength(1);
    expect(applies[0]!.version).toBe(TO);
    expect(applies[0]!.argv).toContain('--certificate-renewal=false');
    const applyDone = cm.find((c) => c.event === 'upgrade-apply-done')!;
    expect(applyDone.certificateRenewal).toBe(false);
    const drained = cm.filter((c) => c.event === 'drained').map((c) => c.node);
    expect(drained).toEqual([m, w1, w2]);
    for (const [name, log] of [
      [w1, c1],
      [w2, c2],
    ] as const) {
      const nodeUpgrades = log.filter((c) => c.event === 'upgrade-node-start');
      // Each worker once: the interrupted run's finished batch was not redone.
      expect(nodeUpgrades).toHaveLength(1);
      expect(nodeUpgrades[0]!.version).toBe(TO);
      expect(
        log.find((c) => c.tool === 'kubeadm' && c.event === 'call' && c.argv?.[1] === 'node')!.argv,
      ).toContain('--certificate-renewal=false');
      const drainedAt = at(cm.find((c) => c.event === 'drained' && c.node === name)!);
      expect(at(applyDone)).toBeLessThan(drainedAt);
      expect(drainedAt).toBeLessThan(at(nodeUpgrades[0]!));
      const newKubelet = log.find((c) => c.tool === 'kubelet' && c.version === TO)!;
      expect(at(log.find((c) => c.event === 'upgrade-node-done')!)).toBeLessThan(at(newKubelet));
    }
    // w1's batch finished before w2 was drained.
    expect(at(c1.find((c) => c.tool === 'kubelet' && c.version === TO)!)).toBeLessThan(
      at(cm.find((c) => c.event === 'drained' && c.node === w2)!),
    );

    const nodes = await sh(lab, m, 'kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes');
    for (const n of [m, w1, w2])
      expect(nodes).toMatch(new RegExp(`^${n}\\s+Ready\\s+\\S+\\s+\\S+\\s+${TO}$`, 'm'));
    const spec = YAML.parse(readFileSync(join(clusterDir(), 'cluster.yaml'), 'utf8')) as { version: string };
    expect(spec.version).toBe(TO);
    expect(state()).toMatchObject({ status: 'running', kubernetesVersion: TO });

    const ends = await sh(
      lab,
      m,
      'find /etc/kubernetes/pki -name \'*.crt\' | sort | while read -r f; do openssl x509 -noout -enddate -in "$f" | sed "s|^notAfter=|$f |"; done',
    );
    const lines = ends.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(10);
    for (const l of lines) {
      const date = Date.parse(l.slice(l.indexOf(' ') + 1));
      expect((date - Date.now()) / (365.25 * 24 * 3600e3), l).toBeGreaterThanOrEqual(99);
    }

    const again = await k.cli('upgrade', 'up', TO);
    expect(again.stderr).toContain(`already runs ${TO}: nothing to do`);
  }, 900_000);
});

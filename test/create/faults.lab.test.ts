import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fault, hostExec, type Lab, labDown, labUp } from '../../lab/api.js';
import type { CallEntry } from '../../lab/standins/lib/calllog.js';
import { testLabId } from '../../lab/support/test-id.js';
import { checkVersionSupported } from '../../src/artifacts/catalog.js';
import { calicoManifestUrl } from '../../src/artifacts/manifest.js';
import { fetchPhase } from '../../src/phases/create/artifacts.js';
import { kubeconfigPhase, readyPhase } from '../../src/phases/create/cluster.js';
import { factsPhase } from '../../src/phases/create/facts.js';
import { preflightPhase } from '../../src/phases/create/preflight.js';
import type { ProgressEvent } from '../../src/phases/progress.js';
import { type CreateLab, createLab, fileList, NET_FLAGS, sh } from './support.js';

/**
 * Kubernetes 1.30 (kubeadm v1beta3), one master and one worker, created through a run of faults, one
 * attempt each, every attempt stopping at a later phase boundary: the mirror failing during the
 * fetch, sshd killed on the worker, Ctrl-C in the middle of a phase, the worker cut off the network,
 * the CNI manifest failing to apply. Each re-run is plain `kubeon create NAME`; from the journal,
 * the progress events (`-o json`) and the stand-ins' call logs, none redoes a node's finished phase.
 *
 * The boundary is exact: `KUBEON_TEST_STOP_AFTER_PHASE` makes kubeon stop itself (SIGSTOP) once a
 * phase is journaled; the test breaks something and lets the real run continue (SIGCONT).
 */

const ID = testLabId('t-create-faults');
const VERSION = 'v1.30.14';
const NAME = 'faults';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Phases that run on every attempt by design (facts, checks, the Ready wait). */
const ALWAYS = new Set(
  [factsPhase, preflightPhase, fetchPhase, readyPhase, kubeconfigPhase]
    .filter((p) => p.always)
    .map((p) => p.id),
);
let lab: Lab;
let k: CreateLab;

beforeAll(async () => {
  await labDown(ID);
  [lab, k] = await Promise.all([labUp({ id: ID, system: 2 }), createLab(VERSION)]);
}, 600_000);

afterAll(async () => {
  await labDown(ID);
  await k?.close();
}, 300_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const master = () => lab.hosts[0]!;
const worker = () => lab.hosts[1]!;

interface Entry {
  phase: string;
  node?: string;
  status: string;
}

async function journal(): Promise<Entry[]> {
  const path = join(k.home, 'clusters', NAME, 'state.json');
  return (JSON.parse(await readFile(path, 'utf8')) as { journal: Entry[] }).journal;
}

const doneIn = (j: Entry[], phase: string) =>
  j.filter((e) => e.phase === phase && e.status === 'done').map((e) => e.node);

async function calls(host: string): Promise<CallEntry[]> {
  const text = await sh(lab, host, 'cat /var/log/kubeon-standins/calls.jsonl 2>/dev/null || true');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as CallEntry);
}

const count = async (host: string, tool: string, event: string) =>
  (await calls(host)).filter((c) => c.tool === tool && c.event === event).length;

interface Attempt {
  code: number | null;
  stderr: string;
  events: ProgressEvent[];
}

/** kubeon as its own process (it may stop itself), progress as JSON lines. */
function attempt(args: string[], stopAfter?: string) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'src/main.ts'), '--home', k.home, '-o', 'json', ...args],
    {
      cwd: ROOT,
      env: { ...k.env, ...(stopAfter ? { KUBEON_TEST_STOP_AFTER_PHASE: stopAfter } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<Attempt>((resolve) =>
    child.on('close', (code) =>
      resolve({
        code,
        stderr,
        events: stdout
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as ProgressEvent),
      }),
    ),
  );
  /** Resolves once kubeon has stopped itself at the boundary (state T in /proc). */
  const stopped = async () => {
    const end = Date.now() + 300_000;
    for (;;) {
      const stat = await readFile(`/proc/${child.pid}/stat`, 'utf8').catch(() => '');
      if (/^\d+ \(.*\) T /.test(stat)) return;
      if (!stat || child.exitCode !== null) throw new Error(`kubeon ended before the boundary:\n${stderr}`);
      if (Date.now() > end) throw new Error(`kubeon never reached the boundary:\n${stderr}`);
      await sleep(100);
    }
  };
  return { child, done, stopped };
}

/**
 * What an attempt ran again although the journal before it said done: a node's phase (a node
 * event), or a control-machine phase (its start). Phases that run every time are left out.
 */
function redone(before: Entry[], a: Attempt): string[] {
  const done = new Set(
    before
      .filter((e) => e.status === 'done' && !ALWAYS.has(e.phase))
      .map((e) => `${e.phase}@${e.node ?? ''}`),
  );
  const ran = a.events.flatMap((e) =>
    e.event === 'node' ? [`${e.phase}@${e.node}`] : e.event === 'phase-start' ? [`${e.phase}@`] : [],
  );
  return ran.filter((r) => done.has(r));
}

const failedIn = (a: Attempt) =>
  a.events.flatMap((e) => (e.event === 'node' && e.status === 'failed' ? [`${e.phase}@${e.node}`] : []));

/**
 * Temporary files, fan-out keys and script processes a kubeon run leaves on a node while it works.
 * A temporary directory whose owner (the sshd session that made it) is still alive is not a leftover:
 * it is the cut-off run's, whose session the node has not yet seen end; the next connection after
 * that session ends sweeps it (src/fleet/sweep.ts). One whose owner is gone is a leak.
 */
async function leftovers(host: string): Promise<string> {
  const files = await sh(
    lab,
    host,
    [
      'for d in /tmp/.kubeon-*; do [ -d "$d" ] || continue',
      '  o=$(cat "$d/owner" 2>/dev/null) || o=',
      '  if [ -n "$o" ] && [ -d "/proc/$o" ]; then continue; fi',
      '  echo "$d"',
      'done',
      'ls -d /var/tmp/kubeon-fanout-* 2>/dev/null || true',
      'grep -h kubeon-fanout- /root/.ssh/authorized_keys || true',
    ].join('\n'),
  );
  // pgrep never lists itself; a shell around it would match its own command line.
  const procs = await hostExec(lab, host, ['pgrep', '-af', '/tmp/\\.kubeon-']);
  return `${files}${procs.stdout}`;
}

describe('kubeon create through a fault at each phase boundary', () => {
  it('a failing mirror stops the fetch before any node is changed', async () => {
    const [m, w] = [master(), worker()];
    const before = await Promise.all([fileList(lab, m.name), fileList(lab, w.name)]);
    k.mirror.setFaults([{ kind: 'status', status: 503, path: '/github.com/containerd/*' }]);
    const a = await attempt([
      'create',
      NAME,
      VERSION,
      '-m',
      m.ip,
      '-w',
      w.ip,
      '--default-pk-file',
      m.keyPath,
      '--mirror',
      k.mirror.url,
      ...NET_FLAGS,
      ...k.imageFlags,
    ]).done;
    k.mirror.setFaults([]);
    expect(a.code, a.stderr).toBe(1);
    expect(a.stderr).toMatch(/containerd-[0-9.]+-linux-amd64\.tar\.gz/);
    expect(await Promise.all([fileList(lab, m.name), fileList(lab, w.name)])).toEqual(before);
    expect(doneIn(await journal(), 'distribute')).toEqual([]);
  }, 300_000);

  it('sshd killed on the worker after the fan-out: the OS step fails there only', async () => {
    const [m, w] = [master(), worker()];
    const before = await journal();
    const run = attempt(['create', NAME], 'distribute');
    await run.stopped();
    // The listener and every session, so kubeon's open connection drops too.
    await sh(lab, w.name, 'systemctl stop ssh.service; pkill -x sshd || true');
    run.child.kill('SIGCONT');
    const a = await run.done;
    await sh(lab, w.name, 'systemctl start ssh.service');
    expect(a.code, a.stderr).toBe(1);
    expect(redone(before, a)).toEqual([]);
    expect(failedIn(a)).toEqual([`os@${w.name}`]);
    expect(a.stderr).toContain(`${w.name}: prepare the operating system [os]: connection lost before`);
    const j = await journal();
    expect(doneIn(j, 'distribute').sort()).toEqual([m.name, w.name].sort());
    expect(doneIn(j, 'os')).toEqual([m.name]);
  }, 300_000);

  let importsWhenInterrupted = 0;
  it('Ctrl-C in the middle of the image import: exit 130, nothing left on the nodes', async () => {
    const [m, w] = [master(), worker()];
    const before = await journal();
    const run = attempt(['create', NAME], 'kube');
    await run.stopped();
    run.child.kill('SIGCONT');
    // Interrupt once the first archive is in containerd, with more to come.
    const end = Date.now() + 120_000;
    for (;;) {
      importsWhenInterrupted = await count(m.name, 'ctr', 'import');
      if (importsWhenInterrupted > 0) break;
      if (Date.now() > end) throw new Error('no image was imported');
      await sleep(50);
    }
    run.child.kill('SIGINT');
    const a = await run.done;
    expect(a.code, a.stderr).toBe(130);
    expect(a.stderr).toContain('SIGINT: stopping after the running step');
    expect(redone(before, a)).toEqual([]);
    // Only the worker's OS step was left from the last attempt.
    const os = a.events.flatMap((e) => (e.event === 'node' && e.phase === 'os' ? [e.node] : []));
    expect(os).toEqual([w.name]);
    // The running step finished and was journaled; nothing after it began.
    const j = await journal();
    expect(doneIn(j, 'images').sort()).toEqual([m.name, w.name].sort());
    expect(a.events.some((e) => e.event === 'phase-start' && e.phase === 'pki')).toBe(false);
    expect(await count(m.name, 'ctr', 'import')).toBeGreaterThan(importsWhenInterrupted);
    for (const h of [m, w]) expect(await leftovers(h.name), h.name).toBe('');
  }, 300_000);

  it('the worker cut off the network after kubeadm init: its join fails, init stays done', async () => {
    const [m, w] = [master(), worker()];
    const before = await journal();
    const importCalls = [await count(m.name, 'ctr', 'call'), await count(w.name, 'ctr', 'call')];
    const run = attempt(['create', NAME, '--connect-timeout', '3s'], 'init');
    await run.stopped();
    await fault(lab, w.name, 'down');
    run.child.kill('SIGCONT');
    let a: Attempt;
    try {
      a = await run.done;
    } finally {
      await fault(lab, w.name, 'up');
    }
    expect(a.code, a.stderr).toBe(1);
    expect(redone(before, a)).toEqual([]);
    expect(failedIn(a)).toEqual([`join-workers@${w.name}`]);
    expect(a.stderr).toContain(`${w.name}: join the workers [join-workers]: `);
    expect(doneIn(await journal(), 'init')).toEqual([m.name]);
    // The images were not imported again (not even listed: the phase did not run).
    expect([await count(m.name, 'ctr', 'call'), await count(w.name, 'ctr', 'call')]).toEqual(importCalls);
    expect(await count(m.name, 'kubeadm', 'init-start')).toBe(1);
    expect(await count(w.name, 'kubeadm', 'join-start')).toBe(0);
  }, 300_000);

  it('the CNI manifest failing to apply after the join stops create at the CNI', async () => {
    const [m, w] = [master(), worker()];
    const before = await journal();
    // A file where the manifest goes on the master makes its apply fail.
    await sh(lab, m.name, 'mkdir -p /etc/kubeon && echo in-the-way > /etc/kubeon/cni');
    const a = await attempt(['create', NAME]).done;
    await sh(lab, m.name, 'rm /etc/kubeon/cni');
    expect(a.code, a.stderr).toBe(1);
    expect(a.stderr).toContain('"apply the calico manifest" exited with 1');
    expect(redone(before, a)).toEqual([]);
    const j = await journal();
    expect(doneIn(j, 'join-workers')).toEqual([w.name]);
    expect(j.some((e) => e.phase === 'cni' && e.status === 'failed')).toBe(true);
    expect(await count(w.name, 'kubeadm', 'join-start')).toBe(1);
    // The manifest was fetched and verified before any node changed: the re-run takes it from the
    // cache, so a mirror failing it now does not matter.
    const path = new URL(calicoManifestUrl(checkVersionSupported(VERSION).calico)).pathname;
    k.mirror.setFaults([{ kind: 'status', status: 503, path: `/raw.githubusercontent.com${path}` }]);
  }, 300_000);

  it('the last re-run completes without redoing anything', async () => {
    const [m, w] = [master(), worker()];
    // The cut-off run's sshd session on the worker ends once it next writes to the vanished client;
    // until then its directory is live and no sweep may take it. Give it a minute to end, so this run's
    // first contact sweeps it.
    const live = () =>
      sh(
        lab,
        w.name,
        'for d in /tmp/.kubeon-*; do o=$(cat "$d/owner" 2>/dev/null) && [ -d "/proc/$o" ] && echo "$d"; done; true',
      );
    for (let i = 0; i < 60 && (await live()).trim(); i++) await sleep(1000);
    const before = await journal();
    const a = await attempt(['create', NAME]).done;
    k.mirror.setFaults([]);
    expect(a.stderr).toContain(`cluster "${NAME}" is ready`);
    expect(a.code, a.stderr).toBe(0);
    expect(redone(before, a)).toEqual([]);
    // Every node step was found done: skipped on both nodes (init on the master), run on none.
    const ends = new Map(a.events.flatMap((e) => (e.event === 'phase-end' ? [[e.phase, e] as const] : [])));
    for (const [phase, nodes] of [
      ['os', 2],
      ['runtime', 2],
      ['images', 2],
      ['init', 1],
      ['join-workers', 1],
    ] as const)
      expect([ends.get(phase)?.done, ends.get(phase)?.skipped], phase).toEqual([0, nodes]);
    expect(a.events.some((e) => e.event === 'phase-start' && e.phase === 'cni')).toBe(true);
    expect(doneIn(await journal(), 'cni')).toEqual([undefined]);
    expect(await count(m.name, 'kubeadm', 'init-start')).toBe(1);
    expect(await count(w.name, 'kubeadm', 'join-start')).toBe(1);
    // kubeadm v1beta3 below 1.31 (InitConfiguration and ClusterConfiguration).
    expect(await sh(lab, m.name, 'head -1 /etc/kubeon/kubeadm/init.yaml')).toContain(
      'kubeadm.k8s.io/v1beta3',
    );
    for (const h of [m, w]) expect(await leftovers(h.name), h.name).toBe('');
  }, 300_000);
});

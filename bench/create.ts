// `npm run bench:create`: kubeon create of 3 masters + N workers (default 100) on lab system hosts,
// against the stand-ins. kubeon runs as its own process (the built dist/kubeon.js) under
// /usr/bin/time, so its CPU time and peak RSS are its own, not the mirror's, registry's or lab's.
// Prints wall time, kubeon's CPU time, the time kubeon was not waiting on any remote command (wall
// minus the union of every remote step's interval, from the create log), peak RSS and the load.
// Usage: tsx bench/create.ts [--workers 100] [--version v1.31.14] [--cpu-prof DIR]
import 'reflect-metadata';
import { execFileSync, spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { labDown, labUp } from '../lab/api.js';
import { testLabId } from '../lab/support/test-id.js';
import { createLab, NET_FLAGS } from '../test/create/support.js';
import { remoteMs } from './remote-time.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

interface PhaseTime {
  phase: string;
  title: string;
  from: number;
  to?: number;
  done?: number;
  failed?: number;
}

/**
 * Runs the built CLI under /usr/bin/time with `-o json`; resolves with its exit code, stderr, rusage
 * and each phase's interval (from the progress events as they arrive).
 */
function timed(argv: string[], env: NodeJS.ProcessEnv, nodeFlags: string[]) {
  const format = '%e %U %S %M';
  const phases: PhaseTime[] = [];
  return new Promise<{
    code: number;
    stderr: string;
    wall: number;
    cpu: number;
    rssKb: number;
    phases: PhaseTime[];
  }>((resolve, reject) => {
    const p = spawn(
      '/usr/bin/time',
      ['-f', format, 'node', ...nodeFlags, 'dist/kubeon.js', '-o', 'json', ...argv],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let partial = '';
    p.stdout.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const e = (() => {
          try {
            return JSON.parse(line) as {
              event?: string;
              phase?: string;
              title?: string;
              done?: number;
              failed?: number;
            };
          } catch {
            return {};
          }
        })();
        if (e.event === 'phase-start') phases.push({ phase: e.phase!, title: e.title!, from: Date.now() });
        if (e.event === 'phase-end') {
          const t = phases.findLast((x) => x.phase === e.phase && x.to === undefined);
          if (t) Object.assign(t, { to: Date.now(), done: e.done, failed: e.failed });
        }
      }
    });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    p.on('error', reject);
    p.on('close', (code) => {
      const last = stderr.trimEnd().split('\n').pop() ?? '';
      const [wall, user, sys, rss] = last.split(' ').map(Number);
      resolve({ code: code ?? 1, stderr, wall: wall!, cpu: user! + sys!, rssKb: rss!, phases });
    });
  });
}

async function main(): Promise<void> {
  const workers = Number(arg('workers', '100'));
  const version = arg('version', 'v1.31.14');
  const prof = arg('cpu-prof', '');
  execFileSync('node', ['scripts/build.mjs'], { stdio: 'inherit' });
  const id = testLabId('bench-create');
  await labDown(id);
  const tUp = Date.now();
  const [lab, k] = await Promise.all([labUp({ id, system: 3 + workers }), createLab(version)]);
  console.log(
    `lab of ${3 + workers} system hosts and mirror up in ${((Date.now() - tUp) / 1000).toFixed(1)} s`,
  );
  try {
    const ips = lab.hosts.map((h) => h.ip);
    const args = [
      '--home',
      k.home,
      'create',
      'bench',
      version,
      ...ips.slice(0, 3).flatMap((ip) => ['-m', ip]),
      ...ips.slice(3).flatMap((ip) => ['-w', ip]),
      '--default-pk-file',
      lab.hosts[0]!.keyPath,
      '--mirror',
      k.mirror.url,
      ...NET_FLAGS,
      ...k.imageFlags,
    ];
    const load0 = loadavg()[0]!;
    const r = await timed(args, k.env, prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []);
    const load1 = loadavg()[0]!;
    if (r.code !== 0)
      console.log(`create failed (${r.code}); the figures cover the run up to the failure:\n${r.stderr}`);
    const wallMs = r.wall * 1000;
    for (const t of r.phases) {
      const s = t.to === undefined ? 'unfinished' : `${((t.to - t.from) / 1000).toFixed(1)} s`;
      console.log(`  ${t.phase.padEnd(16)} ${s.padStart(10)}  ${t.done ?? 0} done, ${t.failed ?? 0} failed`);
    }
    // The Ready wait only polls the cluster: its sleeps between polls are waiting too, not kubeon's work.
    const end = Date.now();
    const polling = r.phases
      .filter((t) => t.phase === 'ready')
      .map((t): [number, number] => [t.from, t.to ?? end]);
    const logs = join(k.home, 'clusters', 'bench', 'logs');
    const rows = {
      nodes: `3 masters + ${workers} workers (${version})`,
      wall: `${r.wall.toFixed(1)} s`,
      'kubeon CPU (user+system)': `${r.cpu.toFixed(1)} s`,
      'not waiting on remote commands': `${((wallMs - remoteMs(logs, 'create')) / 1000).toFixed(1)} s`,
      '... nor on the Ready wait': `${((wallMs - remoteMs(logs, 'create', polling)) / 1000).toFixed(1)} s`,
      'peak RSS': `${(r.rssKb / 1024).toFixed(0)} MB`,
      'load (1 min) before / after': `${load0.toFixed(1)} / ${load1.toFixed(1)}`,
    };
    for (const [key, v] of Object.entries(rows)) console.log(`${key.padEnd(32)} ${v}`);
  } finally {
    await labDown(id);
    await k.close();
  }
}

await main();

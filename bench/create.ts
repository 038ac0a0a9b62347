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

/** Runs the built CLI under /usr/bin/time; resolves with its exit code, stderr and rusage. */
function timed(argv: string[], env: NodeJS.ProcessEnv, nodeFlags: string[]) {
  const format = '%e %U %S %M';
  return new Promise<{ code: number; stderr: string; wall: number; cpu: number; rssKb: number }>(
    (resolve, reject) => {
      const p = spawn('/usr/bin/time', ['-f', format, 'node', ...nodeFlags, 'dist/kubeon.js', ...argv], {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      p.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      p.on('error', reject);
      p.on('close', (code) => {
        const last = stderr.trimEnd().split('\n').pop() ?? '';
        const [wall, user, sys, rss] = last.split(' ').map(Number);
        resolve({ code: code ?? 1, stderr, wall: wall!, cpu: user! + sys!, rssKb: rss! });
      });
    },
  );
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
    const rows = {
      nodes: `3 masters + ${workers} workers (${version})`,
      wall: `${r.wall.toFixed(1)} s`,
      'kubeon CPU (user+system)': `${r.cpu.toFixed(1)} s`,
      'not waiting on remote commands': `${((wallMs - remoteMs(join(k.home, 'clusters', 'bench', 'logs'), 'create')) / 1000).toFixed(1)} s`,
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

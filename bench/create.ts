// `npm run bench:create`: kubeon create of 3 masters + N workers (default 100) on lab system hosts,
// against the stand-ins. Prints wall time, kubeon's own CPU time, the time kubeon was not waiting on
// any remote command (wall minus the union of every remote step's interval, from the create log), and
// kubeon's peak RSS. Usage: tsx bench/create.ts [--workers 100] [--version v1.31.14]
import 'reflect-metadata';
import { join } from 'node:path';
import { labDown, labUp } from '../lab/api.js';
import { testLabId } from '../lab/support/test-id.js';
import { createLab, NET_FLAGS } from '../test/create/support.js';
import { remoteMs } from './remote-time.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const workers = Number(arg('workers', '100'));
  const version = arg('version', 'v1.31.14');
  const id = testLabId('bench-create');
  await labDown(id);
  const [lab, k] = await Promise.all([labUp({ id, system: 3 + workers }), createLab(version)]);
  try {
    const ips = lab.hosts.map((h) => h.ip);
    const args = [
      'create',
      'bench',
      version,
      ...ips.slice(0, 3).flatMap((ip) => ['-m', ip]),
      ...ips.slice(3).flatMap((ip) => ['-w', ip]),
    ];
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    const r = await k.cli(
      ...args,
      '--default-pk-file',
      lab.hosts[0]!.keyPath,
      '--mirror',
      k.mirror.url,
      ...NET_FLAGS,
    );
    const wallMs = Date.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (r.code !== 0) throw new Error(`create failed (${r.code}):\n${r.stderr}`);
    const notWaiting = wallMs - remoteMs(join(k.home, 'clusters', 'bench', 'logs'), 'create');
    const rows = {
      nodes: `3 masters + ${workers} workers`,
      wall: `${(wallMs / 1000).toFixed(1)} s`,
      'kubeon CPU (user+system)': `${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`,
      'not waiting on remote commands': `${(notWaiting / 1000).toFixed(1)} s`,
      'peak RSS': `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
    };
    for (const [key, v] of Object.entries(rows)) console.log(`${key.padEnd(32)} ${v}`);
  } finally {
    await labDown(id);
    await k.close();
  }
}

await main();

// `npm run bench:upgrade`: kubeon upgrade of 3 masters + N workers (default 20) across one minor on lab
// system hosts, against the stand-ins. The cluster is made first with kubeon create (not timed).
// Prints the upgrade's wall time, kubeon's own CPU time, the time kubeon was not waiting on any
// remote command (from the upgrade log) and the load. Usage:
//   tsx bench/upgrade.ts [--workers 20] [--from v1.30.14] [--to v1.31.14] [--batch N]
import 'reflect-metadata';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { labDown, labUp } from '../lab/api.js';
import { testLabId } from '../lab/support/test-id.js';
import { createLab, NET_FLAGS } from '../test/create/support.js';
import { remoteMs } from './remote-time.js';

function arg(name: string, fallback: string | undefined): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const workers = Number(arg('workers', '20'));
  const from = arg('from', 'v1.30.14')!;
  const to = arg('to', 'v1.31.14')!;
  const batch = arg('batch', undefined);
  const id = testLabId('bench-upgrade');
  await labDown(id);
  const [lab, k] = await Promise.all([labUp({ id, system: 3 + workers }), createLab(from, to)]);
  try {
    const ips = lab.hosts.map((h) => h.ip);
    const created = await k.cli(
      'create',
      'bench',
      from,
      ...ips.slice(0, 3).flatMap((ip) => ['-m', ip]),
      ...ips.slice(3).flatMap((ip) => ['-w', ip]),
      '--default-pk-file',
      lab.hosts[0]!.keyPath,
      '--mirror',
      k.mirror.url,
      ...NET_FLAGS,
      ...k.imageFlags,
    );
    // On a loaded machine a few joins can time out: create continues where it stopped, once.
    const again = created.code === 0 ? created : await k.cli('create', 'bench');
    if (again.code !== 0) throw new Error(`create failed (${again.code}):\n${again.stderr}`);
    const load0 = loadavg()[0]!;
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    const r = await k.cli('upgrade', 'bench', to, ...(batch ? ['--batch', batch] : []));
    const wallMs = Date.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (r.code !== 0) throw new Error(`upgrade failed (${r.code}):\n${r.stderr}`);
    const notWaiting = wallMs - remoteMs(join(k.home, 'clusters', 'bench', 'logs'), 'upgrade');
    const rows = {
      nodes: `3 masters + ${workers} workers, ${from} -> ${to}`,
      wall: `${(wallMs / 1000).toFixed(1)} s`,
      'kubeon CPU (user+system)': `${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`,
      'not waiting on remote commands': `${(notWaiting / 1000).toFixed(1)} s`,
      'load (1 min) before / after': `${load0.toFixed(1)} / ${loadavg()[0]!.toFixed(1)}`,
    };
    for (const [key, v] of Object.entries(rows)) console.log(`${key.padEnd(32)} ${v}`);
  } finally {
    await labDown(id);
    await k.close();
  }
}

await main();

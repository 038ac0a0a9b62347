// `npm run bench:lab`: up/down time and memory of the lab at several sizes (run as root).
// Usage: tsx bench/lab.ts [light:N|system:N ...]   (default: light 10, 100, 300; system 10, 30)
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { cpus } from 'node:os';
import { type Lab, labDown, labUp } from '../lab/api.js';
import { existingNetns } from '../lab/network.js';
import { ensureRootfs } from '../lab/rootfs.js';

const ID = 'bench-lab';

async function meminfoKiB(field: string): Promise<number> {
  const text = await readFile('/proc/meminfo', 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

async function loadavg(): Promise<string> {
  return (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * PSS of the lab's own processes (in its hosts' namespaces, plus nspawn supervisors), in MiB.
 * MemAvailable moves by hundreds of MiB when other people's tests run on the machine; this does not.
 */
async function labPssMiB(lab: Lab): Promise<number> {
  const inodes = new Set<number>();
  for (const h of lab.hosts) inodes.add((await stat(`/run/netns/${h.netns}`)).ino);
  let kib = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const net = await readlink(`/proc/${entry}/ns/net`).catch(() => '');
    const ino = Number(/\[(\d+)\]/.exec(net)?.[1] ?? 0);
    const argv = inodes.has(ino) ? '' : await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (!inodes.has(ino) && !argv.includes(`--machine=klab.${lab.id}.`)) continue;
    const rollup = await readFile(`/proc/${entry}/smaps_rollup`, 'utf8').catch(() => '');
    kib += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
  }
  return kib / 1024;
}

interface Row {
  kind: string;
  n: number;
  up: number;
  down: number;
  mem: number;
  pss: number;
  slab: number;
  load: string;
  clean: boolean;
}

async function measure(kind: 'light' | 'system', n: number): Promise<Row> {
  await labDown(ID);
  await sleep(2000);
  const load = await loadavg();
  const before = await meminfoKiB('MemAvailable');
  const slabBefore = await meminfoKiB('SUnreclaim');
  let t = performance.now();
  const lab = await labUp({ id: ID, [kind]: n });
  const up = (performance.now() - t) / 1000;
  if (lab.hosts.length !== n) throw new Error(`expected ${n} hosts, got ${lab.hosts.length}`);
  // Let system hosts finish booting and memory settle before reading it.
  await sleep(kind === 'system' ? 5000 : 1000);
  const mem = (before - (await meminfoKiB('MemAvailable'))) / 1024;
  // Namespaces, mounts, veths and sockets live in unreclaimable slab, which PSS does not count.
  const slab = ((await meminfoKiB('SUnreclaim')) - slabBefore) / 1024;
  const pss = await labPssMiB(lab);
  t = performance.now();
  await labDown(ID);
  const down = (performance.now() - t) / 1000;
  const clean = (await existingNetns(ID)).length === 0;
  return { kind, n, up, down, mem, pss, slab, load, clean };
}

function parseArgs(argv: string[]): ['light' | 'system', number][] {
  if (argv.length === 0) {
    return [
      ['light', 10],
      ['light', 100],
      ['light', 300],
      ['system', 10],
      ['system', 30],
    ];
  }
  return argv.map((a) => {
    const [kind, n] = a.split(':');
    if ((kind !== 'light' && kind !== 'system') || !Number(n))
      throw new Error(`bad size "${a}": use light:N or system:N`);
    return [kind, Number(n)];
  });
}

const sizes = parseArgs(process.argv.slice(2));
if (sizes.some(([k]) => k === 'system')) await ensureRootfs((m) => console.error(m));
console.log(`machine: ${cpus().length} cores; load average before: ${await loadavg()}`);
const rows: Row[] = [];
try {
  for (const [kind, n] of sizes) {
    const row = await measure(kind, n);
    rows.push(row);
    console.error(`${kind} ${n}: up ${row.up.toFixed(1)} s, down ${row.down.toFixed(1)} s`);
  }
} finally {
  await labDown(ID);
}
console.log(
  '| Hosts | Up | Down | MemAvailable delta | per host | Lab processes PSS + slab delta | per host | Load before | Clean after |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.n} ${r.kind} | ${r.up.toFixed(1)} s | ${r.down.toFixed(1)} s | ${r.mem.toFixed(0)} MiB | ${(r.mem / r.n).toFixed(2)} MiB | ${r.pss.toFixed(0)} + ${r.slab.toFixed(0)} MiB | ${((r.pss + r.slab) / r.n).toFixed(2)} MiB | ${r.load} | ${r.clean ? 'yes' : 'NO'} |`,
  );
}

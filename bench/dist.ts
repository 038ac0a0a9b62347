// `npm run bench:dist`: artifact distribution to lab hosts, fan-out against direct push, with the control
// machine's link to the lab shaped by tc (run as root).
// Usage: tsx bench/dist.ts [--hosts 10,50,100] [--mbit 100] [--mb 50] [--seeds 2] [--modes direct,fan-out]
//
// Model for real networks (S bundle size, N nodes, U control uplink, L node links, s seeds):
//   direct push  T ≈ N·S/U                       (the uplink carries every copy)
//   fan-out      T ≈ s·S/U + ⌈log2(N/s)⌉·S/L      (s copies on the uplink, then holders double per round)
// e.g. N=300, S=300 MB, U=L=1 Gbit/s (125 MB/s): direct ≈ 720 s = 12 min, fan-out ≈ 4.8 s + 8·2.4 s ≈ 24 s.
// In the lab every host shares the machine's two cores, so node-to-node rounds are capped by SSH
// encryption on those cores instead of by L; the table prints the model next to the measurement.
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Lab, labDown, labUp } from '../lab/api.js';
import { Fleet } from '../src/fleet/fleet.js';
import { HostKeyPins } from '../src/fleet/hostkeys.js';
import { MemoryLog } from '../src/fleet/log.js';
import { script, sh } from '../src/fleet/script.js';
import type { FleetTarget } from '../src/fleet/types.js';
import { type BundleFile, distribute } from '../src/phases/distribute.js';

const run = promisify(execFile);
const ID = 'bench-dist';
const VERSION = 'v1.31.14';

interface Args {
  hosts: number[];
  mbit: number;
  mb: number;
  seeds: number;
  modes: ('direct' | 'fan-out')[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = { hosts: [10, 50, 100], mbit: 100, mb: 50, seeds: 2, modes: ['direct', 'fan-out'] };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === '--hosts' && v) args.hosts = v.split(',').map(Number);
    else if (argv[i] === '--mbit' && v) args.mbit = Number(v);
    else if (argv[i] === '--mb' && v) args.mb = Number(v);
    else if (argv[i] === '--seeds' && v) args.seeds = Number(v);
    else if (argv[i] === '--modes' && v) args.modes = v.split(',') as Args['modes'];
    else continue;
    i++;
  }
  return args;
}

async function shape(iface: string, mbit: number): Promise<void> {
  await run('tc', [
    'qdisc',
    'replace',
    'dev',
    iface,
    'root',
    'tbf',
    'rate',
    `${mbit}mbit`,
    'burst',
    '256kb',
    'latency',
    '100ms',
  ]);
}

function bundle(dir: string, mb: number): BundleFile[] {
  // Sizes in the proportions of a real bundle: kubelet and kubeadm dominate.
  const parts: [string, number, number][] = [
    ['kubelet', 0.6, 0o755],
    ['kubeadm', 0.3, 0o755],
    ['cni-plugins.tgz', 0.1, 0o644],
  ];
  return parts.map(([name, share, mode]) => {
    const data = randomBytes(Math.round(mb * share * 1024 * 1024));
    const path = join(dir, name);
    writeFileSync(path, data);
    return { name, path, bytes: data.length, mode, sha256: createHash('sha256').update(data).digest('hex') };
  });
}

interface Row {
  hosts: number;
  mode: 'direct' | 'fan-out';
  seconds: number;
  failed: number;
  control: number;
  peer: number;
  model: number;
}

async function measure(
  lab: Lab,
  files: BundleFile[],
  work: string,
  args: Args,
  fanout: boolean,
): Promise<Row> {
  const targets: FleetTarget[] = lab.hosts.map((h) => ({
    name: h.name,
    host: h.ip,
    port: 22,
    user: 'root',
    privateKeyFile: h.keyPath,
  }));
  const fleet = new Fleet({
    hostKeys: { pins: await HostKeyPins.load(lab.knownHostsPath), acceptNew: new Set(), ignore: false },
    env: { HOME: work },
    log: new MemoryLog(),
    concurrency: 128,
  });
  try {
    // Connections and a clean slate first, so the clock measures the distribution alone.
    await fleet.run(targets, script('clean bench bundle', sh`rm -rf /opt/kubeon`));
    const t = performance.now();
    const res = await distribute({
      fleet,
      version: VERSION,
      bundles: targets.map((target) => ({ target, files })),
      scratchDir: work,
      fanout,
      seeds: args.seeds,
      knownHosts: readFileSync(lab.knownHostsPath, 'utf8'),
    });
    const seconds = (performance.now() - t) / 1000;
    const failures = res.nodes.filter((x) => x.error);
    for (const f of failures.slice(0, 5))
      process.stderr.write(`  ${f.node}: ${f.error!.kind}: ${f.error!.message}\n`);
    const bytes = files.reduce((a, f) => a + f.bytes, 0);
    const uplink = (args.mbit * 1e6) / 8;
    const n = targets.length;
    const model = fanout
      ? (Math.min(args.seeds, n) * bytes) / uplink +
        Math.ceil(Math.log2(Math.max(1, n / args.seeds))) * (bytes / uplink)
      : (n * bytes) / uplink;
    return {
      hosts: n,
      mode: fanout ? 'fan-out' : 'direct',
      seconds,
      failed: res.nodes.filter((x) => x.error).length,
      control: res.controlCopies,
      peer: res.peerCopies,
      model,
    };
  } finally {
    await fleet.close();
  }
}

function table(rows: Row[]): string {
  const head = ['hosts', 'mode', 'seconds', 'model s', 'uplink copies', 'peer copies', 'failed', 'speed-up'];
  const lines = [head];
  for (const r of rows) {
    const direct = rows.find((x) => x.hosts === r.hosts && x.mode === 'direct');
    lines.push([
      String(r.hosts),
      r.mode,
      r.seconds.toFixed(1),
      r.model.toFixed(1),
      String(r.control),
      String(r.peer),
      String(r.failed),
      r.mode === 'fan-out' && direct ? `${(direct.seconds / r.seconds).toFixed(1)}x` : '',
    ]);
  }
  const widths = head.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  return lines
    .map((l) =>
      l
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'kubeon-bench-dist-'));
  const files = bundle(work, args.mb);
  const rows: Row[] = [];
  try {
    for (const n of args.hosts) {
      await labDown(ID);
      const lab = await labUp({ id: ID, light: n });
      await shape(lab.iface, args.mbit);
      for (const mode of args.modes) {
        const row = await measure(lab, files, work, args, mode === 'fan-out');
        rows.push(row);
        process.stderr.write(`${row.hosts} hosts ${row.mode}: ${row.seconds.toFixed(1)} s\n`);
      }
      await labDown(ID);
    }
  } finally {
    await labDown(ID);
    rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write(
    `bundle ${args.mb} MB, control machine link shaped to ${args.mbit} Mbit/s, ${args.seeds} seeds\n${table(rows)}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});

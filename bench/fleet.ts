// The fleet benchmark: kubeon's SSH engine against parallel-ssh/parallel-scp and ansible on lab
// hosts with key auth, printed side by side in one run.
//
//   npm run bench:fleet                       100 and 300 hosts, cp of 100 MB to 50 hosts
//   npm run bench:fleet -- --quick            skips ansible at the largest host count (about 6 min)
//   npm run bench:fleet -- --hosts 20 --cp-hosts 10 --cp-mb 20   a small run
//   --keep                                    leave the lab up afterwards (id t-fleet-bench)
//
// kubeon is measured in a child process (this file with --child), so its peak RSS is its own.
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Lab, labDown, labUp } from '../lab/api.js';
import { renderTable } from '../src/cli/table.js';
import { Fleet } from '../src/fleet/fleet.js';
import { HostKeyPins } from '../src/fleet/hostkeys.js';
import { MemoryLog } from '../src/fleet/log.js';
import { script, sh } from '../src/fleet/script.js';
import type { FleetTarget } from '../src/fleet/types.js';

interface ChildJob {
  kind: 'exec' | 'cp';
  targets: FleetTarget[];
  knownHosts: string;
  file?: string;
  dest?: string;
}

interface ChildReport {
  firstMs: number;
  secondMs?: number;
  failed: number;
  maxRssMb: number;
}

/** Runs inside the child: one fleet, the command (twice for exec, reusing connections), a report. */
async function child(jobPath: string): Promise<void> {
  const job = JSON.parse(readFileSync(jobPath, 'utf8')) as ChildJob;
  const fleet = new Fleet({
    hostKeys: { pins: await HostKeyPins.load(job.knownHosts), acceptNew: new Set(), ignore: false },
    log: new MemoryLog(),
    env: {},
  });
  const report: ChildReport = { firstMs: 0, failed: 0, maxRssMb: 0 };
  let t = performance.now();
  if (job.kind === 'exec') {
    const s = script('hostname', sh`hostname`);
    const first = await fleet.run(job.targets, s);
    report.firstMs = performance.now() - t;
    t = performance.now();
    const second = await fleet.run(job.targets, s);
    report.secondMs = performance.now() - t;
    report.failed = [...first, ...second].filter((r) => r.error).length;
  } else {
    const results = await fleet.put(job.targets, job.file!, job.dest!);
    report.firstMs = performance.now() - t;
    report.failed = results.filter((r) => r.error).length;
  }
  await fleet.close();
  report.maxRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function sh2(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ ms: number; code: number; out: string }> {
  const t = performance.now();
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.on('close', (code) => resolve({ ms: performance.now() - t, code: code ?? 1, out }));
  });
}

async function kubeon(dir: string, job: ChildJob): Promise<ChildReport> {
  const path = join(dir, `job-${randomBytes(3).toString('hex')}.json`);
  writeFileSync(path, JSON.stringify(job), { mode: 0o600 });
  const self = fileURLToPath(import.meta.url);
  const r = await sh2(process.execPath, ['--import', 'tsx', self, '--child', path]);
  const line = r.out.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ChildReport;
  } catch {
    throw new Error(`kubeon child failed: ${r.out.slice(-2000)}`);
  }
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const secs = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? '-' : `${(b / a).toFixed(1)}x`;

async function main(): Promise<void> {
  const counts = arg('--hosts', '100,300').split(',').map(Number);
  const cpHosts = Number(arg('--cp-hosts', '50'));
  const cpMb = Number(arg('--cp-mb', '100'));
  const quick = process.argv.includes('--quick');
  const id = arg('--id', 't-fleet-bench');
  const total = Math.max(...counts, cpHosts);
  const dir = mkdtempSync(join(tmpdir(), 'kubeon-bench-'));
  console.error(`bench: bringing up ${total} light lab hosts (${id})`);
  const lab: Lab = await labUp({ id, light: total });
  const key = lab.hosts[0]!.keyPath;
  const targetsOf = (n: number): FleetTarget[] =>
    lab.hosts
      .slice(0, n)
      .map((h) => ({ name: h.name, host: h.ip, port: 22, user: 'root', privateKeyFile: key }));
  const sshOpts = [
    '-o',
    `UserKnownHostsFile=${lab.knownHostsPath}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `IdentityFile=${key}`,
    '-o',
    'BatchMode=yes',
  ];
  const files = (n: number) => {
    const hosts = join(dir, `hosts-${n}`);
    writeFileSync(
      hosts,
      lab.hosts
        .slice(0, n)
        .map((h) => `root@${h.ip}`)
        .join('\n') + '\n',
    );
    const inv = join(dir, `inventory-${n}.ini`);
    writeFileSync(
      inv,
      `[nodes]\n${lab.hosts
        .slice(0, n)
        .map((h) => `${h.name} ansible_host=${h.ip}`)
        .join('\n')}\n[nodes:vars]\nansible_user=root\nansible_ssh_private_key_file=${key}\n` +
        `ansible_python_interpreter=/usr/bin/python3\nansible_ssh_common_args='-o UserKnownHostsFile=${lab.knownHostsPath} -o StrictHostKeyChecking=yes'\n`,
    );
    return { hosts, inv };
  };
  const ansibleEnv = { ...process.env, ANSIBLE_HOST_KEY_CHECKING: 'True', ANSIBLE_NOCOLOR: '1' };
  const psshOpts = sshOpts.filter((_o, i) => i % 2 === 1).flatMap((o) => ['-O', o]);
  const pssh = (hosts: string, parallel: number) => [
    '-h',
    hosts,
    '-p',
    String(parallel),
    '-t',
    '0',
    ...psshOpts,
  ];

  const execRows: string[][] = [];
  let rss300 = 0;
  for (const n of counts) {
    const f = files(n);
    console.error(`bench: exec hostname on ${n} hosts`);
    const k = await kubeon(dir, { kind: 'exec', targets: targetsOf(n), knownHosts: lab.knownHostsPath });
    rss300 = Math.max(rss300, k.maxRssMb);
    const p = await sh2('parallel-ssh', [...pssh(f.hosts, 100), 'hostname']);
    let a: number | undefined;
    if (!(quick && n === Math.max(...counts))) {
      const r = await sh2(
        'ansible',
        ['all', '-i', f.inv, '-m', 'shell', '-a', 'hostname', '-f', '50', '-o'],
        ansibleEnv,
      );
      a = r.code === 0 ? r.ms : undefined;
      if (r.code !== 0) console.error(`ansible exited ${r.code}: ${r.out.slice(-500)}`);
    }
    if (p.code !== 0) console.error(`parallel-ssh exited ${p.code}: ${p.out.slice(-500)}`);
    execRows.push([
      `exec hostname, ${n} hosts`,
      `${secs(k.firstMs)}${k.failed ? ` (${k.failed} failed)` : ''}`,
      secs(k.secondMs),
      p.code === 0 ? secs(p.ms) : 'failed',
      a === undefined ? (quick && n === Math.max(...counts) ? 'skipped (--quick)' : 'failed') : secs(a),
      ratio(k.firstMs, p.code === 0 ? p.ms : undefined),
      ratio(k.firstMs, a),
      `${k.maxRssMb.toFixed(0)} MB`,
    ]);
  }

  console.error(`bench: cp of ${cpMb} MB to ${cpHosts} hosts`);
  const file = join(dir, 'payload.bin');
  writeFileSync(file, randomBytes(cpMb * 1e6));
  const f = files(cpHosts);
  const tag = randomBytes(3).toString('hex');
  const kc = await kubeon(dir, {
    kind: 'cp',
    targets: targetsOf(cpHosts),
    knownHosts: lab.knownHostsPath,
    file,
    dest: `/opt/bench-k-${tag}.bin`,
  });
  const pc = await sh2('parallel-scp', [...pssh(f.hosts, 50), file, `/opt/bench-p-${tag}.bin`]);
  const ac = await sh2(
    'ansible',
    ['all', '-i', f.inv, '-m', 'copy', '-a', `src=${file} dest=/opt/bench-a-${tag}.bin`, '-f', '50', '-o'],
    ansibleEnv,
  );
  const mbps = (ms: number) => `${((cpMb * cpHosts) / (ms / 1000)).toFixed(0)} MB/s`;
  const cpRow = [
    `cp ${cpMb} MB, ${cpHosts} hosts`,
    `${secs(kc.firstMs)} (${mbps(kc.firstMs)})${kc.failed ? ` ${kc.failed} failed` : ''}`,
    '-',
    pc.code === 0 ? `${secs(pc.ms)} (${mbps(pc.ms)})` : 'failed',
    ac.code === 0 ? `${secs(ac.ms)} (${mbps(ac.ms)})` : 'failed',
    ratio(kc.firstMs, pc.code === 0 ? pc.ms : undefined),
    ratio(kc.firstMs, ac.code === 0 ? ac.ms : undefined),
    `${kc.maxRssMb.toFixed(0)} MB`,
  ];

  const head = [
    'benchmark',
    'kubeon',
    'kubeon 2nd cmd',
    'parallel-ssh/scp',
    'ansible',
    'vs pssh',
    'vs ansible',
    'kubeon peak RSS',
  ];
  console.log(
    renderTable(
      [...execRows, cpRow],
      head.map((header, i) => ({ header, value: (row: string[]) => row[i] ?? '' })),
    ),
  );
  console.log(
    `goals: no slower than parallel-ssh/scp (vs pssh >= 1.0x), >= 5x faster than ansible at 300 hosts, cp >= 1.8x faster than ansible, 2nd command well under 1 s for 300 hosts, peak RSS < 400 MB (largest: ${rss300.toFixed(0)} MB)`,
  );
  if (quick) console.log('--quick: ansible was skipped at the largest host count');
  if (!process.argv.includes('--keep')) await labDown(id);
  rmSync(dir, { recursive: true, force: true });
}

if (process.argv.includes('--child')) {
  await child(process.argv[process.argv.indexOf('--child') + 1]!);
} else {
  await main();
}

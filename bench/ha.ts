// `npm run bench:ha`: a 3-master + 1-worker lab cluster in each HA mode (haproxy, updater, external
// with Debian's haproxy on a light host as the user's LB on 8443); a request every 100 ms from the
// worker through the control-plane endpoint, the first master cut off the network 10 s in. Prints,
// per mode, the longest stretch from the first failed request to the next success, and the failures
// after the health-check window. Then the updater's leader takeover (bench/ha-updater.ts): leader
// death to a new leader mirroring endpoints.
// The lab has no kube-proxy, so the updater's Service IP never answers there: its figure is the boot
// script's fallback (the waiter moving a worker off a dead master, polling every 5 s).
//
//   npx tsx bench/ha.ts [--modes haproxy,updater,external] [--seconds 40] [--version v1.31.14]
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { fault, hostExec, labDown, labUp } from '../lab/api.js';
import { testLabId } from '../lab/support/test-id.js';
import { createLab, NET_FLAGS } from '../test/create/support.js';
import { parseLoop, requestLoop, startLb } from '../test/ha/lab-lb.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const LB_PORT = 8443;
const KILL_AT_MS = 10_000;

/** Longest run of failed requests, from the first failure to the next success, in ms. */
export function longestGap(rows: { t: number; ok: boolean }[]): number {
  let longest = 0;
  let from: number | undefined;
  for (const r of rows) {
    if (!r.ok) from ??= r.t;
    else if (from !== undefined) {
      longest = Math.max(longest, r.t - from);
      from = undefined;
    }
  }
  if (from !== undefined) longest = Math.max(longest, rows.at(-1)!.t - from);
  return longest;
}

async function main(): Promise<void> {
  const modes = arg('modes', 'haproxy,updater,external').split(',');
  const seconds = Number(arg('seconds', '40'));
  const version = arg('version', 'v1.31.14');
  const id = testLabId('bench-ha');
  await labDown(id);
  const [lab, k] = await Promise.all([labUp({ id, system: 4, light: 1 }), createLab(version)]);
  const sys = lab.hosts.filter((h) => h.kind === 'system');
  const lb = lab.hosts.find((h) => h.kind === 'light')!;
  const [m1, m2, m3, w] = sys as [(typeof sys)[0], (typeof sys)[0], (typeof sys)[0], (typeof sys)[0]];
  const lines: string[] = [];
  try {
    for (const mode of modes) {
      const flags =
        mode === 'external' ? ['--lb-ip', lb.ip, '--lb-port', String(LB_PORT)] : ['--lb-mode', mode];
      if (mode === 'external') await startLb(lab, lb, LB_PORT, [m1, m2, m3]);
      const t0 = Date.now();
      const r = await k.cli(
        'create',
        mode,
        version,
        '-m',
        m1.ip,
        '-m',
        m2.ip,
        '-m',
        m3.ip,
        '-w',
        w.ip,
        '--default-pk-file',
        m1.keyPath,
        '--mirror',
        k.mirror.url,
        ...flags,
        ...NET_FLAGS,
        ...k.imageFlags,
      );
      if (r.code !== 0) throw new Error(`create in ${mode} mode failed:\n${r.stderr}`);
      const createS = ((Date.now() - t0) / 1000).toFixed(0);
      const port = mode === 'external' ? LB_PORT : 6443;
      const loop = hostExec(
        lab,
        w.name,
        requestLoop(`https://apiserver.cluster.local:${port}/readyz`, seconds),
      );
      await new Promise((res) => setTimeout(res, KILL_AT_MS));
      const cut = Date.now();
      await fault(lab, m1.name, 'down');
      const rows = parseLoop((await loop).stdout);
      await fault(lab, m1.name, 'up');
      const failed = rows.filter((x) => !x.ok);
      const last = failed.length ? Math.max(...failed.map((x) => x.t)) - cut : 0;
      const line = `${mode}: ${rows.length} requests, ${failed.length} failed, longest gap ${longestGap(rows)} ms, last failure ${last} ms after the cut (create ${createS} s)`;
      console.log(line);
      lines.push(line);
      const d = await k.cli('destroy', mode, '--yes');
      if (d.code !== 0) throw new Error(`destroy of ${mode} failed:\n${d.stderr}`);
    }
  } finally {
    await labDown(id);
    await k.close();
  }
  const load = spawnSync('uptime', { encoding: 'utf8' }).stdout.trim();
  console.log(
    `\n${lines.join('\n')}\nload: ${load}\n\nupdater leader takeover (controller processes against the fake API):`,
  );
  const u = spawnSync('npx', ['tsx', new URL('./ha-updater.ts', import.meta.url).pathname, '--rounds', '3'], {
    stdio: 'inherit',
  });
  if (u.status !== 0) process.exitCode = 1;
}

await main();

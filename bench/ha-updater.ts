// The apiserver-updater's takeover: time from the leader's death to the other replica leading and
// mirroring a change of the live apiservers. Real controller processes (the bundle the pods run)
// against the loopback fake API of test/ha; the Lease timing is the shipped one (names.ts).
//
//   npx tsx bench/ha-updater.ts              3 SIGKILL rounds and 1 SIGTERM round (about 1 min)
//   npx tsx bench/ha-updater.ts --rounds 5
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EndpointSlice, liveAddresses } from '../src/ha/updater/controller/slices.js';
import { LEADER_TIMING } from '../src/ha/updater/names.js';
import { type Replica, startReplica, until, writeBundle } from '../test/ha/controller-process.js';
import { FakeApi, TARGET_PATH } from '../test/ha/fake-api.js';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 3;
// Data in API objects only; nothing connects to these addresses.
const SETS = [
  ['10.0.0.11', '10.0.0.12', '10.0.0.13'],
  ['10.0.0.12', '10.0.0.13'],
];

const dir = await mkdtemp(join(tmpdir(), 'kubeon-bench-updater-'));
const bundle = await writeBundle(dir);
const api = await FakeApi.start({ masters: SETS[0]! });
const mirrored = () => liveAddresses(api.get(TARGET_PATH) as unknown as EndpointSlice).join(',');
const replicas: Replica[] = [];
let n = 0;
const start = () => {
  n += 1;
  const r = startReplica(bundle, `r${n}`, api.env(`r${n}`));
  replicas.push(r);
  return r;
};

const results: { signal: string; leadMs: number; mirrorMs: number }[] = [];
try {
  let leader = start();
  await until('a first leader', () => api.holder() === leader.name, 15_000);
  let follower = start();
  await until('the follower to start', () => / start /.test(follower.output()), 5_000);
  for (let i = 0; i <= rounds; i++) {
    const signal = i < rounds ? 'SIGKILL' : 'SIGTERM';
    // Die at a random point of the renew cycle, as a real crash would.
    await new Promise((r) => setTimeout(r, 1000 + Math.random() * LEADER_TIMING.renewMs));
    const next = SETS[(i + 1) % 2]!;
    const t0 = Date.now();
    leader.proc.kill(signal);
    api.setMasters(next);
    await until('a new leader', () => api.holder() === follower.name, 30_000);
    const leadMs = Date.now() - t0;
    await until('the new leader to mirror', () => mirrored() === [...next].sort().join(','), 10_000);
    const mirrorMs = Date.now() - t0;
    results.push({ signal, leadMs, mirrorMs });
    console.log(
      `round ${i + 1} (${signal}): leader after ${leadMs} ms, endpoints mirrored after ${mirrorMs} ms`,
    );
    leader = follower;
    follower = start();
    await until('the follower to start', () => / start /.test(follower.output()), 5_000);
  }
} finally {
  for (const r of replicas) r.proc.kill('SIGKILL');
  await api.stop();
  await rm(dir, { recursive: true, force: true });
}

const kills = results.filter((r) => r.signal === 'SIGKILL').map((r) => r.mirrorMs);
const term = results.find((r) => r.signal === 'SIGTERM');
console.log(
  `\nleader SIGKILL -> new leader mirroring: min ${Math.min(...kills)} ms, max ${Math.max(...kills)} ms over ${kills.length} rounds` +
    ` (lease ${LEADER_TIMING.leaseSeconds} s, renew ${LEADER_TIMING.renewMs} ms, retry ${LEADER_TIMING.retryMs} ms)`,
);
if (term) console.log(`leader SIGTERM (lease released) -> new leader mirroring: ${term.mirrorMs} ms`);

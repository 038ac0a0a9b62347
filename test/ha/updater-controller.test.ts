import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerBundle } from '../../src/ha/updater/bundle.js';
import type { EndpointSlice } from '../../src/ha/updater/controller/slices.js';
import { liveAddresses } from '../../src/ha/updater/controller/slices.js';
import { LEADER_TIMING } from '../../src/ha/updater/names.js';
import { type Replica, startReplica, until, writeBundle } from './controller-process.js';
import { FakeApi, LEASE_PATH, TARGET_PATH } from './fake-api.js';

// Addresses below are data in API objects; nothing ever connects to them.
const M1 = '10.0.0.11';
const M2 = '10.0.0.12';
const M3 = '10.0.0.13';

const mirrored = (api: FakeApi) => liveAddresses(api.get(TARGET_PATH) as unknown as EndpointSlice).join(',');
const agentOf = (name: string) => `kubeon-apiserver-updater/${name}`;

describe('apiserver-updater controller against a fake API', () => {
  let dir: string;
  let bundle: string;
  let api: FakeApi;
  const replicas: Replica[] = [];
  const start = (name: string) => {
    const r = startReplica(bundle, name, api.env(name));
    replicas.push(r);
    return r;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kubeon-updater-'));
    bundle = await writeBundle(dir);
    api = await FakeApi.start({ masters: [M1, M2, M3], initial: [M1] });
  });

  afterAll(async () => {
    for (const r of replicas) r.proc.kill('SIGKILL');
    await api?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('bundles to one small file with no require of anything but Node built-ins', async () => {
    const text = await controllerBundle();
    expect(text.length).toBeLessThan(64 * 1024);
    const required = [...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!);
    expect(required.length).toBeGreaterThan(0);
    for (const r of required) expect(r).toMatch(/^node:|^(https|fs|os)$/);
  });

  it('takes the lease and mirrors the live apiservers; follows changes; relists after 410', async () => {
    const a = start('a');
    await until('a to lead', () => api.holder() === 'a', 10_000);
    await until('the slice to list all three masters', () => mirrored(api) === [M1, M2, M3].join(','), 5_000);

    api.setMasters([M1, M3]);
    const took = await until('M2 to leave the slice', () => mirrored(api) === [M1, M3].join(','), 5_000);
    expect(took).toBeLessThan(3_000);

    // A watch the server expires with an ERROR 410 event, then a reconnect from a compacted version.
    const watchesBefore = api.watchRequests;
    api.expireWatches();
    await until('a to relist', () => /watch error code=410/.test(a.output()), 5_000);
    api.compact();
    api.dropWatches();
    await until('a to watch again', () => api.watchRequests > watchesBefore + 1, 10_000);
    // The reconnect from the compacted version got 410 too and relisted.
    await until('a second 410', () => a.output().match(/watch error code=410/g)?.length === 2, 5_000);
    api.setMasters([M2, M3]);
    await until('the slice to follow after relisting', () => mirrored(api) === [M2, M3].join(','), 5_000);
    // One log line per change; on a loaded machine the relist may land between two states, so the
    // line is matched by where the slice went, not where it came from.
    expect(a.output()).toMatch(/ mirrored from=[0-9.,]+ to=10\.0\.0\.12,10\.0\.0\.13\n/);
  });

  it('reads a rotated service-account token again after a 401', async () => {
    await api.rotateToken();
    // The leader's next renewal is refused once, then made with the new token.
    await until('a refused request', () => api.unauthorized > 0, 10_000);
    const renewals = api.writes.filter((w) => w.path === LEASE_PATH && w.status === 200).length;
    await until(
      'a renewal with the new token',
      () => api.writes.filter((w) => w.path === LEASE_PATH && w.status === 200).length > renewals,
      10_000,
    );
    expect(api.holder()).toBe('a');
  });

  it('retries a slice write that lost a race (409) with a fresh read', async () => {
    api.conflictOnce(TARGET_PATH);
    api.setMasters([M1, M2, M3]);
    await until(
      'the slice to converge despite the conflict',
      () => mirrored(api) === [M1, M2, M3].join(','),
      5_000,
    );
    const slice = api.writes.filter((w) => w.path === TARGET_PATH);
    expect(slice.some((w) => w.status === 409)).toBe(true);
    expect(slice.at(-1)!.status).toBe(200);
  });

  it('keeps one writer: a second replica follows, and takes over within the lease window when the leader dies', async () => {
    const b = start('b');
    await until('b to start', () => / start identity=b/.test(b.output()), 5_000);
    // b polls the lease every retryMs; give it a few rounds to (not) take it.
    await new Promise((r) => setTimeout(r, 3 * LEADER_TIMING.retryMs));
    expect(api.holder()).toBe('a');

    const a = replicas.find((r) => r.name === 'a')!;
    a.proc.kill('SIGKILL');
    const diedAt = Date.now();
    await until('b to lead', () => api.holder() === 'b', (LEADER_TIMING.leaseSeconds + 6) * 1000);
    const takeover = Date.now() - diedAt;
    expect(takeover).toBeLessThan((LEADER_TIMING.leaseSeconds + (2 * LEADER_TIMING.retryMs) / 1000) * 1000);

    api.setMasters([M1, M2]);
    await until('b to mirror', () => mirrored(api) === [M1, M2].join(','), 5_000);

    // Every successful slice write came from the replica that held the lease at that moment.
    const writes = api.writes.filter((w) => w.path === TARGET_PATH && w.status === 200);
    expect(writes.length).toBeGreaterThan(3);
    for (const w of writes) expect(w.agent).toBe(agentOf(w.holder));
    expect(new Set(writes.map((w) => w.agent))).toEqual(new Set([agentOf('a'), agentOf('b')]));
  }, 60_000);

  it('releases the lease on SIGTERM, so the other replica takes over at once; a lost lease race is a 409, not two leaders', async () => {
    const c = start('c');
    await until('c to start', () => / start identity=c/.test(c.output()), 5_000);
    const b = replicas.find((r) => r.name === 'b')!;
    // c's first attempt at the free lease finds it changed under it; armed before b lets the lease go,
    // since c may take it at once.
    api.conflictOnce(LEASE_PATH, agentOf('c'));
    b.proc.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    const stoppedAt = Date.now();
    expect(b.output()).toMatch(/ released identity=b status=200\n/);
    await until('c to lead', () => api.holder() === 'c', 10_000);
    expect(Date.now() - stoppedAt).toBeLessThan(3 * LEADER_TIMING.retryMs + 1000);
    expect(api.writes.some((w) => w.path === LEASE_PATH && w.status === 409)).toBe(true);
    api.setMasters([M3]);
    await until('c to mirror', () => mirrored(api) === M3, 5_000);
  }, 30_000);
});

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Host } from '../../src/cluster/host.js';
import { Store } from '../../src/cluster/store.js';
import { validateSpec } from '../../src/cluster/validate.js';
import { MemoryLog } from '../../src/fleet/log.js';
import { Journal, parseState } from '../../src/phases/journal.js';
import type { NodeResult, Phase, PhaseContext } from '../../src/phases/phase.js';
import { jsonReporter, type ProgressEvent } from '../../src/phases/progress.js';
import { failureSummary, runPhases } from '../../src/phases/runner.js';

/** The phase runner with synthetic phases and a fleet that must never be used. */

const spec = validateSpec({
  name: 'unit',
  version: 'v1.31.14',
  masters: [{ ip: '10.0.0.1', name: 'm1' }],
  workers: [1, 2, 3, 4, 5].map((i) => ({ ip: `10.0.1.${i}`, name: `w${i}` })),
}).spec;

const hosts: Host[] = [
  ...spec.masters.map((n) => ({ n, role: 'master' as const })),
  ...spec.workers.map((n) => ({ n, role: 'worker' as const })),
].map(({ n, role }, index) => ({
  node: { role, index, ip: n.ip, name: n.name!, labels: {}, ssh: { user: 'root', port: 22 } },
  target: { name: n.name!, host: n.ip, port: 22, user: 'root' },
  facts: {
    hostname: n.name!,
    arch: 'amd64',
    os: { id: 'debian', versionId: '12', family: 'debian', pretty: 'Debian 12' },
    kernel: '6.1',
    init: 'systemd',
    packageManager: 'apt',
    cpus: 2,
    memoryMiB: 4096,
    swapOn: false,
    clockMs: 0,
    machineId: n.ip,
    kube: { etcKubernetes: false },
  },
}));

const noFleet = new Proxy(
  {},
  {
    get: () => () => {
      throw new Error('the fleet must not be used');
    },
  },
);

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kubeon-runner-'));
  store = new Store(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

interface Calls {
  runs: Record<string, string[]>;
  cleanUps: string[];
}

function ctxOf(dryRun = false): PhaseContext<Calls> {
  return {
    spec,
    paths: store.paths(spec.name),
    store,
    env: {},
    fleet: noFleet as PhaseContext['fleet'],
    log: new MemoryLog(),
    hosts,
    data: { runs: {}, cleanUps: [] },
    dryRun,
    signal: new AbortController().signal,
    now: () => new Date('2026-12-03T00:00:00Z'),
    warn: () => {},
    info: () => {},
  };
}

/** A node phase recording which nodes it ran on; `fail` names nodes that fail this time. */
function nodePhase(
  id: string,
  opts: { batch?: number; fail?: Set<string>; role?: 'worker' } = {},
): Phase<Calls> {
  return {
    id,
    title: `phase ${id}`,
    batch: opts.batch,
    nodes: (c) => (opts.role ? c.hosts.filter((h) => h.node.role === opts.role) : c.hosts),
    plan: (_c, h) => [`do ${id} on ${h?.node.name}`],
    async run(c, hs): Promise<NodeResult[]> {
      c.data.runs[id] = [...(c.data.runs[id] ?? []), ...hs.map((h) => h.node.name)];
      return hs.map((h) =>
        opts.fail?.has(h.node.name)
          ? { node: h.node.name, error: { kind: 'failed', message: `${id} broke` }, tail: 'last line' }
          : { node: h.node.name },
      );
    },
    async cleanUp(c) {
      c.data.cleanUps.push(id);
    },
  };
}

async function run(
  phases: Phase<Calls>[],
  ctx = ctxOf(),
  extra: { fromPhase?: string; onlyPhase?: string } = {},
) {
  const events: ProgressEvent[] = [];
  const journal = await Journal.open(store, spec.name);
  const outcome = await runPhases({
    ctx,
    journal,
    phases,
    report: jsonReporter((s) => events.push(JSON.parse(s) as ProgressEvent)),
    abort: new AbortController(),
    ...extra,
  });
  return { outcome, events, ctx, journal };
}

describe('phase runner', () => {
  it('journals every node of every phase in state.json, in batches', async () => {
    const { outcome, ctx } = await run([nodePhase('a'), nodePhase('b', { batch: 2, role: 'worker' })]);
    expect(outcome.failures).toEqual([]);
    expect(ctx.data.runs.b).toEqual(['w1', 'w2', 'w3', 'w4', 'w5']);
    const state = parseState(readFileSync(store.paths(spec.name).state, 'utf8'), 'state.json');
    expect(state.journal.filter((e) => e.phase === 'a' && e.status === 'done').map((e) => e.node)).toEqual(
      hosts.map((h) => h.node.name),
    );
    expect(state.journal.filter((e) => e.phase === 'b').length).toBe(5);
  });

  it('stops at the failed batch, cleans up, summarises, and a re-run redoes only what failed', async () => {
    const first = await run([
      nodePhase('a'),
      nodePhase('b', { batch: 2, role: 'worker', fail: new Set(['w3']) }),
      nodePhase('c'),
    ]);
    // Batch [w1, w2] passed, [w3, w4] had a failure: [w5] and phase c never started.
    expect(first.ctx.data.runs.b).toEqual(['w1', 'w2', 'w3', 'w4']);
    expect(first.ctx.data.runs.c).toBeUndefined();
    expect(first.ctx.data.cleanUps).toEqual(['b', 'a']);
    expect(first.outcome.failures).toEqual([
      { phase: 'b', title: 'phase b', node: 'w3', message: 'b broke', tail: 'last line' },
    ]);
    expect(failureSummary(first.outcome.failures, '/logs/x.log')).toEqual([
      '  w3: phase b [b]: b broke',
      '      last line',
      '  full output: /logs/x.log',
    ]);
    const second = await run([nodePhase('a'), nodePhase('b', { batch: 2, role: 'worker' }), nodePhase('c')]);
    expect(second.outcome.failures).toEqual([]);
    expect(second.ctx.data.runs.a).toBeUndefined();
    expect(second.ctx.data.runs.b).toEqual(['w3', 'w5']);
    expect(second.ctx.data.runs.c).toEqual(hosts.map((h) => h.node.name));
    const ends = second.events.filter((e) => e.event === 'phase-end');
    expect(ends.map((e) => [e.phase, e.done, e.skipped])).toEqual([
      ['a', 0, 6],
      ['b', 2, 3],
      ['c', 6, 0],
    ]);
  });

  it('re-probes: a node the journal calls done but the probe does not is redone', async () => {
    await run([nodePhase('a')]);
    const probed: Phase<Calls> = {
      ...nodePhase('a'),
      done: async () => new Set(['m1', 'w1', 'w2', 'w3', 'w4']),
    };
    const again = await run([probed]);
    expect(again.ctx.data.runs.a).toEqual(['w5']);
  });

  it('--dry-run runs nothing and plans per node', async () => {
    const { events, ctx } = await run([nodePhase('a')], ctxOf(true));
    expect(ctx.data.runs).toEqual({});
    expect(events.filter((e) => e.event === 'plan').map((e) => (e as { node: string }).node)).toEqual(
      hosts.map((h) => h.node.name),
    );
  });

  it('--from-phase redoes that phase and the ones after it; --only-phase just that one', async () => {
    await run([nodePhase('a'), nodePhase('b')]);
    const from = await run([nodePhase('a'), nodePhase('b')], ctxOf(), { fromPhase: 'b' });
    expect(Object.keys(from.ctx.data.runs)).toEqual(['b']);
    const only = await run([nodePhase('a'), nodePhase('b')], ctxOf(), { onlyPhase: 'a' });
    expect(Object.keys(only.ctx.data.runs)).toEqual(['a']);
    await expect(run([nodePhase('a')], ctxOf(), { onlyPhase: 'nope' })).rejects.toThrow(
      'unknown phase "nope"',
    );
  });

  it('refuses a state.json that does not match the schema', () => {
    expect(() => parseState('{"schema":1,"status":"creating"}', 'state.json')).toThrow(
      /state.json: createdAt/,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { readyNodes, waitForReady } from '../../src/phases/create/cluster.js';

describe('readyNodes', () => {
  it("reads Ready nodes from kubectl's table, cordoned ones included", () => {
    const table = [
      'NAME   STATUS                     ROLES           AGE   VERSION',
      'm1     Ready                      control-plane   5m    v1.31.14',
      'w1     NotReady                   worker          1m    v1.31.14',
      'w2     Ready,SchedulingDisabled   worker          1m    v1.31.14',
      '',
    ].join('\n');
    expect([...readyNodes(table)]).toEqual(['m1', 'w2']);
  });
});

describe('waitForReady', () => {
  // Each poll is one minute later on a fake clock, so the stall arithmetic does not depend on load.
  const wait = (rounds: string[][], stallMs: number, signal = new AbortController().signal) => {
    let i = 0;
    const w = waitForReady(['a', 'b', 'c'], {
      poll: async () => new Set(rounds[Math.min(i++, rounds.length - 1)]),
      stallMs,
      intervalMs: 0,
      signal,
      now: () => i * 60_000,
    });
    return { w, polls: () => i };
  };

  it('returns nothing once every node is Ready', async () => {
    const { w, polls } = wait([[], ['a'], ['a', 'b', 'c']], 5 * 60_000);
    expect(await w).toEqual([]);
    expect(polls()).toBe(3);
  });

  it('keeps waiting past the stall time while nodes keep turning Ready', async () => {
    // 2 minutes without progress at most, 7 minutes in all, against a 3-minute stall time.
    const rounds = [[], [], ['a'], ['a'], ['a', 'b'], ['a', 'b'], ['a', 'b'], ['a', 'b', 'c']];
    const { w, polls } = wait(rounds, 3 * 60_000);
    expect(await w).toEqual([]);
    expect(polls()).toBe(8);
  });

  it('gives up with the nodes still waiting once none turned Ready for the stall time', async () => {
    const { w, polls } = wait([['a']], 3 * 60_000);
    expect(await w).toEqual(['b', 'c']);
    expect(polls()).toBe(4);
  });

  it('does not count nodes flapping between Ready and not as progress', async () => {
    const flapping = [['a'], ['a', 'b'], ['a'], ['a', 'b'], ['a'], ['a', 'b'], ['a'], ['a', 'b'], ['a']];
    const { w, polls } = wait(flapping, 3 * 60_000);
    // The best, 2 Ready, came at minute 2: given up at minute 5, when only a was Ready again.
    expect(await w).toEqual(['b', 'c']);
    expect(polls()).toBe(5);
  });

  it('throws the abort reason when interrupted', async () => {
    const abort = new AbortController();
    const { w } = wait([[]], 60 * 60_000, abort.signal);
    abort.abort(new Error('interrupted'));
    await expect(w).rejects.toThrow('interrupted');
  });
});

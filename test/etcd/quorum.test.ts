import { describe, expect, it } from 'vitest';
import { checkQuorumAfterRemoval, quorumOf } from '../../src/etcd/quorum.js';

const all = (...names: string[]) => new Set(names);

describe('etcd quorum after removing members', () => {
  it('knows the majority sizes', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(quorumOf)).toEqual([1, 2, 2, 3, 3, 4, 4]);
  });

  it('allows removing one of three healthy masters, with the numbers', () => {
    const v = checkQuorumAfterRemoval({
      voters: ['m1', 'm2', 'm3'],
      healthy: all('m1', 'm2', 'm3'),
      removing: ['m3'],
    });
    expect(v.ok).toBe(true);
    expect(v.explanation).toBe(
      '2 member(s) would remain, 2 of them healthy, and etcd needs 2 of 2 for quorum; it would tolerate 0 more failure(s)',
    );
  });

  it('refuses when a down member among the rest would cost quorum', () => {
    const v = checkQuorumAfterRemoval({
      voters: ['m1', 'm2', 'm3'],
      healthy: all('m1', 'm3'),
      removing: ['m3'],
    });
    expect(v.ok).toBe(false);
    expect(v.explanation).toMatch(
      /2 member\(s\) would remain, 1 of them healthy, and etcd needs 2 of 2 .*writes would stop/,
    );
  });

  it('removing the dead member itself is what restores a healthy majority', () => {
    const v = checkQuorumAfterRemoval({
      voters: ['m1', 'm2', 'm3'],
      healthy: all('m1', 'm2'),
      removing: ['m3'],
    });
    expect(v.ok).toBe(true);
  });

  it('refuses removing the last member', () => {
    const v = checkQuorumAfterRemoval({ voters: ['m1'], healthy: all('m1'), removing: ['m1'] });
    expect(v.ok).toBe(false);
    expect(v.explanation).toMatch(/no etcd member/);
  });

  it('allows removing two of three healthy masters: the one left is its own quorum', () => {
    const v = checkQuorumAfterRemoval({
      voters: ['m1', 'm2', 'm3'],
      healthy: all('m1', 'm2', 'm3'),
      removing: ['m2', 'm3'],
    });
    expect(v.ok).toBe(true);
    expect(v.explanation).toMatch(/1 member\(s\) would remain, 1 of them healthy, and etcd needs 1 of 1/);
  });
});

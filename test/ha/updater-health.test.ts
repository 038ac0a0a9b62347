import { describe, expect, it } from 'vitest';
import { hostsBlockAddress, updaterHealth } from '../../src/ha/updater/health.js';

const M = ['10.0.0.11', '10.0.0.12', '10.0.0.13'];
const SVC = '10.96.0.2';

describe('updater health', () => {
  it('is ok when the Service mirrors every live master and every worker goes through it', () => {
    const h = updaterHealth({
      serviceIp: SVC,
      masters: M,
      liveApiservers: M,
      serviceSlice: [...M].reverse(),
      workers: [
        { node: 'w1', resolvesTo: SVC },
        { node: 'w2', resolvesTo: SVC },
      ],
    });
    expect(h).toEqual({
      ok: true,
      mirrored: true,
      missing: [],
      stale: [],
      outOfRotation: [],
      workers: [
        { node: 'w1', route: 'service', address: SVC },
        { node: 'w2', route: 'service', address: SVC },
      ],
    });
  });

  it('reports a dead master still routed, a worker on a master, and a worker with no usable route', () => {
    const h = updaterHealth({
      serviceIp: SVC,
      masters: M,
      liveApiservers: ['10.0.0.12', '10.0.0.13'],
      serviceSlice: M,
      workers: [
        { node: 'w1', resolvesTo: '10.0.0.12' },
        { node: 'w2', resolvesTo: '10.0.0.11' },
        { node: 'w3', resolvesTo: undefined },
      ],
    });
    expect(h.ok).toBe(false);
    expect(h.mirrored).toBe(false);
    expect(h.stale).toEqual(['10.0.0.11']);
    expect(h.missing).toEqual([]);
    expect(h.outOfRotation).toEqual(['10.0.0.11']);
    expect(h.workers.map((w) => w.route)).toEqual(['master', 'broken', 'broken']);
  });

  it('does not count the Service IP as a route while its slice is empty', () => {
    const h = updaterHealth({
      serviceIp: SVC,
      masters: M,
      liveApiservers: M,
      serviceSlice: [],
      workers: [{ node: 'w1', resolvesTo: SVC }],
    });
    expect(h.missing).toEqual(M);
    expect(h.workers[0]!.route).toBe('broken');
  });

  it('reads the address from the cluster block only, by marker lines', () => {
    const hosts = [
      '127.0.0.1 localhost',
      '10.0.0.99 apiserver.cluster.local',
      '# BEGIN kubeon other',
      '10.0.0.98 apiserver.cluster.local',
      '# END kubeon other',
      '# BEGIN kubeon prod',
      '10.96.0.2 apiserver.cluster.local',
      '# END kubeon prod',
      '',
    ].join('\n');
    expect(hostsBlockAddress(hosts, 'prod', 'apiserver.cluster.local')).toBe('10.96.0.2');
    expect(hostsBlockAddress(hosts, 'other', 'apiserver.cluster.local')).toBe('10.0.0.98');
    expect(hostsBlockAddress(hosts, 'none', 'apiserver.cluster.local')).toBeUndefined();
  });
});

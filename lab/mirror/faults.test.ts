import { describe, expect, it } from 'vitest';
import { FaultSet, globMatches, parseFaults } from './faults.js';

describe('mirror faults', () => {
  it('matches exact paths and * globs', () => {
    expect(globMatches('/a/b', '/a/b')).toBe(true);
    expect(globMatches('/a/b', '/a/bc')).toBe(false);
    expect(
      globMatches('/dl.k8s.io/release/v1.31.*', '/dl.k8s.io/release/v1.31.14/bin/linux/amd64/kubelet'),
    ).toBe(true);
    expect(globMatches('/x/*.sha256', '/x/y.sha256sum')).toBe(false);
    expect(globMatches('/x/(a)+', '/x/(a)+')).toBe(true);
  });

  it('accepts one fault, a list, or {faults: [...]}, and rejects unknown kinds', () => {
    const drop = { kind: 'drop', path: '/f', afterBytes: 10 };
    expect(parseFaults(drop)).toHaveLength(1);
    expect(parseFaults([drop, drop])).toHaveLength(2);
    expect(parseFaults({ faults: [drop] })).toHaveLength(1);
    expect(parseFaults({ kind: 'status', path: '/f' })[0]).toMatchObject({ status: 404 });
    expect(() => parseFaults({ kind: 'explode', path: '/f' })).toThrow();
    expect(() => parseFaults({ kind: 'drop', path: 'relative', afterBytes: 1 })).toThrow();
  });

  it('spends drop faults once by default, others never, and counts `times`', () => {
    const set = new FaultSet([
      { kind: 'drop', path: '/d', afterBytes: 1 },
      { kind: 'status', path: '/s' },
      { kind: 'corrupt', path: '/c', times: 2 },
    ]);
    expect(set.forPath('drop', '/d')).toBeDefined();
    expect(set.forPath('drop', '/d')).toBeUndefined();
    for (let i = 0; i < 5; i++) expect(set.forPath('status', '/s')).toBeDefined();
    expect(set.forPath('corrupt', '/c')).toBeDefined();
    expect(set.forPath('corrupt', '/c')).toBeDefined();
    expect(set.forPath('corrupt', '/c')).toBeUndefined();
    expect(set.list().map((s) => [s.fault.kind, s.remaining, s.hits])).toEqual([
      ['drop', 0, 1],
      ['status', 'always', 5],
      ['corrupt', 0, 2],
    ]);
  });

  it('rewrites only the named digest in a multi-file checksum list', () => {
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    const text = `${a}  runc.amd64\n${b}  runc.arm64\n`;
    const set = new FaultSet([{ kind: 'checksum', path: '/r/runc.arm64' }]);
    const out = set.checksumText('/r/runc.sha256sum', text)!;
    const [la, lb] = out.split('\n');
    expect(la).toBe(`${a}  runc.amd64`);
    expect(lb).toMatch(/^[0-9a-f]{64} {2}runc\.arm64$/);
    expect(lb).not.toBe(`${b}  runc.arm64`);
    expect(set.checksumText('/r/other.sha256', a)).toBeUndefined();
    const whole = new FaultSet([{ kind: 'checksum', path: '/k/kubeadm.sha256' }]).checksumText(
      '/k/kubeadm.sha256',
      a,
    )!;
    expect(whole).toMatch(/^[0-9a-f]{64}$/);
    expect(whole).not.toBe(a);
  });
});

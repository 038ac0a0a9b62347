import { describe, expect, it } from 'vitest';
import { specFromFlags } from '../../src/cluster/from-flags.js';
import { clusterNodes, nodeSecrets } from '../../src/cluster/nodes.js';
import { validateSpec } from '../../src/cluster/validate.js';

function spec(flags: Parameters<typeof specFromFlags>[2], file?: Record<string, unknown>) {
  return validateSpec(specFromFlags('t1', 'v1.31.2', flags, file)).spec;
}

describe('flags to spec', () => {
  it('per-index node flags belong to the address at the same position', () => {
    const s = spec({
      master: ['192.0.2.1', '192.0.2.2', '192.0.2.3'],
      masterName: ['a', 'b', 'c'],
      masterPort: ['22', '2222', '22'],
      worker: ['192.0.2.9'],
      workerLabels: ['zone=z1,gpu=true'],
    });
    expect(s.masters.map((m) => [m.ip, m.name, m.port])).toEqual([
      ['192.0.2.1', 'a', 22],
      ['192.0.2.2', 'b', 2222],
      ['192.0.2.3', 'c', 22],
    ]);
    expect(s.workers[0]!.labels).toEqual({ zone: 'z1', gpu: 'true' });
  });

  it('layers node over role defaults over global defaults over built-ins', () => {
    const s = spec({
      master: ['192.0.2.1', '192.0.2.2'],
      masterUser: ['admin', 'ops'],
      worker: ['192.0.2.9'],
      defaultUser: 'ubuntu',
      defaultPort: '2200',
      defaultMasterPasswd: 'mpw',
      defaultPasswd: 'gpw',
    });
    const [m1, , w1] = clusterNodes(s);
    expect(m1!.ssh).toMatchObject({ user: 'admin', port: 2200, password: 'mpw' });
    expect(w1!.ssh).toMatchObject({ user: 'ubuntu', port: 2200, password: 'gpw' });
    const bare = clusterNodes(spec({ master: ['192.0.2.1'] }))[0]!;
    expect(bare.ssh).toEqual({ user: 'root', port: 22 });
  });

  it('a per-index list of the wrong length is bad input naming the flag', () => {
    expect(() => spec({ master: ['192.0.2.1', '192.0.2.2'], masterName: ['a'] })).toThrow(/--master-name/);
    expect(() => spec({ worker: ['192.0.2.9'], master: ['192.0.2.1'], workerPort: ['x'] })).toThrow(
      /--worker-port "x"/,
    );
  });

  it('--lb-ip selects external mode; flags override the file', () => {
    const s = spec(
      { lbIp: '192.0.2.100', lbPort: '8443' },
      { masters: [{ ip: '192.0.2.1' }], network: { cni: 'cilium', podCIDR: '10.200.0.0/16' } },
    );
    expect(s.controlPlane).toMatchObject({ mode: 'external', lbIp: '192.0.2.100', port: 8443 });
    expect(s.network.cni).toBe('cilium');
    const s2 = spec(
      { cni: 'none', master: ['192.0.2.5'] },
      { masters: [{ ip: '192.0.2.1' }], network: { cni: 'cilium' } },
    );
    expect(s2.network.cni).toBe('none');
    expect(s2.masters.map((m) => m.ip)).toEqual(['192.0.2.5']);
  });

  it('a file naming another cluster is refused', () => {
    expect(() => specFromFlags('t1', 'v1.31.2', {}, { name: 't2' })).toThrow(/names cluster "t2"/);
  });

  it('parses the bastion', () => {
    const s = spec({ master: ['192.0.2.1'], bastion: 'ops@[2001:db8::5]:2022', bastionPkFile: '/k' });
    expect(s.ssh.bastion).toEqual({ host: '2001:db8::5', user: 'ops', port: 2022, privateKeyFile: '/k' });
    expect(() => spec({ master: ['192.0.2.1'], bastion: 'ops@host:port' })).toThrow(/--bastion/);
  });

  it('passwordFrom reads the environment at run time and is never stored resolved', () => {
    const s = validateSpec({
      name: 't1',
      version: 'v1.31.2',
      ssh: { defaults: { user: 'ops', passwordFrom: 'env:NODE_PW' } },
      masters: [{ ip: '192.0.2.1' }],
    }).spec;
    const n = clusterNodes(s)[0]!;
    expect(nodeSecrets(n, { NODE_PW: 'pw' })).toEqual({
      password: 'pw',
      privateKeyPassphrase: undefined,
      sudoPassword: 'pw',
    });
    expect(() => nodeSecrets(n, {})).toThrow(/NODE_PW is not set/);
    expect(JSON.stringify(s)).not.toContain('"pw"');
  });
});

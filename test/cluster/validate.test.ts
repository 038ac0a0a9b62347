import { describe, expect, it } from 'vitest';
import { validateClusterName } from '../../src/cluster/name.js';
import type { ClusterSpecInput } from '../../src/cluster/spec.js';
import { normalizeVersion, validateSpec } from '../../src/cluster/validate.js';
import { formatError, KubeonError } from '../../src/core/errors.js';

function base(over: Partial<ClusterSpecInput> = {}): ClusterSpecInput {
  return {
    name: 't1',
    version: 'v1.31.2',
    masters: [{ ip: '192.0.2.11' }],
    workers: [{ ip: '192.0.2.21' }],
    ...over,
  };
}

/** Asserts a bad-input error (exit 2) whose one-line message contains every fragment. */
function rejects(input: unknown, ...fragments: string[]): void {
  let caught: unknown;
  try {
    validateSpec(input);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(KubeonError);
  const err = caught as KubeonError;
  expect(err.exitCode).toBe(2);
  expect(err.message).not.toContain('\n');
  expect(err.hint).toBeTruthy();
  for (const f of fragments) expect(err.message).toContain(f);
}

describe('cluster name (DNS-1123 label)', () => {
  it.each(['t1', 'prod-eu-1', 'a'.repeat(63)])('accepts %s', (n) => expect(validateClusterName(n)).toBe(n));
  it.each(['BAD_NAME', 'Prod', '-x', 'x-', 'a.b', 'a'.repeat(64), ''])('rejects %j', (n) => {
    expect(() => validateClusterName(n)).toThrow(/DNS-1123 label/);
  });
});

describe('version', () => {
  it('normalises X.Y.Z to vX.Y.Z', () => {
    expect(normalizeVersion('1.31.2')).toBe('v1.31.2');
    expect(normalizeVersion('v1.30.14')).toBe('v1.30.14');
    expect(validateSpec(base({ version: '1.31.2' })).spec.version).toBe('v1.31.2');
  });
  it.each(['1.31', 'v1.31.x', 'latest', 'v1.31.2-rc.0', 'v01.31.2'])('rejects %s', (v) =>
    rejects(base({ version: v }), v),
  );
});

describe('addresses', () => {
  it('accepts IPv4 and IPv6 node addresses', () => {
    const { spec } = validateSpec(
      base({ masters: [{ ip: '192.0.2.11' }, { ip: '2001:db8::11' }, { ip: '198.51.100.3' }] }),
    );
    expect(spec.masters.map((m) => m.ip)).toEqual(['192.0.2.11', '2001:db8::11', '198.51.100.3']);
  });
  it.each(['192.0.2.256', '192.0.2', 'host.example', '2001:db8:::1', '0.0.0.0'])('rejects %s', (ip) =>
    rejects(base({ masters: [{ ip }] }), ip),
  );
  it('rejects a duplicate IP within a role, naming it', () =>
    rejects(
      base({ masters: [{ ip: '127.0.0.11' }, { ip: '127.0.0.11' }] }),
      '127.0.0.11',
      'masters[0]',
      'masters[1]',
    ));
  it('rejects a duplicate IP across roles', () =>
    rejects(
      base({ masters: [{ ip: '192.0.2.11' }], workers: [{ ip: '192.0.2.11' }] }),
      '192.0.2.11',
      'workers[0]',
    ));
  it('treats two spellings of one IPv6 address as duplicates', () =>
    rejects(base({ masters: [{ ip: '2001:db8::1' }], workers: [{ ip: '2001:DB8::1' }] }), 'duplicate IP'));
});

describe('node names', () => {
  it('accepts RFC 1123 lower-case names', () => {
    const { spec } = validateSpec(base({ masters: [{ ip: '192.0.2.11', name: 'master-1.dc1' }] }));
    expect(spec.masters[0]!.name).toBe('master-1.dc1');
  });
  it.each(['Master1', 'm_1', '-m', 'm..1'])('rejects %s', (name) =>
    rejects(base({ masters: [{ ip: '192.0.2.11', name }] }), name),
  );
  it('rejects duplicate names across roles', () =>
    rejects(
      base({ masters: [{ ip: '192.0.2.11', name: 'n1' }], workers: [{ ip: '192.0.2.21', name: 'n1' }] }),
      '"n1"',
      'workers[0]',
    ));
});

describe('masters', () => {
  it('requires at least one master', () => rejects(base({ masters: [] }), 'no master'));
  it('warns for an even number of masters', () => {
    const { warnings } = validateSpec(base({ masters: [{ ip: '192.0.2.11' }, { ip: '192.0.2.12' }] }));
    expect(warnings.join()).toMatch(/2 masters/);
  });
  it('does not warn for an odd number', () => {
    expect(
      validateSpec(base({ masters: [{ ip: '192.0.2.11' }, { ip: '192.0.2.12' }, { ip: '192.0.2.13' }] }))
        .warnings,
    ).toEqual([]);
  });
});

describe('CIDRs', () => {
  it('accepts non-overlapping service and pod ranges', () => {
    const { spec } = validateSpec(
      base({ network: { serviceCIDR: '10.96.0.0/12', podCIDR: '10.244.0.0/16' } }),
    );
    expect(spec.network.serviceCIDR).toBe('10.96.0.0/12');
  });
  it('rejects overlapping service and pod CIDRs', () =>
    rejects(
      base({ network: { serviceCIDR: '10.96.0.0/12', podCIDR: '10.100.0.0/16' } }),
      '10.96.0.0/12',
      '10.100.0.0/16',
    ));
  it('rejects an invalid CIDR', () =>
    rejects(base({ network: { podCIDR: '10.244.0.0/33' } }), '10.244.0.0/33'));
  it('rejects host bits and suggests the network', () => {
    try {
      validateSpec(base({ network: { serviceCIDR: '10.96.0.1/12' } }));
      expect.unreachable();
    } catch (err) {
      expect((err as KubeonError).hint).toContain('10.96.0.0/12');
    }
  });
  it('rejects a node address inside the pod CIDR', () =>
    rejects(base({ masters: [{ ip: '10.244.3.4' }] }), '10.244.3.4', '--pod-cidr'));
  it('rejects a node address inside the service CIDR', () =>
    rejects(base({ workers: [{ ip: '10.96.0.20' }] }), '10.96.0.20', '--svc-cidr'));
  it('rejects a service CIDR larger than /12', () =>
    rejects(base({ network: { serviceCIDR: '10.0.0.0/8' } }), '10.0.0.0/8'));
});

describe('control-plane endpoint', () => {
  it('accepts lb ports in range', () => {
    const lb = { mode: 'external' as const, lbIp: '192.0.2.100', port: 8443 };
    expect(validateSpec(base({ controlPlane: lb })).spec.controlPlane.port).toBe(8443);
  });
  it('refuses another port without an external load balancer', () =>
    rejects(base({ controlPlane: { port: 8443 } }), 'only for an external load balancer'));
  it.each([0, 65536, 70000])('rejects lb port %i', (port) =>
    rejects(base({ controlPlane: { port } }), String(port)),
  );
  it('requires an address in external mode', () =>
    rejects(base({ controlPlane: { mode: 'external' } }), 'external'));
  it('accepts external mode with an lb IP', () => {
    const { spec } = validateSpec(
      base({ controlPlane: { mode: 'external', lbIp: '192.0.2.100', port: 16443 } }),
    );
    expect(spec.controlPlane.lbIp).toBe('192.0.2.100');
  });
  it('rejects an IP as the endpoint name', () =>
    rejects(base({ controlPlane: { endpoint: '192.0.2.1' } }), '192.0.2.1'));
  it('rejects an unknown HA mode, naming it', () =>
    rejects(base({ controlPlane: { mode: 'keepalived' as 'haproxy' } }), 'keepalived'));
});

describe('schema', () => {
  it('rejects an unknown field with its name', () => rejects({ ...base(), mastres: [] }, 'mastres'));
  it('rejects a misplaced field', () =>
    rejects(base({ network: { maxPods: 10 } as never }), 'maxPods', 'network'));
  it('rejects an unknown CNI, naming it', () =>
    rejects(base({ network: { cni: 'flannel' as 'calico' } }), 'flannel'));
  it('fills defaults', () => {
    const { spec } = validateSpec(base());
    expect(spec.controlPlane.endpoint).toBe('apiserver.cluster.local');
    expect(spec.pki.certValidity).toBe('876000h');
    expect(spec.artifacts.mirrors).toEqual(['global']);
  });
  it('checks mirrors and SSH ports', () => {
    rejects(base({ artifacts: { mirrors: ['ftp://x'] } }), 'ftp://x');
    rejects(base({ masters: [{ ip: '192.0.2.11', port: 0 }] }), 'masters[0].port', '1 to 65535', '(got 0)');
    rejects(base({ ssh: { defaults: { passwordFrom: 'PASS' } } }), 'env:');
  });
  it('checks the NodePort range and max pods', () => {
    rejects(base({ network: { nodePortRange: '32767-30000' } }), '32767-30000');
    rejects(base({ kubelet: { maxPods: 0 } }), 'kubelet.maxPods', '(got 0)');
    expect(validateSpec(base({ network: { nodePortRange: '20000-22767' } })).spec.network.nodePortRange).toBe(
      '20000-22767',
    );
  });
  it('checks certificate SANs and validity', () => {
    rejects(base({ controlPlane: { certSANs: ['bad name'] } }), 'bad name');
    rejects(base({ pki: { certValidity: '100y' } }), '100y');
    expect(
      validateSpec(base({ controlPlane: { certSANs: ['api.example.com', '192.0.2.5'] } })).spec.controlPlane
        .certSANs,
    ).toHaveLength(2);
  });
});

describe('secret fields in errors', () => {
  it('a mistyped secret prints its path and expected type, never the value', () => {
    for (const field of ['password', 'sudoPassword', 'privateKeyPassphrase']) {
      let msg = '';
      try {
        validateSpec({ name: 'p', version: '1.31.2', masters: [{ ip: '192.0.2.1', [field]: 918273 }] });
      } catch (err) {
        msg = formatError(err);
      }
      expect(msg).toContain(`masters[0].${field}`);
      expect(msg).toContain('expected string');
      expect(msg).not.toContain('918273');
    }
  });
});

import { describe, expect, it } from 'vitest';
import { nodeLabelsError } from '../lib/kubelet-flags.js';
import { runStandin } from './run.js';

describe('kubelet --node-labels (ValidateKubeletFlags)', () => {
  it('refuses labels in the kubernetes.io namespaces that are not the kubelet’s own', () => {
    expect(nodeLabelsError(['node-role.kubernetes.io/control-plane=', 'team=a'])).toBe(
      "unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: [node-role.kubernetes.io/control-plane]\n--node-labels in the 'kubernetes.io' namespace must begin with an allowed prefix (kubelet.kubernetes.io, node.kubernetes.io) or be in the specifically allowed set (beta.kubernetes.io/arch, beta.kubernetes.io/instance-type, beta.kubernetes.io/os, failure-domain.beta.kubernetes.io/region, failure-domain.beta.kubernetes.io/zone, kubernetes.io/arch, kubernetes.io/hostname, kubernetes.io/os, node.kubernetes.io/instance-type, topology.kubernetes.io/region, topology.kubernetes.io/zone)",
    );
    expect(nodeLabelsError(['example.k8s.io/x=1'])).toMatch(/\[example\.k8s\.io\/x\]/);
  });

  it('accepts the allowed prefixes, the allowed set and other namespaces', () => {
    expect(
      nodeLabelsError([
        'node.kubernetes.io/exclude-from-external-load-balancers=',
        'kubelet.kubernetes.io/x=y',
        'topology.kubernetes.io/zone=a',
        'kubeon.io/pool=workers',
      ]),
    ).toBeUndefined();
  });

  it('makes the kubelet exit at start', async () => {
    const r = await runStandin('kubelet', 'v1.31.14', ['--node-labels=node-role.kubernetes.io/worker=']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "\"command failed\" err=\"failed to validate kubelet flags: unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: [node-role.kubernetes.io/worker]",
    );
    const ok = await runStandin('kubelet', 'v1.31.14', ['--node-labels=node.kubernetes.io/pool=a']);
    expect(ok.stderr).not.toContain('failed to validate kubelet flags');
    expect(ok.stderr).toContain('the container runtime endpoint address was not specified or empty');
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkVersionSupported } from '../../src/artifacts/catalog.js';
import type { Host } from '../../src/cluster/host.js';
import { clusterNodes } from '../../src/cluster/nodes.js';
import { ClusterSpecSchema } from '../../src/cluster/spec.js';
import type { Script } from '../../src/fleet/script.js';
import type { NodeFailure } from '../../src/fleet/types.js';
import { haModeOf } from '../../src/ha/index.js';
import type { CreateContext } from '../../src/phases/create/data.js';
import { joinWorkersPhase } from '../../src/phases/create/kubeadm.js';
import { nodeComponents } from '../../src/render/inputs.js';

// A CA for the join's discovery hash (openssl, as on any Debian machine).
const pki = mkdtempSync(join(tmpdir(), 'kubeon-join-'));
execFileSync(
  'openssl',
  ['req', '-x509', '-newkey', 'ed25519', '-nodes', '-subj', '/CN=kubernetes', '-days', '1'].concat([
    '-keyout',
    join(pki, 'ca.key'),
    '-out',
    join(pki, 'ca.crt'),
  ]),
  { stdio: 'ignore' },
);

/**
 * The worker join phase against a fleet that fails each node's first `kubeadm join` as `failures`
 * says and records every script it runs.
 */
async function joinWith(failures: Record<string, NodeFailure>) {
  const s = ClusterSpecSchema.parse({
    name: 'prod',
    version: 'v1.31.14',
    masters: [{ ip: '192.0.2.11', name: 'm1' }],
    workers: ['w1', 'w2', 'w3'].map((name, i) => ({ ip: `192.0.2.2${i}`, name })),
  });
  const version = checkVersionSupported(s.version);
  const hosts = clusterNodes(s).map(
    (node) => ({ node: { ...node, name: node.name! }, target: { name: node.name!, host: node.ip } }) as Host,
  );
  const runs: { node: string; script: Script }[] = [];
  const warnings: string[] = [];
  const fleet = {
    run: async (targets: { name: string; host: string }[], script: Script) => {
      const node = targets[0]!.name;
      const earlier = runs.filter((r) => r.node === node && r.script.purpose === script.purpose).length;
      runs.push({ node, script });
      const error = earlier === 0 && script.purpose === 'kubeadm join (worker)' ? failures[node] : undefined;
      return [
        {
          node,
          ip: targets[0]!.host,
          exitCode: error ? 1 : 0,
          stdout: '',
          stderr: '',
          durationMs: 1,
          ...(error ? { error } : {}),
        },
      ];
    },
  };
  const ctx = {
    spec: s,
    hosts,
    fleet,
    paths: { pki },
    data: {
      version,
      settings: {},
      ha: haModeOf(s),
      components: nodeComponents(s, version, { pause: '3.10' }),
      join: { token: 'abcdef.0123456789abcdef' },
    },
    signal: new AbortController().signal,
    warn: (m: string) => warnings.push(m),
  } as unknown as CreateContext;
  const results = await joinWorkersPhase.run(
    ctx,
    hosts.filter((h) => h.node.role === 'worker'),
  );
  const joins = (node: string) =>
    runs.filter((r) => r.node === node && r.script.purpose === 'kubeadm join (worker)');
  return { results, joins, warnings };
}

const failed: NodeFailure = { kind: 'failed', message: '"kubeadm join (worker)" exited with 1' };

describe('joining workers', () => {
  it('clears what an earlier join left before kubeadm join, so its preflight does not refuse the node', async () => {
    const { joins } = await joinWith({});
    const text = joins('w1')[0]!.script.text;
    expect(text).toContain(
      'rm -f -- /etc/kubernetes/kubelet.conf /etc/kubernetes/bootstrap-kubelet.conf /etc/kubernetes/pki/ca.crt',
    );
    expect(text.indexOf('rm -f --')).toBeLessThan(text.indexOf('kubeadm join --config'));
  });

  it('gives a worker whose join failed while others joined one more attempt', async () => {
    const { results, joins, warnings } = await joinWith({ w2: failed });
    expect(results.map((r) => [r.node, r.error?.kind])).toEqual([
      ['w1', undefined],
      ['w2', undefined],
      ['w3', undefined],
    ]);
    expect([joins('w1').length, joins('w2').length, joins('w3').length]).toEqual([1, 2, 1]);
    expect(warnings.join('\n')).toContain('w2');
  });

  it('does not retry when every join failed, nor an unreachable node', async () => {
    const all = await joinWith({ w1: failed, w2: failed, w3: failed });
    expect(all.results.every((r) => r.error?.kind === 'failed')).toBe(true);
    expect(['w1', 'w2', 'w3'].map((n) => all.joins(n).length)).toEqual([1, 1, 1]);

    const lost = await joinWith({ w2: { kind: 'unreachable', message: 'connection lost' } });
    expect(lost.results.find((r) => r.node === 'w2')!.error?.kind).toBe('unreachable');
    expect(lost.joins('w2')).toHaveLength(1);
    expect(lost.warnings).toEqual([]);
  });
});

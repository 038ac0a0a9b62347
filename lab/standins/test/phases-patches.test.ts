import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyPatches, knownTargets, readPatches } from '../lib/patches.js';
import { phaseNames, resolveSkips } from '../lib/phases.js';
import { runStandin } from './run.js';

describe('--skip-phases as the workflow runner resolves it', () => {
  it('refuses a name the workflow does not have', () => {
    expect(() => resolveSkips('init', 31, ['addon/kubeproxy'])).toThrow(
      'invalid phase name: addon/kubeproxy',
    );
    expect(() => resolveSkips('join', 30, ['kubelet-wait-bootstrap'])).toThrow(
      'invalid phase name: kubelet-wait-bootstrap',
    );
    expect(phaseNames('join', 31)).toContain('kubelet-wait-bootstrap');
  });

  it('skips a sub-phase alone, or a parent with everything under it', () => {
    const one = resolveSkips('init', 31, ['addon/kube-proxy']);
    expect([...one]).toEqual(['addon/kube-proxy']);
    const all = resolveSkips('init', 31, ['addon']);
    expect([...all].sort()).toEqual(['addon', 'addon/all', 'addon/coredns', 'addon/kube-proxy']);
    expect([...resolveSkips('join', 31, ['control-plane-join'])]).toContain(
      'control-plane-join/mark-control-plane',
    );
  });

  it('kubeadm init fails on an unknown phase name before touching the node', async () => {
    const r = await runStandin('kubeadm', 'v1.31.14', [
      'init',
      '--kubernetes-version',
      'v1.31.14',
      '--skip-phases',
      'addon/kubeproxy',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^invalid phase name: addon\/kubeproxy\n/m);
    expect(r.stdout).not.toContain('[preflight]');
  });
});

describe('--patches with kubeadm file naming', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'kube-apiserver', namespace: 'kube-system' },
    spec: {
      containers: [
        {
          name: 'kube-apiserver',
          image: 'registry.k8s.io/kube-apiserver:v1.31.14',
          volumeMounts: [{ name: 'k8s-certs', mountPath: '/etc/kubernetes/pki', readOnly: true }],
        },
      ],
      volumes: [{ name: 'k8s-certs', hostPath: { path: '/etc/kubernetes/pki' } }],
    },
  };
  const dir = (files: Record<string, string>) => {
    const d = mkdtempSync(join(tmpdir(), 'standins-patches-'));
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(d, name, '..'), { recursive: true });
      writeFileSync(join(d, name), text);
    }
    return d;
  };
  const lines: string[] = [];
  const say = (l: string) => lines.push(l);

  it('reads target[suffix][+patchtype].extension and ignores other files with kubeadm notices', () => {
    const d = dir({
      'kube-apiserver0+strategic.yaml': 'metadata:\n  annotations:\n    a: b\n',
      'kube-apiserver1+merge.json': '{"metadata":{"labels":{"x":"y"}}}',
      'etcd+json.yaml': '- op: add\n  path: /metadata/labels\n  value: {z: "1"}\n',
      'README.md': 'notes',
      'kube-proxy.yaml': 'a: b\n',
    });
    lines.length = 0;
    const sets = readPatches(d, knownTargets(31), say);
    expect(sets.map((s) => [s.target, s.type])).toEqual([
      ['etcd', 'application/json-patch+json'],
      ['kube-apiserver', 'application/strategic-merge-patch+json'],
      ['kube-apiserver', 'application/merge-patch+json'],
    ]);
    expect(lines).toContain(
      '[patches] Ignoring file "README.md": the file extension must be one of [json yaml]',
    );
    expect(lines).toContain(
      '[patches] Ignoring file "kube-proxy.yaml": unknown target, must be one of [kube-apiserver kube-controller-manager kube-scheduler etcd kubeletconfiguration]',
    );
  });

  it('fails on a "+" without a known patch type, and on a missing directory', () => {
    const d = dir({ 'etcd+patch.yaml': '[]' });
    expect(() => readPatches(d, knownTargets(31), say)).toThrow(
      `could not list patch files for path "${d}": unknown or missing patch type after '+', must be one of [json merge strategic]`,
    );
    expect(() => readPatches('/nonexistent-patches', knownTargets(31), say)).toThrow(
      'could not list patch files for path "/nonexistent-patches": lstat /nonexistent-patches: no such file or directory',
    );
  });

  it('merges containers and volumes by name in a strategic merge patch', () => {
    const d = dir({
      'kube-apiserver.yaml': [
        'spec:',
        '  containers:',
        '  - name: kube-apiserver',
        '    volumeMounts:',
        '    - name: audit',
        '      mountPath: /var/log/audit',
        '  volumes:',
        '  - name: audit',
        '    hostPath: {path: /var/log/kubernetes/audit}',
        '',
      ].join('\n'),
    });
    const out = applyPatches('kube-apiserver', pod, readPatches(d, knownTargets(31), say), say) as typeof pod;
    const c = out.spec.containers[0]!;
    expect(c.image).toBe('registry.k8s.io/kube-apiserver:v1.31.14');
    expect(c.volumeMounts.map((m) => m.mountPath)).toEqual(['/etc/kubernetes/pki', '/var/log/audit']);
    expect(out.spec.volumes.map((v) => v.name)).toEqual(['k8s-certs', 'audit']);
    expect(lines).toContain(
      '[patches] Applied patch of type "application/strategic-merge-patch+json" to target "kube-apiserver"',
    );
  });

  it('applies JSON merge and JSON patch, and fails like kubeadm when a JSON patch does not apply', () => {
    const d = dir({
      'kube-apiserver+merge.yaml': 'spec:\n  volumes: null\n',
      'kube-apiserver1+json.yaml':
        '- op: replace\n  path: /spec/containers/0/image\n  value: mirror.lab/kube-apiserver:v1.31.14\n',
    });
    const out = applyPatches('kube-apiserver', pod, readPatches(d, knownTargets(31), say), say) as typeof pod;
    expect(out.spec.volumes).toBeUndefined();
    expect(out.spec.containers[0]!.image).toBe('mirror.lab/kube-apiserver:v1.31.14');
    const bad = dir({ 'etcd+json.yaml': '- op: replace\n  path: /spec/nothing/here\n  value: 1\n' });
    expect(() => applyPatches('etcd', pod, readPatches(bad, knownTargets(31), say), say)).toThrow(
      /^could not apply the following patch of type "application\/json-patch\+json" to target "etcd":\n\[\{"op":"replace","path":"\/spec\/nothing\/here","value":1\}\]\n: replace operation does not apply: doc is missing path: "\/spec\/nothing\/here": missing value$/,
    );
  });

  it('kubeadm init fails on a patches directory it cannot read instead of ignoring it', async () => {
    const r = await runStandin('kubeadm', 'v1.31.14', [
      'init',
      '--kubernetes-version',
      'v1.31.14',
      '--patches',
      '/nonexistent-patches',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'could not list patch files for path "/nonexistent-patches": lstat /nonexistent-patches: no such file or directory',
    );
    expect(r.stdout).not.toContain('[preflight] Running');
  });
});

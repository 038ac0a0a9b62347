import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { mergeKubeconfig } from '../../src/cluster/kubeconfig-merge.js';

const userConfig = `apiVersion: v1
kind: Config
clusters:
- name: work
  cluster: {server: https://work.example:6443}
- name: kubeon-prod
  cluster: {server: https://old.example:6443}
users:
- name: me
  user: {token: abc}
contexts:
- name: work
  context: {cluster: work, user: me, namespace: team}
current-context: work
preferences: {colors: true}
`;

const clusterConfig = `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {server: 'https://192.0.2.11:6443', tls-server-name: apiserver.cluster.local, certificate-authority-data: Q0E=}
users:
- name: kubeon-admin
  user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ}
contexts:
- name: kubeon-admin@prod
  context: {cluster: prod, user: kubeon-admin}
current-context: kubeon-admin@prod
`;

describe('kubeconfig merge', () => {
  it('adds kubeon-NAME, makes it current and keeps the user entries', () => {
    const out = YAML.parse(mergeKubeconfig(userConfig, clusterConfig, 'prod'));
    expect(out['current-context']).toBe('kubeon-prod');
    expect(out.contexts.map((c: { name: string }) => c.name).sort()).toEqual(['kubeon-prod', 'work']);
    const work = out.contexts.find((c: { name: string }) => c.name === 'work');
    expect(work.context).toEqual({ cluster: 'work', user: 'me', namespace: 'team' });
    expect(out.users.map((u: { name: string }) => u.name).sort()).toEqual(['kubeon-prod-admin', 'me']);
    expect(out.preferences).toEqual({ colors: true });
    const prod = out.clusters.find((c: { name: string }) => c.name === 'kubeon-prod');
    expect(prod.cluster.server).toBe('https://192.0.2.11:6443');
    expect(prod.cluster['tls-server-name']).toBe('apiserver.cluster.local');
    expect(out.clusters.filter((c: { name: string }) => c.name === 'kubeon-prod')).toHaveLength(1);
  });
  it('is idempotent', () => {
    const once = mergeKubeconfig(userConfig, clusterConfig, 'prod');
    expect(mergeKubeconfig(once, clusterConfig, 'prod')).toBe(once);
  });
  it('creates a config when the user has none', () => {
    const out = YAML.parse(mergeKubeconfig(undefined, clusterConfig, 'prod'));
    expect(out.kind).toBe('Config');
    expect(out.contexts).toHaveLength(1);
  });
  it('refuses to overwrite a file that is not a kubeconfig', () => {
    expect(() => mergeKubeconfig('- just\n- a list\n', clusterConfig, 'prod')).toThrow(/not a kubeconfig/);
    expect(() => mergeKubeconfig('a: [unclosed', clusterConfig, 'prod')).toThrow(/not valid YAML/);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStandin } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'standins-cli-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('kubeadm stand-in command line', () => {
  it('prints its baked-in version', async () => {
    const r = await runStandin('kubeadm', 'v1.30.14', ['version', '-o', 'short']);
    expect(r).toMatchObject({ code: 0, stdout: 'v1.30.14\n' });
  });

  it('rejects an unknown flag the way cobra does', async () => {
    const r = await runStandin('kubeadm', 'v1.31.14', ['init', '--foo']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^unknown flag: --foo\nTo see the stack trace of this error execute with --v=5 or higher\n$/,
    );
  });

  it('rejects a flag that exists only in another subcommand', async () => {
    const r = await runStandin('kubeadm', 'v1.31.14', ['join', '--upload-certs']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown flag: --upload-certs');
  });

  it('knows which minor added a flag: reset --config exists from 1.31', async () => {
    const cfg = file(
      'reset.yaml',
      'apiVersion: kubeadm.k8s.io/v1beta4\nkind: ResetConfiguration\ndryRun: true\n',
    );
    const old = await runStandin('kubeadm', 'v1.30.14', ['reset', '--config', cfg]);
    expect(old.stderr).toContain('unknown flag: --config');
    const cur = await runStandin('kubeadm', 'v1.31.14', ['reset', '--config', cfg]);
    expect(cur.stderr).not.toContain('unknown flag');
  });

  it('refuses to mix --config with flags kubeadm does not allow next to it', async () => {
    const cfg = file('mix.yaml', 'apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n');
    const r = await runStandin('kubeadm', 'v1.31.14', [
      'init',
      '--config',
      cfg,
      '--pod-network-cidr',
      '10.244.0.0/16',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("can not mix '--config' with arguments [pod-network-cidr]");
  });

  it('rejects an unknown subcommand', async () => {
    const r = await runStandin('kubeadm', 'v1.31.14', ['frobnicate']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown command "frobnicate" for "kubeadm"');
  });

  it.each([
    ['v1.30.14', ['pause:3.9', 'etcd:3.5.21-0', 'coredns/coredns:v1.11.3']],
    ['v1.31.14', ['pause:3.10', 'etcd:3.5.24-0', 'coredns/coredns:v1.11.3']],
    ['v1.37.1', ['pause:3.10.1', 'etcd:3.6.6-0', 'coredns/coredns:v1.13.1']],
  ])('lists the images kubeadm %s pins', async (version, pins) => {
    const r = await runStandin('kubeadm', version, [
      'config',
      'images',
      'list',
      '--kubernetes-version',
      version,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      `registry.k8s.io/kube-apiserver:${version}`,
      `registry.k8s.io/kube-controller-manager:${version}`,
      `registry.k8s.io/kube-scheduler:${version}`,
      `registry.k8s.io/kube-proxy:${version}`,
      `registry.k8s.io/${pins[2]}`,
      `registry.k8s.io/${pins[0]}`,
      `registry.k8s.io/${pins[1]}`,
    ]);
  });

  it('rejects a v1beta3 config in 1.37 and accepts it in 1.30', async () => {
    const cfg = file(
      'b3.yaml',
      'apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.30.14\n',
    );
    const newest = await runStandin('kubeadm', 'v1.37.1', ['config', 'validate', '--config', cfg]);
    expect(newest.code).toBe(1);
    expect(newest.stderr).toContain('your configuration file uses an old API spec: "kubeadm.k8s.io/v1beta3"');
    const old = await runStandin('kubeadm', 'v1.30.14', ['config', 'validate', '--config', cfg]);
    expect(old).toMatchObject({ code: 0, stdout: 'ok\n' });
  });

  it('rejects an unknown field and a misplaced one, naming the field', async () => {
    const unknown = file(
      'u.yaml',
      'apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nnetworking:\n  podCidr: 10.244.0.0/16\n',
    );
    const r1 = await runStandin('kubeadm', 'v1.31.14', ['config', 'validate', '--config', unknown]);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toContain('strict decoding error: unknown field "networking.podCidr"');
    const misplaced = file(
      'm.yaml',
      'apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\npodSubnet: 10.244.0.0/16\n',
    );
    const r2 = await runStandin('kubeadm', 'v1.31.14', ['config', 'validate', '--config', misplaced]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain('unknown field "podSubnet"');
  });
});

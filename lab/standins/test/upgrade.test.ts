import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { clusterToV1beta4, loadConfigText } from '../lib/config.js';
import { flag, parseFlags } from '../lib/flags.js';
import { checkMixed } from '../lib/kubeadm-plan.js';
import { dropKubeletFlags, unwantedKubeletFlags, writesPodInfraImage } from '../lib/kubelet-env.js';
import { kernelFindings } from '../lib/preflight.js';
import { enforceVersionPolicies, parseStoredClusterConfig, policyFailure } from '../lib/upgrade-policy.js';
import { parseVersion, type Version } from '../lib/versions.js';
import { runStandin } from './run.js';

const v = (t: string): Version => parseVersion(t)!;
const policy = (cluster: string, kubeadm: string, target: string, kubelets: string[] = []) =>
  enforceVersionPolicies({ cluster: v(cluster), kubeadm: v(kubeadm), target: v(target), kubelets });

describe('upgrade version policy (phases/upgrade/policy.go)', () => {
  it('lets kubeadm X.Y upgrade only to X.Y without --force', () => {
    const errs = policy('v1.31.14', 'v1.32.1', 'v1.31.15');
    expect(errs).toEqual({
      mandatory: [],
      skippable: ['Kubeadm version v1.32.1 can only be used to upgrade to Kubernetes version 1.32'],
    });
    expect(policyFailure(errs, false, true)).toBe(
      'the version argument is invalid due to these errors:\n\n\t- Kubeadm version v1.32.1 can only be used to upgrade to Kubernetes version 1.32\n\nCan be bypassed if you pass the --force flag',
    );
    expect(policyFailure(errs, true, true)).toBeUndefined();
  });

  it('refuses a jump of two minors and a target above kubeadm, whatever --force says', () => {
    const errs = policy('v1.30.14', 'v1.32.1', 'v1.32.1');
    expect(errs.mandatory).toEqual([
      'Specified version to upgrade to "v1.32.1" is too high; kubeadm can upgrade only 1 minor version at a time',
    ]);
    expect(policyFailure(errs, true, true)).toMatch(
      /^the version argument is invalid due to these fatal errors:/,
    );
    expect(policy('v1.31.14', 'v1.31.14', 'v1.32.0').mandatory).toEqual([
      'Specified version to upgrade to "v1.32.0" is at least one minor release higher than the kubeadm minor release (32 > 31). Such an upgrade is not supported',
    ]);
  });

  it('allows a newer patch than kubeadm only with --force, and prints 1.30 failures with their old prefix', () => {
    const errs = policy('v1.30.10', 'v1.30.12', 'v1.30.14');
    expect(errs.mandatory).toEqual([]);
    expect(policyFailure(errs, false, false)).toBe(
      '[upgrade/version] FATAL: the --version argument is invalid due to these errors:\n\n\t- Specified version to upgrade to "v1.30.14" is higher than the kubeadm version "v1.30.12". Upgrade kubeadm first using the tool you used to install kubeadm\n\nCan be bypassed if you pass the --force flag',
    );
  });

  it('allows a downgrade by one minor with the older kubeadm, not by two', () => {
    expect(policy('v1.31.14', 'v1.30.14', 'v1.30.14')).toEqual({ mandatory: [], skippable: [] });
    expect(policy('v1.32.1', 'v1.31.14', 'v1.30.14').mandatory).toContain(
      'Specified version to downgrade to "v1.30.14" is too low; kubeadm can downgrade only 1 minor version at a time',
    );
  });

  it('flags kubelets more than three minors behind the target', () => {
    expect(policy('v1.33.0', 'v1.34.0', 'v1.34.0', ['v1.31.0', 'v1.30.14', 'v1.30.14']).skippable).toEqual([
      'There are kubelets in this cluster that are too old that have these versions [v1.30.14]',
    ]);
  });
});

describe('upgrade node reads the stored kubeadm-config with its own scheme', () => {
  const stored = (api: string, version: string) =>
    `apiVersion: kubeadm.k8s.io/${api}\nkind: ClusterConfiguration\nkubernetesVersion: ${version}\n`;
  it('fails when that kubeadm no longer knows the stored API version or version', () => {
    expect(() => parseStoredClusterConfig(stored('v1beta3', 'v1.36.0'), 37)).toThrow(
      /^unable to fetch the kubeadm-config ConfigMap: your configuration file uses an old API spec: "kubeadm.k8s.io\/v1beta3"/,
    );
    expect(() => parseStoredClusterConfig(stored('v1beta4', 'v1.30.14'), 32)).toThrow(
      'unable to fetch the kubeadm-config ConfigMap: this version of kubeadm only supports deploying clusters with the control plane version >= 1.31.0. Current version: v1.30.14',
    );
    expect(parseStoredClusterConfig(stored('v1beta3', 'v1.30.14'), 31).kubernetesVersion).toBe('v1.30.14');
  });

  it('re-uploads a v1beta3 config as v1beta4 that the next kubeadm decodes strictly', () => {
    const old = loadConfigText(
      `${stored('v1beta3', 'v1.30.14')}apiServer:\n  timeoutForControlPlane: 4m0s\n  extraArgs:\n    event-ttl: 2h\n    audit-log-maxage: "3"\n`,
      'x',
      30,
      ['ClusterConfiguration'],
    ).docs.get('ClusterConfiguration')!;
    const next = clusterToV1beta4(old);
    expect(next.apiServer).toEqual({
      extraArgs: [
        { name: 'audit-log-maxage', value: '3' },
        { name: 'event-ttl', value: '2h' },
      ],
    });
    expect(() => loadConfigText(stringify(next), 'x', 37, ['ClusterConfiguration'])).not.toThrow();
  });
});

describe('the 1.34 -> 1.35 --pod-infra-container-image rewrite of kubeadm-flags.env', () => {
  const env =
    'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.10.1"\n';
  it('is written up to 1.34 and removed by the 1.35 upgrade only', () => {
    expect(writesPodInfraImage(34)).toBe(true);
    expect(writesPodInfraImage(35)).toBe(false);
    expect(dropKubeletFlags(env, unwantedKubeletFlags(35))).toBe(
      'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock"\n',
    );
    expect(dropKubeletFlags(env, unwantedKubeletFlags(36))).toBe(env);
  });
});

describe('where the stand-in was stricter than kubeadm', () => {
  it('only warns about swap, and no longer checks bridge-nf-call-iptables', () => {
    const read = (p: string) => (p === '/proc/sys/net/ipv4/ip_forward' ? '1\n' : undefined);
    const findings = kernelFindings(read, true);
    expect(findings.map((f) => [f.name, f.warning])).toEqual([['Swap', true]]);
    expect(kernelFindings(() => '0\n', false)).toEqual([
      {
        name: 'FileContent--proc-sys-net-ipv4-ip_forward',
        message: '/proc/sys/net/ipv4/ip_forward contents are not set to 1',
      },
    ]);
  });

  it('mixes --config with --yes from 1.31', () => {
    const flags = parseFlags(['--config', 'u.yaml', '--yes'], { config: flag.str(), yes: flag.bool('y') });
    expect(() => checkMixed(flags, 30)).toThrow("can not mix '--config' with arguments [yes]");
    expect(() => checkMixed(flags, 31)).not.toThrow();
  });
});

describe('kubeadm token create and --config', () => {
  it('refuses flags next to --config, as ValidateMixedArguments does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'standins-token-'));
    const cfg = join(dir, 'init.yaml');
    writeFileSync(cfg, 'apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n');
    const r = await runStandin('kubeadm', 'v1.31.14', ['token', 'create', '--config', cfg, '--ttl', '1h']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("can not mix '--config' with arguments [ttl]");
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type ClusterView,
  certificateKeyErrors,
  ignorePreflightErrors,
  validateCluster,
  validateJoin,
} from '../lib/validate-config.js';
import { runStandin } from './run.js';

const base: ClusterView = {
  dnsDomain: 'cluster.local',
  serviceSubnet: '10.96.0.0/12',
  controllerManagerExtra: [],
  certSANs: [],
  certificatesDir: '/etc/kubernetes/pki',
  featureGates: {},
  imageRepository: 'registry.k8s.io',
  extraArgs: {},
};
const cluster = (over: Partial<ClusterView>, minor = 31) => validateCluster({ ...base, ...over }, minor);

describe('semantic config validation (validation.go)', () => {
  it('accepts the defaults, and overlapping pod and service subnets as kubeadm does', () => {
    expect(cluster({})).toEqual([]);
    expect(cluster({ serviceSubnet: '10.96.0.0/12', podSubnet: '10.96.0.0/16' })).toEqual([]);
  });

  it('parses CIDRs: one per family or a dual-stack pair', () => {
    expect(cluster({ podSubnet: '10.244.0.0/33' })).toEqual([
      'networking.podSubnet: Invalid value: "10.244.0.0/33": couldn\'t parse subnet',
    ]);
    expect(cluster({ serviceSubnet: '10.96.0.0/16,10.97.0.0/16' })).toEqual([
      'networking.serviceSubnet: Invalid value: "10.96.0.0/16,10.97.0.0/16": expected one (IPv4 or IPv6) CIDR or two CIDRs from each family for dual-stack networking',
    ]);
    expect(cluster({ serviceSubnet: '10.96.0.0/16,fd00:10:96::/112' })).toEqual([]);
  });

  it('limits the service subnet size both ways and the pod subnet against the node mask', () => {
    expect(cluster({ serviceSubnet: '10.0.0.0/8' })).toEqual([
      'networking.serviceSubnet: Invalid value: "10.0.0.0/8": specified service subnet is too large; for 32-bit addresses, the mask must be >= 12',
    ]);
    expect(cluster({ serviceSubnet: '10.96.0.1/29' })).toEqual([
      'networking.serviceSubnet: Invalid value: "10.96.0.0/29": subnet with 8 address(es) is too small, the minimum is 10',
    ]);
    expect(cluster({ podSubnet: '10.244.0.0/25' })).toEqual([
      'networking.podSubnet: Invalid value: "10.244.0.0/25": the size of pod subnet with mask 25 is smaller than the size of node subnet with mask 24',
    ]);
    expect(
      cluster({ podSubnet: '10.0.0.0/8', controllerManagerExtra: [['node-cidr-mask-size-ipv4', '26']] }),
    ).toEqual([
      'networking.podSubnet: Invalid value: "10.0.0.0/8": pod subnet mask (8) and node-mask (26) difference is greater than 16',
    ]);
    expect(
      cluster({ podSubnet: '10.244.0.0/25', controllerManagerExtra: [['allocate-node-cidrs', 'false']] }),
    ).toEqual([]);
  });

  it('wants controlPlaneEndpoint as host[:port], without a scheme', () => {
    expect(cluster({ controlPlaneEndpoint: 'https://lb.example:6443' })).toEqual([
      'controlPlaneEndpoint: Invalid value: "https://lb.example:6443": endpoint is not valid',
    ]);
    expect(cluster({ controlPlaneEndpoint: 'lb.example:6443' })).toEqual([]);
    expect(cluster({ controlPlaneEndpoint: '[fd00::1]:6443' })).toEqual([]);
  });

  it('takes names, wildcard names and IPs as certSANs, and only DNS-1123 dnsDomain', () => {
    expect(cluster({ certSANs: ['lb.example', '*.example', '10.0.0.1', 'fd00::1'] })).toEqual([]);
    const bad = cluster({ certSANs: ['lb_example'], dnsDomain: 'Cluster.Local' });
    expect(bad[0]).toMatch(
      /^networking\.dnsDomain: Invalid value: "Cluster.Local": a lowercase RFC 1123 subdomain/,
    );
    expect(bad[1]).toMatch(
      /^apiServer\.certSANs: Invalid value: "lb_example": altname is not a valid IP address, DNS label or a DNS label with subdomain wildcards: /,
    );
  });

  it('knows the feature gates of each minor', () => {
    expect(cluster({ featureGates: { ControlPlaneKubeletLocalMode: true } }, 30)).toEqual([
      'featureGates: Invalid value: map[string]bool{"ControlPlaneKubeletLocalMode":true}: ControlPlaneKubeletLocalMode is not a valid feature name.',
    ]);
    expect(cluster({ featureGates: { ControlPlaneKubeletLocalMode: true } }, 31)).toEqual([]);
  });

  it('checks imageRepository as an image reference prefix', () => {
    expect(cluster({ imageRepository: 'https://registry.lab' })).toEqual([
      'imageRepository: Invalid value: "https://registry.lab": invalid image repository format',
    ]);
    expect(cluster({ imageRepository: 'registry.lab:5000/k8s' })).toEqual([]);
  });

  it('wants certificateKey as 32 hex-encoded bytes', () => {
    expect(certificateKeyErrors('certificateKey', 'abcd')).toEqual([
      'certificateKey: Invalid value: "abcd": invalid certificate key size 2, the key must be an AES key of size 32',
    ]);
    expect(certificateKeyErrors('certificateKey', 'zz')).toEqual([
      'certificateKey: Invalid value: "zz": certificate key decoding error: encoding/hex: invalid byte: U+007A \'z\'',
    ]);
    expect(certificateKeyErrors('certificateKey', 'ab'.repeat(32))).toEqual([]);
  });

  it('refuses "all" next to individual preflight checks', () => {
    expect(ignorePreflightErrors(['Swap'], ['all'])).toEqual([
      "ignore-preflight-errors: Invalid value: \"all,swap\": don't specify individual checks if 'all' is used",
    ]);
  });

  it('wants a port on the join endpoint and a DNS-1123 node name', () => {
    const errs = validateJoin({
      node: { name: 'node_1', criSocket: 'unix:///run/containerd/containerd.sock', kubeletExtra: [] },
      bootstrapToken: {
        token: 'abcdef.0123456789abcdef',
        apiServerEndpoint: '10.0.0.1',
        caCertHashes: ['sha256:00'],
        unsafeSkip: false,
      },
      tlsBootstrapToken: 'abcdef.0123456789abcdef',
      caCertPath: '/etc/kubernetes/pki/ca.crt',
    });
    expect(errs[0]).toBe(
      'discovery.bootstrapToken.apiServerEndpoint: Invalid value: "10.0.0.1": address 10.0.0.1: missing port in address',
    );
    expect(errs[1]).toMatch(
      /^nodeRegistration\.name: Invalid value: "node_1": a lowercase RFC 1123 subdomain/,
    );
  });
});

describe('kubeadm init refuses a semantically wrong config before touching the node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'standins-validate-'));
  const cfg = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('prints the aggregate of field errors', async () => {
    const path = cfg(
      'bad.yaml',
      [
        'apiVersion: kubeadm.k8s.io/v1beta4',
        'kind: InitConfiguration',
        'localAPIEndpoint:',
        '  advertiseAddress: 10.0.0.1',
        'nodeRegistration:',
        '  name: cp1',
        '---',
        'apiVersion: kubeadm.k8s.io/v1beta4',
        'kind: ClusterConfiguration',
        'kubernetesVersion: v1.31.14',
        'networking:',
        '  serviceSubnet: 10.0.0.0/8',
        '  podSubnet: 10.244.0.0/25',
        '',
      ].join('\n'),
    );
    const r = await runStandin('kubeadm', 'v1.31.14', ['init', '--config', path]);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(
      '[networking.serviceSubnet: Invalid value: "10.0.0.0/8": specified service subnet is too large; for 32-bit addresses, the mask must be >= 12, networking.podSubnet: Invalid value: "10.244.0.0/25": the size of pod subnet with mask 25 is smaller than the size of node subnet with mask 24]',
    );
  });

  it('fails on an advertise address that is not an IP, as dynamic defaulting does', async () => {
    const r = await runStandin('kubeadm', 'v1.31.14', ['init', '--apiserver-advertise-address', 'cp1.lab']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'couldn\'t use "cp1.lab" as "apiserver-advertise-address", must be ipv4 or ipv6 address',
    );
  });
});

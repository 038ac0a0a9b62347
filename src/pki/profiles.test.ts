import { describe, expect, it } from 'vitest';
import { validateSpec } from '../cluster/validate.js';
import { kubeadmApiVersion, kubeadmPkiConfig, kubeadmUpgradeFlags } from './kubeadm.js';
import {
  adminGroup,
  apiserverSans,
  controlKubeconfigProfile,
  etcdSans,
  kubeconfigProfiles,
  leafProfiles,
  serviceIps,
} from './profiles.js';

function spec(extra: Record<string, unknown> = {}) {
  return validateSpec({
    name: 'prod',
    version: 'v1.31.2',
    masters: [
      { ip: '192.0.2.11', name: 'cp-1' },
      { ip: '192.0.2.12', name: 'cp-2' },
    ],
    ...extra,
  }).spec;
}

const node = { name: 'cp-1', ip: '192.0.2.11' };

describe('kubeadm certificate profiles', () => {
  it('uses kubeadm:cluster-admins from 1.29 and system:masters before', () => {
    expect(adminGroup('v1.28.9')).toBe('system:masters');
    expect(adminGroup('v1.29.0')).toBe('kubeadm:cluster-admins');
    const old = leafProfiles(spec(), node, 'v1.28.9');
    const cur = leafProfiles(spec(), node, 'v1.30.1');
    const o = (list: typeof old, id: string) => list.find((l) => l.id === id)!.o;
    expect(o(old, 'apiserver-kubelet-client')).toEqual(['system:masters']);
    expect(o(cur, 'apiserver-kubelet-client')).toEqual(['kubeadm:cluster-admins']);
    expect(o(old, 'apiserver-etcd-client')).toEqual(['system:masters']);
    expect(o(cur, 'apiserver-etcd-client')).toEqual([]);
    expect(o(old, 'etcd-healthcheck-client')).toEqual(['system:masters']);
    expect(o(cur, 'etcd-healthcheck-client')).toEqual([]);
  });

  it('lays out kubeadm file names, CNs and usages', () => {
    const got = leafProfiles(spec(), node, 'v1.31.2').map((l) => [l.file, l.ca, l.cn, l.usages.join('+')]);
    expect(got).toEqual([
      ['apiserver', 'ca', 'kube-apiserver', 'serverAuth'],
      ['apiserver-kubelet-client', 'ca', 'kube-apiserver-kubelet-client', 'clientAuth'],
      ['front-proxy-client', 'front-proxy-ca', 'front-proxy-client', 'clientAuth'],
      ['etcd/server', 'etcd-ca', 'cp-1', 'serverAuth+clientAuth'],
      ['etcd/peer', 'etcd-ca', 'cp-1', 'serverAuth+clientAuth'],
      ['etcd/healthcheck-client', 'etcd-ca', 'kube-etcd-healthcheck-client', 'clientAuth'],
      ['apiserver-etcd-client', 'etcd-ca', 'kube-apiserver-etcd-client', 'clientAuth'],
    ]);
  });

  it('puts the kubernetes names, endpoint, LB, loopback and extra SANs in the apiserver certificate', () => {
    const s = spec({
      controlPlane: {
        endpoint: 'api.prod.example',
        lbIp: '198.51.100.7',
        mode: 'external',
        certSANs: ['k8s.example', '203.0.113.9'],
      },
      network: { serviceCIDR: '10.112.0.0/12', dnsDomain: 'corp.local' },
    });
    const sans = apiserverSans(s, node);
    expect(sans.dns).toEqual([
      'api.prod.example',
      'cp-1',
      'k8s.example',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.corp.local',
      'localhost',
    ]);
    expect(sans.ips).toEqual(['10.112.0.1', '192.0.2.11', '198.51.100.7', '127.0.0.1', '203.0.113.9']);
  });

  it('takes the first address of the service CIDR, IPv6 too', () => {
    expect(serviceIps(spec({ network: { serviceCIDR: 'fd00:10:96::/112' } }))).toEqual(['fd00:10:96::1']);
  });

  it('gives etcd server and peer the node name, IP and both loopbacks', () => {
    expect(etcdSans(node)).toEqual({ dns: ['cp-1', 'localhost'], ips: ['192.0.2.11', '127.0.0.1', '::1'] });
  });
});

describe('kubeadm kubeconfig profiles', () => {
  it('has super-admin.conf from 1.29 and kubelet.conf only on the first master', () => {
    const files = (v: string, first: boolean) =>
      kubeconfigProfiles(spec(), node, v, { first }).map((k) => k.file);
    expect(files('v1.28.3', true)).toEqual([
      'admin.conf',
      'controller-manager.conf',
      'scheduler.conf',
      'kubelet.conf',
    ]);
    expect(files('v1.29.0', false)).toEqual([
      'admin.conf',
      'super-admin.conf',
      'controller-manager.conf',
      'scheduler.conf',
    ]);
  });

  it('points admin at the endpoint, controller-manager/scheduler at the local API server, kubelet by version', () => {
    const server = (v: string) =>
      Object.fromEntries(kubeconfigProfiles(spec(), node, v, { first: true }).map((k) => [k.file, k.server]));
    const endpoint = 'https://apiserver.cluster.local:6443';
    const local = 'https://192.0.2.11:6443';
    expect(server('v1.32.4')).toEqual({
      'admin.conf': endpoint,
      'super-admin.conf': endpoint,
      'controller-manager.conf': local,
      'scheduler.conf': local,
      'kubelet.conf': endpoint,
    });
    expect(server('v1.33.0')['kubelet.conf']).toBe(local);
  });

  it('brackets IPv6 addresses in URLs', () => {
    const v6 = { name: 'cp-6', ip: 'fd00::11' };
    const cm = kubeconfigProfiles(spec(), v6, 'v1.31.0', { first: false }).find(
      (k) => k.file === 'scheduler.conf',
    )!;
    expect(cm.server).toBe('https://[fd00::11]:6443');
  });

  it('gives the control machine its own identity, a reachable server and the endpoint as TLS name', () => {
    const who = { user: 'ops', host: 'laptop' };
    const internal = controlKubeconfigProfile(spec(), 'v1.31.2', who);
    expect(internal).toMatchObject({
      user: 'kubeon:ops@laptop',
      o: ['kubeadm:cluster-admins'],
      server: 'https://192.0.2.11:6443',
      tlsServerName: 'apiserver.cluster.local',
    });
    const external = controlKubeconfigProfile(
      spec({ controlPlane: { lbIp: '198.51.100.7', port: 8443, mode: 'external' } }),
      'v1.28.1',
      who,
    );
    expect(external).toMatchObject({ server: 'https://198.51.100.7:8443', o: ['system:masters'] });
    expect(controlKubeconfigProfile(spec(), 'v1.31.2', who, '192.0.2.12').server).toBe(
      'https://192.0.2.12:6443',
    );
  });
});

describe('kubeadm config snippets', () => {
  it('uses v1beta3 map-style extraArgs before 1.31', () => {
    expect(kubeadmApiVersion('v1.30.9')).toBe('kubeadm.k8s.io/v1beta3');
    expect(kubeadmPkiConfig(spec(), 'v1.30.9')).toEqual({
      controllerManager: { extraArgs: { 'cluster-signing-duration': '876000h' } },
    });
    expect(kubeadmUpgradeFlags('v1.30.9')).toEqual(['--certificate-renewal=false']);
  });

  it('sets validity periods, the algorithm and list-style extraArgs from 1.31', () => {
    const s = spec({ pki: { certValidity: '87600h', caValidity: '876000h', keyAlgorithm: 'ECDSA-P256' } });
    expect(kubeadmApiVersion('v1.31.0')).toBe('kubeadm.k8s.io/v1beta4');
    expect(kubeadmPkiConfig(s, 'v1.37.1')).toEqual({
      certificateValidityPeriod: '87600h',
      caCertificateValidityPeriod: '876000h',
      encryptionAlgorithm: 'ECDSA-P256',
      controllerManager: { extraArgs: [{ name: 'cluster-signing-duration', value: '87600h' }] },
    });
    expect(kubeadmUpgradeFlags('v1.31.0')).toEqual([]);
  });

  it('asks v1beta3 for ECDSA through the PublicKeysECDSA feature gate', () => {
    const s = spec({ pki: { keyAlgorithm: 'ECDSA-P256' } });
    expect(kubeadmPkiConfig(s, 'v1.30.0').featureGates).toEqual({ PublicKeysECDSA: true });
  });
});

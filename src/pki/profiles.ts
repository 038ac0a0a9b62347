import semver from 'semver';
import { ipFamily, nthAddress, parseCidr } from '../cluster/net.js';
import type { ClusterSpec } from '../cluster/spec.js';
import { badInput } from '../core/errors.js';

/**
 * What kubeadm puts in each certificate and kubeconfig, per Kubernetes version: file names, subjects,
 * extended key usages, SANs and API server URLs. Pure data from (spec, node, version); `issue.ts`
 * turns a profile into a signed certificate. Sources are listed in src/pki/README.md.
 */

export type CaId = 'ca' | 'front-proxy-ca' | 'etcd-ca';
export type ExtUsage = 'serverAuth' | 'clientAuth';

export interface CaProfile {
  id: CaId;
  /** Path under the pki directory, without .crt/.key. */
  file: string;
  cn: string;
}

export interface LeafProfile {
  /** kubeadm's certificate name (as in `kubeadm certs check-expiration`). */
  id: string;
  file: string;
  ca: CaId;
  cn: string;
  o: string[];
  usages: ExtUsage[];
  dns: string[];
  ips: string[];
}

export interface KubeconfigProfile {
  /** File name under /etc/kubernetes. */
  file: string;
  /** User name in the kubeconfig, also the certificate's CN. */
  user: string;
  o: string[];
  server: string;
}

/** The node facts the PKI needs; the name must be known (resolved at first contact). */
export interface PkiNode {
  name: string;
  ip: string;
}

export const CAS: readonly CaProfile[] = [
  { id: 'ca', file: 'ca', cn: 'kubernetes' },
  { id: 'front-proxy-ca', file: 'front-proxy-ca', cn: 'front-proxy-ca' },
  { id: 'etcd-ca', file: 'etcd/ca', cn: 'etcd-ca' },
];

/** kube-apiserver's bind port on every master (kubeadm's LocalAPIEndpoint default). */
export const API_BIND_PORT = 6443;

const SYSTEM_MASTERS = 'system:masters';
const CLUSTER_ADMINS = 'kubeadm:cluster-admins';

export function minorOf(version: string): number {
  const v = semver.coerce(version);
  if (v?.major !== 1) throw badInput(`Kubernetes version "${version}" is not 1.x`, 'give e.g. v1.31.2');
  return v.minor;
}

/**
 * kubeadm 1.29 moved admin.conf and apiserver-kubelet-client to the `kubeadm:cluster-admins` group,
 * added super-admin.conf for `system:masters`, and dropped the organization from the two etcd client
 * certificates (kubernetes/kubernetes#119859, #120521, #121837; KEP-4214).
 */
function hasClusterAdmins(version: string): boolean {
  return minorOf(version) >= 29;
}

/** The group that gives cluster-admin to an admin client certificate on this version. */
export function adminGroup(version: string): string {
  return hasClusterAdmins(version) ? CLUSTER_ADMINS : SYSTEM_MASTERS;
}

/** Host part of a URL: IPv6 literals need brackets. */
export function urlHost(host: string): string {
  return ipFamily(host) === 6 ? `[${host}]` : host;
}

export function controlPlaneUrl(spec: ClusterSpec): string {
  return `https://${urlHost(spec.controlPlane.endpoint)}:${spec.controlPlane.port}`;
}

export function localApiUrl(node: PkiNode): string {
  return `https://${urlHost(node.ip)}:${API_BIND_PORT}`;
}

/** The kubernetes Service address: the first address of the service CIDR (IPv4 or IPv6). */
export function serviceIps(spec: ClusterSpec): string[] {
  const cidr = parseCidr(spec.network.serviceCIDR);
  if (!cidr)
    throw badInput(`service CIDR "${spec.network.serviceCIDR}" is not a CIDR`, 'write it like 10.96.0.0/12');
  return [nthAddress(cidr, 1)];
}

function uniq(values: string[]): string[] {
  return [...new Set(values)];
}

/** Splits names and addresses the way kubeadm's appendSANsToAltNames does. */
function splitSans(values: string[]): { dns: string[]; ips: string[] } {
  return {
    dns: values.filter((v) => ipFamily(v) === 0),
    ips: values.filter((v) => ipFamily(v) !== 0),
  };
}

/**
 * kubeadm's GetAPIServerAltNames (node name, the kubernetes Service names, first service IP, advertise
 * address, control-plane endpoint, certSANs), plus what kubeon's HA modes reach the API server by:
 * the external LB address and loopback (workers' haproxy dials masters, kubectl on a master may use
 * localhost). kubeadm sorts and de-duplicates DNS names; IPs keep their order.
 */
export function apiserverSans(spec: ClusterSpec, node: PkiNode): { dns: string[]; ips: string[] } {
  const extra = splitSans(spec.controlPlane.certSANs);
  const dns = uniq([
    node.name,
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    `kubernetes.default.svc.${spec.network.dnsDomain}`,
    spec.controlPlane.endpoint,
    'localhost',
    ...extra.dns,
  ]).sort();
  const ips = uniq([
    ...serviceIps(spec),
    node.ip,
    ...(spec.controlPlane.lbIp ? [spec.controlPlane.lbIp] : []),
    '127.0.0.1',
    ...extra.ips,
  ]);
  return { dns, ips };
}

/** kubeadm's getAltNames for etcd server and peer: node name, localhost, advertise IP, both loopbacks. */
export function etcdSans(node: PkiNode): { dns: string[]; ips: string[] } {
  return { dns: uniq([node.name, 'localhost']).sort(), ips: uniq([node.ip, '127.0.0.1', '::1']) };
}

/** The certificates every master has of its own (kubeadm's GetDefaultCertList minus the CAs). */
export function leafProfiles(spec: ClusterSpec, node: PkiNode, version: string): LeafProfile[] {
  const modern = hasClusterAdmins(version);
  const etcdClientOrg = modern ? [] : [SYSTEM_MASTERS];
  const api = apiserverSans(spec, node);
  const etcd = etcdSans(node);
  const none = { dns: [], ips: [] };
  return [
    {
      id: 'apiserver',
      file: 'apiserver',
      ca: 'ca',
      cn: 'kube-apiserver',
      o: [],
      usages: ['serverAuth'],
      ...api,
    },
    {
      id: 'apiserver-kubelet-client',
      file: 'apiserver-kubelet-client',
      ca: 'ca',
      cn: 'kube-apiserver-kubelet-client',
      o: [adminGroup(version)],
      usages: ['clientAuth'],
      ...none,
    },
    {
      id: 'front-proxy-client',
      file: 'front-proxy-client',
      ca: 'front-proxy-ca',
      cn: 'front-proxy-client',
      o: [],
      usages: ['clientAuth'],
      ...none,
    },
    {
      id: 'etcd-server',
      file: 'etcd/server',
      ca: 'etcd-ca',
      cn: node.name,
      o: [],
      // etcd also dials itself as a client with its server certificate (etcd-io/etcd#9785).
      usages: ['serverAuth', 'clientAuth'],
      ...etcd,
    },
    {
      id: 'etcd-peer',
      file: 'etcd/peer',
      ca: 'etcd-ca',
      cn: node.name,
      o: [],
      usages: ['serverAuth', 'clientAuth'],
      ...etcd,
    },
    {
      id: 'etcd-healthcheck-client',
      file: 'etcd/healthcheck-client',
      ca: 'etcd-ca',
      cn: 'kube-etcd-healthcheck-client',
      o: etcdClientOrg,
      usages: ['clientAuth'],
      ...none,
    },
    {
      id: 'apiserver-etcd-client',
      file: 'apiserver-etcd-client',
      ca: 'etcd-ca',
      cn: 'kube-apiserver-etcd-client',
      o: etcdClientOrg,
      usages: ['clientAuth'],
      ...none,
    },
  ];
}

/**
 * kubeadm's kubeconfig files for a master. admin/super-admin talk to the control-plane endpoint and
 * controller-manager/scheduler to their own API server (since 1.19.1/1.20, kubernetes/kubernetes#94398). kubelet.conf is made only for the first master
 * (joining masters get theirs by TLS bootstrap, and kubeadm join refuses an existing one); it points at
 * the endpoint until 1.32 and at the local API server from 1.33, where ControlPlaneKubeletLocalMode
 * became default (beta 1.33, GA 1.35; kubernetes/kubernetes#129956, #134106).
 */
export function kubeconfigProfiles(
  spec: ClusterSpec,
  node: PkiNode,
  version: string,
  opts: { first: boolean },
): KubeconfigProfile[] {
  const endpoint = controlPlaneUrl(spec);
  const local = localApiUrl(node);
  const out: KubeconfigProfile[] = [
    { file: 'admin.conf', user: 'kubernetes-admin', o: [adminGroup(version)], server: endpoint },
  ];
  if (hasClusterAdmins(version)) {
    out.push({
      file: 'super-admin.conf',
      user: 'kubernetes-super-admin',
      o: [SYSTEM_MASTERS],
      server: endpoint,
    });
  }
  out.push(
    { file: 'controller-manager.conf', user: 'system:kube-controller-manager', o: [], server: local },
    { file: 'scheduler.conf', user: 'system:kube-scheduler', o: [], server: local },
  );
  if (opts.first) {
    out.push({
      file: 'kubelet.conf',
      user: `system:node:${node.name}`,
      o: ['system:nodes'],
      server: minorOf(version) >= 33 ? local : endpoint,
    });
  }
  return out;
}

export interface ControlKubeconfigProfile extends KubeconfigProfile {
  /** The endpoint name the API server certificate carries, checked instead of the dialled address. */
  tlsServerName: string;
}

/**
 * The control machine's own kubeconfig: a dedicated identity (revocable on its own, unlike the shared
 * super-admin) at an address this machine can reach, verified against the endpoint name so that
 * several clusters with the same endpoint name work side by side without /etc/hosts entries.
 */
export function controlKubeconfigProfile(
  spec: ClusterSpec,
  version: string,
  who: { user: string; host: string },
  reachable?: string,
): ControlKubeconfigProfile {
  const cp = spec.controlPlane;
  const server =
    cp.mode === 'external' && cp.lbIp
      ? `https://${urlHost(cp.lbIp)}:${cp.port}`
      : `https://${urlHost(reachable ?? spec.masters[0]!.ip)}:${API_BIND_PORT}`;
  return {
    file: 'kubeconfig',
    user: `kubeon:${who.user}@${who.host}`,
    o: [adminGroup(version)],
    server,
    tlsServerName: cp.endpoint,
  };
}

/**
 * Static Pod manifests as kubeadm's controlplane and etcd phases write them: flags sorted by name
 * with extraArgs overriding defaults, the component's hostPath volumes, probes on the component's
 * health endpoints, and the annotations kubeadm later reads back (etcd client URLs, apiserver
 * endpoint).
 */
import { stringify } from 'yaml';
import { factsFor, type Version } from './versions.js';

export interface ControlPlaneInput {
  version: Version;
  nodeName: string;
  advertise: string;
  bindPort: number;
  imageRepository: string;
  serviceSubnet: string;
  podSubnet?: string;
  dnsDomain: string;
  clusterName: string;
  certDir: string;
  etcdDataDir: string;
  etcdImageTag?: string;
  externalEtcd?: { endpoints: string[]; caFile: string; certFile: string; keyFile: string };
  extra: {
    apiServer: [string, string][];
    controllerManager: [string, string][];
    scheduler: [string, string][];
    etcd: [string, string][];
  };
  extraVolumes: { apiServer: Volume[]; controllerManager: Volume[]; scheduler: Volume[] };
}

export interface Volume {
  name: string;
  hostPath: string;
  mountPath: string;
  readOnly?: boolean;
  pathType?: string;
}

function flags(defaults: Record<string, string>, extra: [string, string][]): string[] {
  const all = new Map(Object.entries(defaults));
  for (const [k, v] of extra) all.set(k, v);
  return [...all.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `--${k}=${v}`);
}

function probe(host: string, path: string, port: number, scheme: 'HTTP' | 'HTTPS', failureThreshold: number) {
  return {
    failureThreshold,
    httpGet: { host, path, port, scheme },
    initialDelaySeconds: 10,
    periodSeconds: 10,
    timeoutSeconds: 15,
  };
}

function pod(
  name: string,
  image: string,
  command: string[],
  volumes: Volume[],
  probes: Record<string, unknown>,
  annotations?: Record<string, string>,
  cpu = '250m',
) {
  return stringify(
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        ...(annotations ? { annotations } : {}),
        labels: { component: name, tier: 'control-plane' },
        name,
        namespace: 'kube-system',
      },
      spec: {
        containers: [
          {
            command,
            image,
            imagePullPolicy: 'IfNotPresent',
            ...probes,
            name,
            resources: { requests: { cpu } },
            volumeMounts: volumes.map((v) => ({
              mountPath: v.mountPath,
              name: v.name,
              ...(v.readOnly ? { readOnly: true } : {}),
            })),
          },
        ],
        hostNetwork: true,
        priority: 2000001000,
        priorityClassName: 'system-node-critical',
        securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
        volumes: volumes.map((v) => ({
          hostPath: { path: v.hostPath, type: v.pathType ?? 'DirectoryOrCreate' },
          name: v.name,
        })),
      },
      status: {},
    },
    { version: '1.1' },
  );
}

const caVolumes: Volume[] = [
  { name: 'ca-certs', hostPath: '/etc/ssl/certs', mountPath: '/etc/ssl/certs', readOnly: true },
  {
    name: 'etc-ca-certificates',
    hostPath: '/etc/ca-certificates',
    mountPath: '/etc/ca-certificates',
    readOnly: true,
  },
];

export function apiserverManifest(c: ControlPlaneInput): string {
  const p = c.certDir;
  const etcd = c.externalEtcd
    ? {
        'etcd-servers': c.externalEtcd.endpoints.join(','),
        'etcd-cafile': c.externalEtcd.caFile,
        'etcd-certfile': c.externalEtcd.certFile,
        'etcd-keyfile': c.externalEtcd.keyFile,
      }
    : {
        'etcd-servers': 'https://127.0.0.1:2379',
        'etcd-cafile': `${p}/etcd/ca.crt`,
        'etcd-certfile': `${p}/apiserver-etcd-client.crt`,
        'etcd-keyfile': `${p}/apiserver-etcd-client.key`,
      };
  const command = [
    'kube-apiserver',
    ...flags(
      {
        'advertise-address': c.advertise,
        'allow-privileged': 'true',
        'authorization-mode': 'Node,RBAC',
        'client-ca-file': `${p}/ca.crt`,
        'enable-admission-plugins': 'NodeRestriction',
        'enable-bootstrap-token-auth': 'true',
        ...etcd,
        'kubelet-client-certificate': `${p}/apiserver-kubelet-client.crt`,
        'kubelet-client-key': `${p}/apiserver-kubelet-client.key`,
        'kubelet-preferred-address-types': 'InternalIP,ExternalIP,Hostname',
        'proxy-client-cert-file': `${p}/front-proxy-client.crt`,
        'proxy-client-key-file': `${p}/front-proxy-client.key`,
        'requestheader-allowed-names': 'front-proxy-client',
        'requestheader-client-ca-file': `${p}/front-proxy-ca.crt`,
        'requestheader-extra-headers-prefix': 'X-Remote-Extra-',
        'requestheader-group-headers': 'X-Remote-Group',
        'requestheader-username-headers': 'X-Remote-User',
        'secure-port': String(c.bindPort),
        'service-account-issuer': `https://kubernetes.default.svc.${c.dnsDomain}`,
        'service-account-key-file': `${p}/sa.pub`,
        'service-account-signing-key-file': `${p}/sa.key`,
        'service-cluster-ip-range': c.serviceSubnet,
        'tls-cert-file': `${p}/apiserver.crt`,
        'tls-private-key-file': `${p}/apiserver.key`,
      },
      c.extra.apiServer,
    ),
  ];
  const volumes = [
    ...caVolumes,
    { name: 'k8s-certs', hostPath: p, mountPath: p, readOnly: true },
    ...c.extraVolumes.apiServer,
  ];
  return pod(
    'kube-apiserver',
    `${c.imageRepository}/kube-apiserver:${c.version.text}`,
    command,
    volumes,
    {
      livenessProbe: probe(c.advertise, '/livez', c.bindPort, 'HTTPS', 8),
      readinessProbe: {
        ...probe(c.advertise, '/readyz', c.bindPort, 'HTTPS', 3),
        initialDelaySeconds: undefined,
        periodSeconds: 1,
      },
      startupProbe: probe(c.advertise, '/livez', c.bindPort, 'HTTPS', 24),
    },
    { 'kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint': `${c.advertise}:${c.bindPort}` },
  );
}

export function controllerManagerManifest(c: ControlPlaneInput): string {
  const p = c.certDir;
  const conf = '/etc/kubernetes/controller-manager.conf';
  const defaults: Record<string, string> = {
    'authentication-kubeconfig': conf,
    'authorization-kubeconfig': conf,
    'bind-address': '127.0.0.1',
    'client-ca-file': `${p}/ca.crt`,
    'cluster-name': c.clusterName,
    'cluster-signing-cert-file': `${p}/ca.crt`,
    'cluster-signing-key-file': `${p}/ca.key`,
    controllers: '*,bootstrapsigner,tokencleaner',
    kubeconfig: conf,
    'leader-elect': 'true',
    'requestheader-client-ca-file': `${p}/front-proxy-ca.crt`,
    'root-ca-file': `${p}/ca.crt`,
    'service-account-private-key-file': `${p}/sa.key`,
    'service-cluster-ip-range': c.serviceSubnet,
    'use-service-account-credentials': 'true',
  };
  if (c.podSubnet) {
    defaults['allocate-node-cidrs'] = 'true';
    defaults['cluster-cidr'] = c.podSubnet;
  }
  const volumes: Volume[] = [
    ...caVolumes,
    {
      name: 'flexvolume-dir',
      hostPath: '/usr/libexec/kubernetes/kubelet-plugins/volume/exec',
      mountPath: '/usr/libexec/kubernetes/kubelet-plugins/volume/exec',
    },
    { name: 'k8s-certs', hostPath: p, mountPath: p, readOnly: true },
    { name: 'kubeconfig', hostPath: conf, mountPath: conf, readOnly: true, pathType: 'FileOrCreate' },
    ...c.extraVolumes.controllerManager,
  ];
  return pod(
    'kube-controller-manager',
    `${c.imageRepository}/kube-controller-manager:${c.version.text}`,
    ['kube-controller-manager', ...flags(defaults, c.extra.controllerManager)],
    volumes,
    {
      livenessProbe: probe('127.0.0.1', '/healthz', 10257, 'HTTPS', 8),
      startupProbe: probe('127.0.0.1', '/healthz', 10257, 'HTTPS', 24),
    },
    undefined,
    '200m',
  );
}

export function schedulerManifest(c: ControlPlaneInput): string {
  const conf = '/etc/kubernetes/scheduler.conf';
  const defaults = {
    'authentication-kubeconfig': conf,
    'authorization-kubeconfig': conf,
    'bind-address': '127.0.0.1',
    kubeconfig: conf,
    'leader-elect': 'true',
  };
  return pod(
    'kube-scheduler',
    `${c.imageRepository}/kube-scheduler:${c.version.text}`,
    ['kube-scheduler', ...flags(defaults, c.extra.scheduler)],
    [
      { name: 'kubeconfig', hostPath: conf, mountPath: conf, readOnly: true, pathType: 'FileOrCreate' },
      ...c.extraVolumes.scheduler,
    ],
    {
      livenessProbe: probe('127.0.0.1', '/healthz', 10259, 'HTTPS', 8),
      startupProbe: probe('127.0.0.1', '/healthz', 10259, 'HTTPS', 24),
    },
    undefined,
    '100m',
  );
}

export function etcdManifest(c: ControlPlaneInput, initialCluster: string, existing: boolean): string {
  const p = c.certDir;
  const ip = c.advertise;
  const tag = c.etcdImageTag ?? factsFor(c.version.minor).etcd;
  const v36 = tag.startsWith('3.6');
  const defaults: Record<string, string> = {
    'advertise-client-urls': `https://${ip}:2379`,
    'cert-file': `${p}/etcd/server.crt`,
    'client-cert-auth': 'true',
    'data-dir': c.etcdDataDir,
    'initial-advertise-peer-urls': `https://${ip}:2380`,
    'initial-cluster': initialCluster,
    'key-file': `${p}/etcd/server.key`,
    'listen-client-urls': `https://127.0.0.1:2379,https://${ip}:2379`,
    'listen-metrics-urls': 'http://127.0.0.1:2381',
    'listen-peer-urls': `https://${ip}:2380`,
    name: c.nodeName,
    'peer-cert-file': `${p}/etcd/peer.crt`,
    'peer-client-cert-auth': 'true',
    'peer-key-file': `${p}/etcd/peer.key`,
    'peer-trusted-ca-file': `${p}/etcd/ca.crt`,
    'snapshot-count': '10000',
    'trusted-ca-file': `${p}/etcd/ca.crt`,
  };
  if (v36) {
    defaults['feature-gates'] = 'InitialCorruptCheck=true';
    defaults['watch-progress-notify-interval'] = '5s';
  } else {
    defaults['experimental-initial-corrupt-check'] = 'true';
    defaults['experimental-watch-progress-notify-interval'] = '5s';
  }
  if (existing) defaults['initial-cluster-state'] = 'existing';
  const probePath = c.version.minor >= 32 ? '/livez' : '/health?exclude=NOSPACE&serializable=true';
  return pod(
    'etcd',
    `${c.imageRepository}/etcd:${tag}`,
    ['etcd', ...flags(defaults, c.extra.etcd)],
    [
      { name: 'etcd-certs', hostPath: `${p}/etcd`, mountPath: `${p}/etcd` },
      { name: 'etcd-data', hostPath: c.etcdDataDir, mountPath: c.etcdDataDir },
    ],
    {
      livenessProbe: probe('127.0.0.1', probePath, 2381, 'HTTP', 8),
      startupProbe: probe('127.0.0.1', probePath, 2381, 'HTTP', 24),
    },
    { 'kubeadm.kubernetes.io/etcd.advertise-client-urls': `https://${ip}:2379` },
    '100m',
  );
}

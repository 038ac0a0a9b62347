import { stringify } from 'yaml';
import { type ExtraArg, kubeadmApiVersion, kubeadmPkiConfig } from '../pki/kubeadm.js';
import type { InitSecrets, JoinSecrets, RenderInput } from './inputs.js';
import { CRI_SOCKET } from './runtime.js';

/**
 * kubeadm's configuration per version: kubeadm.k8s.io/v1beta3 below 1.31, v1beta4 from 1.31
 * (list-style extraArgs, a `timeouts` block instead of per-field timeouts). Field names follow
 * cmd/kubeadm/app/apis/kubeadm/{v1beta3,v1beta4}/types.go. The output holds a bootstrap token and
 * the certificate key: the caller places it 0600 and removes it after use.
 */

export const KUBEADM_CONFIG_DIR = '/etc/kubeon/kubeadm';
export const INIT_CONFIG_PATH = `${KUBEADM_CONFIG_DIR}/init.yaml`;
export const JOIN_CONFIG_PATH = `${KUBEADM_CONFIG_DIR}/join.yaml`;

const API_BIND_PORT = 6443;
/** Long enough for a slow node to pull its control-plane images, short enough to fail visibly. */
const CONTROL_PLANE_WAIT = '5m0s';
const DISCOVERY_WAIT = '5m0s';
const RESERVED_ROLE_LABEL = /^node-role\.kubernetes\.io\//;

type Doc = Record<string, unknown>;
type Args = Record<string, string>;

function isV1beta4(version: string): boolean {
  return kubeadmApiVersion(version) === 'kubeadm.k8s.io/v1beta4';
}

/** extraArgs in the version's spelling: a map in v1beta3, a list of {name, value} in v1beta4. */
function extraArgs(version: string, args: Args): Args | ExtraArg[] {
  return isV1beta4(version) ? Object.entries(args).map(([name, value]) => ({ name, value })) : args;
}

function asArgs(v: Record<string, string> | ExtraArg[]): Args {
  return Array.isArray(v) ? Object.fromEntries(v.map((a) => [a.name, a.value])) : v;
}

/**
 * The kubelet flags kubeadm writes to kubeadm-flags.env. Role labels are reserved for the API (the
 * kubelet's NodeRestriction refuses them), so kubeon sets them after the join instead.
 */
export function kubeletExtraArgs(input: RenderInput): Args {
  const labels = Object.entries(input.host.node.labels)
    .filter(([k]) => !RESERVED_ROLE_LABEL.test(k))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  return { 'node-ip': input.host.node.ip, ...(labels.length ? { 'node-labels': labels.join(',') } : {}) };
}

function nodeRegistration(input: RenderInput): Doc {
  return {
    name: input.host.node.name,
    criSocket: CRI_SOCKET,
    imagePullPolicy: 'IfNotPresent',
    kubeletExtraArgs: extraArgs(input.version, kubeletExtraArgs(input)),
  };
}

function header(input: RenderInput, kind: string): Doc {
  return { apiVersion: kubeadmApiVersion(input.version), kind };
}

export function controlPlaneEndpoint(input: Pick<RenderInput, 'endpoint'>): string {
  const { name, port } = input.endpoint;
  return `${name.includes(':') ? `[${name}]` : name}:${port}`;
}

function certSans(input: RenderInput): string[] {
  const cp = input.spec.controlPlane;
  return [...new Set([cp.endpoint, ...(cp.lbIp ? [cp.lbIp] : []), '127.0.0.1', ...cp.certSANs])];
}

function clusterConfiguration(input: RenderInput): Doc {
  const { spec, version } = input;
  const b4 = isV1beta4(version);
  const pki = kubeadmPkiConfig(spec, version);
  const images = input.components.images;
  const controllerManagerArgs = {
    // The CNI plugins kubeon installs take each node's pod range from the node object.
    'allocate-node-cidrs': 'true',
    ...asArgs(pki.controllerManager.extraArgs),
  };
  return {
    ...header(input, 'ClusterConfiguration'),
    clusterName: spec.name,
    kubernetesVersion: version,
    controlPlaneEndpoint: controlPlaneEndpoint(input),
    certificatesDir: '/etc/kubernetes/pki',
    imageRepository: images.imageRepository,
    ...(images.dnsImageRepository ? { dns: { imageRepository: images.dnsImageRepository } } : {}),
    etcd: { local: { dataDir: '/var/lib/etcd' } },
    networking: {
      serviceSubnet: spec.network.serviceCIDR,
      podSubnet: spec.network.podCIDR,
      dnsDomain: spec.network.dnsDomain,
    },
    apiServer: {
      certSANs: certSans(input),
      extraArgs: extraArgs(version, { 'service-node-port-range': spec.network.nodePortRange }),
      ...(b4 ? {} : { timeoutForControlPlane: CONTROL_PLANE_WAIT }),
    },
    controllerManager: { extraArgs: extraArgs(version, controllerManagerArgs) },
    scheduler: {},
    ...(pki.featureGates ? { featureGates: pki.featureGates } : {}),
    ...(pki.encryptionAlgorithm ? { encryptionAlgorithm: pki.encryptionAlgorithm } : {}),
    ...(pki.certificateValidityPeriod ? { certificateValidityPeriod: pki.certificateValidityPeriod } : {}),
    ...(pki.caCertificateValidityPeriod
      ? { caCertificateValidityPeriod: pki.caCertificateValidityPeriod }
      : {}),
  };
}

export interface KubeProxyOptions {
  /** IPVS mode: addresses kube-proxy must leave alone (e.g. an HA mode's own virtual addresses). */
  ipvsExcludeCIDRs?: readonly string[];
}

/** An external LB address may sit on the nodes' own links (keepalived): kube-proxy must not clean it up. */
function ipvsExclude(input: RenderInput, opts: KubeProxyOptions): string[] {
  const lb = input.spec.controlPlane.lbIp;
  const own = lb ? [`${lb}/${lb.includes(':') ? 128 : 32}`] : [];
  return [...new Set([...own, ...(opts.ipvsExcludeCIDRs ?? [])])];
}

function kubeProxyConfiguration(input: RenderInput, opts: KubeProxyOptions): Doc {
  const ipvs = input.spec.network.proxyMode === 'ipvs';
  return {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: input.spec.network.proxyMode,
    clusterCIDR: input.spec.network.podCIDR,
    // strictARP lets a load balancer announce service addresses without kube-ipvs0 answering for them.
    ...(ipvs ? { ipvs: { strictARP: true, excludeCIDRs: ipvsExclude(input, opts) } } : {}),
  };
}

function kubeletConfiguration(input: RenderInput): Doc {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // Must match containerd's SystemdCgroup = true: two cgroup managers on one node fight.
    cgroupDriver: 'systemd',
    containerRuntimeEndpoint: CRI_SOCKET,
    clusterDomain: input.spec.network.dnsDomain,
    maxPods: input.spec.kubelet.maxPods,
    rotateCertificates: true,
  };
}

function documents(docs: Doc[]): string {
  return docs.map((d) => stringify(d, { version: '1.1' })).join('---\n');
}

/** InitConfiguration, ClusterConfiguration, KubeProxyConfiguration and KubeletConfiguration for the first master. */
export function kubeadmInitConfig(
  input: RenderInput,
  secrets: InitSecrets,
  opts: KubeProxyOptions = {},
): string {
  const b4 = isV1beta4(input.version);
  const init: Doc = {
    ...header(input, 'InitConfiguration'),
    bootstrapTokens: [
      {
        token: secrets.token,
        description: `kubeon ${input.spec.name}: joins nodes during create`,
        ttl: '24h0m0s',
        usages: ['signing', 'authentication'],
        groups: ['system:bootstrappers:kubeadm:default-node-token'],
      },
    ],
    certificateKey: secrets.certificateKey,
    localAPIEndpoint: { advertiseAddress: input.host.node.ip, bindPort: API_BIND_PORT },
    nodeRegistration: nodeRegistration(input),
    ...(b4 ? { timeouts: { controlPlaneComponentHealthCheck: CONTROL_PLANE_WAIT } } : {}),
  };
  return documents([
    init,
    clusterConfiguration(input),
    kubeProxyConfiguration(input, opts),
    kubeletConfiguration(input),
  ]);
}

/** JoinConfiguration for a master (with `secrets.certificateKey`) or a worker (without). */
export function kubeadmJoinConfig(input: RenderInput, secrets: JoinSecrets): string {
  const b4 = isV1beta4(input.version);
  const master = input.host.node.role === 'master';
  if (master && !secrets.certificateKey) {
    throw new Error(`joining master ${input.host.node.name} needs the certificate key of this run`);
  }
  const join: Doc = {
    ...header(input, 'JoinConfiguration'),
    discovery: {
      bootstrapToken: {
        apiServerEndpoint: controlPlaneEndpoint(input),
        token: secrets.token,
        caCertHashes: [secrets.caCertHash],
      },
      ...(b4 ? {} : { timeout: DISCOVERY_WAIT }),
    },
    nodeRegistration: nodeRegistration(input),
    ...(master
      ? {
          controlPlane: {
            localAPIEndpoint: { advertiseAddress: input.host.node.ip, bindPort: API_BIND_PORT },
            certificateKey: secrets.certificateKey,
          },
        }
      : {}),
    ...(b4
      ? { timeouts: { discovery: DISCOVERY_WAIT, controlPlaneComponentHealthCheck: CONTROL_PLANE_WAIT } }
      : {}),
  };
  return documents([join]);
}

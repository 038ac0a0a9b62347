/**
 * Turns kubeadm flags and config documents into one plan, with kubeadm's defaults
 * (defaults.go of each kubeadm API version) and its rule that --config may only be
 * combined with a few flags.
 */
import { ConfigError, type Doc, extraArgs, get, getStr, loadConfigFile } from './config.js';
import { bool, durationMs, list, type ParsedFlags, str } from './flags.js';
import { generateToken } from './kubeadm-cluster.js';
import { MIX_ALLOWED } from './kubeadm-flags.js';
import type { Volume } from './manifests.js';
import { parseHostPort } from './netaddr.js';
import type { Algo } from './pki.js';
import { defaultAddress, nodeName } from './sys.js';
import {
  advertiseAddressError,
  aggregate,
  type ClusterView,
  ignorePreflightErrors,
  type JoinView,
  type TokenView,
  validateInit,
  validateJoin,
} from './validate-config.js';
import { kubeadmFeatureGates, parseVersion, type Version } from './versions.js';

export interface Plan {
  api: 'v1beta3' | 'v1beta4';
  kubernetesVersion: Version;
  controlPlaneEndpoint?: string;
  imageRepository: string;
  serviceSubnet: string;
  podSubnet?: string;
  dnsDomain: string;
  clusterName: string;
  certDir: string;
  etcd: {
    local: boolean;
    dataDir: string;
    imageTag?: string;
    extra: [string, string][];
    serverSANs: string[];
    peerSANs: string[];
    external?: { endpoints: string[]; caFile: string; certFile: string; keyFile: string };
  };
  apiServer: { extra: [string, string][]; certSANs: string[]; volumes: Volume[] };
  controllerManager: { extra: [string, string][]; volumes: Volume[] };
  scheduler: { extra: [string, string][]; volumes: Volume[] };
  validityMs: number;
  caValidityMs: number;
  algo: Algo;
  node: {
    name: string;
    criSocket: string;
    taints?: unknown[];
    kubeletExtra: [string, string][];
    ignore: string[];
    /** nodeRegistration.imagePullPolicy: what kubeadm's ImagePull check does. */
    imagePullPolicy?: string;
  };
  advertise: string;
  bindPort: number;
  tokens: { token: string; ttlMs: number; usages: string[]; groups: string[]; description?: string }[];
  certificateKey?: string;
  uploadCerts: boolean;
  skipPhases: string[];
  patchesDir?: string;
  /** every phase --skip-phases turns off, sub-phases included (lib/phases.ts) */
  skipped: Set<string>;
  kubelet?: Doc;
  kubeProxy?: Doc;
  clusterDoc: Doc;
  featureGates: Record<string, boolean>;
  join?: {
    endpoint?: string;
    token?: string;
    tlsBootstrapToken?: string;
    caHashes: string[];
    unsafeSkip: boolean;
    discoveryFile?: string;
    controlPlane: boolean;
    timeoutMs: number;
  };
  timeouts: { controlPlane: number; kubelet: number; tlsBootstrap: number; discovery: number; etcd: number };
}

const YEAR = 365 * 24 * 3600e3;

/** ValidateMixedArguments; `--yes` joined the allowed flags in 1.31, with UpgradeConfiguration. */
export function checkMixed(flags: ParsedFlags, minor: number): void {
  if (!flags.values.has('config')) return;
  const allowed = (k: string) => MIX_ALLOWED.has(k) || k.startsWith('skip-') || (k === 'yes' && minor >= 31);
  const bad = [...flags.values.keys()].filter((k) => !allowed(k));
  if (bad.length) throw new ConfigError(`can not mix '--config' with arguments [${bad.join(' ')}]`);
}

function volumes(v: unknown): Volume[] {
  return Array.isArray(v) ? (v as Volume[]) : [];
}

export function buildPlan(kind: 'init' | 'join', flags: ParsedFlags, kubeadm: Version, args: string[]): Plan {
  checkMixed(flags, kubeadm.minor);
  const cfgPath = str(flags, 'config');
  const wanted = kind === 'init' ? ['InitConfiguration', 'ClusterConfiguration'] : ['JoinConfiguration'];
  const config = cfgPath ? loadConfigFile(cfgPath, kubeadm.minor, wanted) : undefined;
  for (const w of config?.warnings ?? []) process.stderr.write(`${w}\n`);
  const init = config?.docs.get('InitConfiguration');
  const cluster = config?.docs.get('ClusterConfiguration') ?? {};
  const join = config?.docs.get('JoinConfiguration');
  if (kind === 'join' && cfgPath && !join)
    throw new ConfigError(`no JoinConfiguration found in the supplied config`);
  const api = config?.api ?? (kubeadm.minor >= 31 ? 'v1beta4' : 'v1beta3');

  const versionText = str(flags, 'kubernetes-version') ?? getStr(cluster, 'kubernetesVersion');
  let kubernetesVersion = kubeadm;
  if (versionText) {
    const v = parseVersion(versionText);
    if (!v) throw new ConfigError(`couldn't parse Kubernetes version "${versionText}"`);
    kubernetesVersion = v;
  } else if (kind === 'init') {
    process.stderr.write(
      `W: could not fetch a Kubernetes version from the internet: unable to get URL "https://dl.k8s.io/release/stable-1.txt": Get "https://dl.k8s.io/release/stable-1.txt": dial tcp: lookup dl.k8s.io: no such host\nW: falling back to the local client version: ${kubeadm.text}\n`,
    );
  }
  if (kind === 'init') {
    if (kubernetesVersion.minor < kubeadm.minor - 1) {
      throw new ConfigError(
        `this version of kubeadm only supports deploying clusters with the control plane version >= 1.${kubeadm.minor - 1}.0. Current version: ${kubernetesVersion.text}`,
      );
    }
    if (kubernetesVersion.minor > kubeadm.minor) {
      process.stderr.write(
        `W: Kubernetes version is greater than kubeadm version. Please consider to upgrade kubeadm. Kubernetes version: ${kubernetesVersion.text}. Kubeadm version: 1.${kubeadm.minor}.x\n`,
      );
    }
  }
  const nodeReg = (kind === 'init' ? init : join)?.nodeRegistration as Doc | undefined;
  const localEp = (kind === 'init' ? init?.localAPIEndpoint : get(join, 'controlPlane.localAPIEndpoint')) as
    | Doc
    | undefined;
  const v4 = api === 'v1beta4';
  const validity = getStr(cluster, 'certificateValidityPeriod');
  const caValidity = getStr(cluster, 'caCertificateValidityPeriod');
  const enc = getStr(cluster, 'encryptionAlgorithm') ?? 'RSA-2048';
  if (!['RSA-2048', 'RSA-3072', 'RSA-4096', 'ECDSA-P256', 'ECDSA-P384'].includes(enc)) {
    throw new ConfigError(`ClusterConfiguration.encryptionAlgorithm: Unsupported value: "${enc}"`);
  }
  const timeouts = (kind === 'init' ? init?.timeouts : join?.timeouts) as Doc | undefined;
  const t = (name: string, def: number) => {
    const v = timeouts?.[name];
    return typeof v === 'string' ? durationMs(v) : def;
  };
  const ext = get(cluster, 'etcd.external') as Doc | undefined;
  const tokensDoc = (init?.bootstrapTokens as Doc[] | undefined) ?? [{}];
  const flagToken = str(flags, 'token');
  const tokens = tokensDoc.map((d, i) => {
    const tok: Plan['tokens'][number] = {
      token: (i === 0 && flagToken) || (typeof d.token === 'string' ? d.token : ''),
      ttlMs: durationMs(str(flags, 'token-ttl') ?? (typeof d.ttl === 'string' ? d.ttl : '24h0m0s')),
      usages: (d.usages as string[] | undefined) ?? ['signing', 'authentication'],
      groups: (d.groups as string[] | undefined) ?? ['system:bootstrappers:kubeadm:default-node-token'],
    };
    if (typeof d.description === 'string') tok.description = d.description;
    return tok;
  });
  const plan: Plan = {
    api,
    kubernetesVersion,
    imageRepository:
      str(flags, 'image-repository') ?? getStr(cluster, 'imageRepository') ?? 'registry.k8s.io',
    serviceSubnet:
      str(flags, 'service-cidr') ?? getStr(cluster, 'networking.serviceSubnet') ?? '10.96.0.0/12',
    dnsDomain: str(flags, 'service-dns-domain') ?? getStr(cluster, 'networking.dnsDomain') ?? 'cluster.local',
    clusterName: getStr(cluster, 'clusterName') ?? 'kubernetes',
    certDir: str(flags, 'cert-dir') ?? getStr(cluster, 'certificatesDir') ?? '/etc/kubernetes/pki',
    etcd: {
      local: !ext,
      dataDir: getStr(cluster, 'etcd.local.dataDir') ?? '/var/lib/etcd',
      extra: extraArgs(get(cluster, 'etcd.local.extraArgs')),
      serverSANs: (get(cluster, 'etcd.local.serverCertSANs') as string[] | undefined) ?? [],
      peerSANs: (get(cluster, 'etcd.local.peerCertSANs') as string[] | undefined) ?? [],
    },
    apiServer: {
      extra: extraArgs(get(cluster, 'apiServer.extraArgs')),
      certSANs: [
        ...((get(cluster, 'apiServer.certSANs') as string[] | undefined) ?? []),
        ...list(flags, 'apiserver-cert-extra-sans'),
      ],
      volumes: volumes(get(cluster, 'apiServer.extraVolumes')),
    },
    controllerManager: {
      extra: extraArgs(get(cluster, 'controllerManager.extraArgs')),
      volumes: volumes(get(cluster, 'controllerManager.extraVolumes')),
    },
    scheduler: {
      extra: extraArgs(get(cluster, 'scheduler.extraArgs')),
      volumes: volumes(get(cluster, 'scheduler.extraVolumes')),
    },
    validityMs: v4 && validity ? durationMs(validity) : YEAR,
    caValidityMs: v4 && caValidity ? durationMs(caValidity) : 10 * YEAR,
    algo: (enc === 'ECDSA-P384' ? 'ECDSA-P256' : enc) as Algo,
    node: {
      name: (str(flags, 'node-name') ?? getStr(nodeReg, 'name') ?? nodeName()).toLowerCase(),
      criSocket:
        str(flags, 'cri-socket') ??
        getStr(nodeReg, 'criSocket') ??
        'unix:///var/run/containerd/containerd.sock',
      kubeletExtra: extraArgs(nodeReg?.kubeletExtraArgs),
      ...(getStr(nodeReg, 'imagePullPolicy') ? { imagePullPolicy: getStr(nodeReg, 'imagePullPolicy')! } : {}),
      ignore: [
        ...list(flags, 'ignore-preflight-errors'),
        ...((nodeReg?.ignorePreflightErrors as string[] | undefined) ?? []),
      ],
    },
    advertise:
      str(flags, 'apiserver-advertise-address') ??
      getStr(localEp, 'advertiseAddress') ??
      defaultAddress() ??
      '',
    bindPort: Number(str(flags, 'apiserver-bind-port') ?? (localEp?.bindPort as number | undefined) ?? 6443),
    tokens,
    uploadCerts: bool(flags, 'upload-certs'),
    skipped: new Set(),
    skipPhases: [
      ...list(flags, 'skip-phases'),
      ...(((kind === 'init' ? init : join)?.skipPhases as string[] | undefined) ?? []),
    ],
    clusterDoc: cluster,
    featureGates: (cluster.featureGates as Record<string, boolean> | undefined) ?? {},
    timeouts: {
      controlPlane: t('controlPlaneComponentHealthCheck', 4 * 60e3),
      kubelet: t('kubeletHealthCheck', 4 * 60e3),
      tlsBootstrap: t('tlsBootstrap', 5 * 60e3),
      discovery: t('discovery', 5 * 60e3),
      etcd: t('etcdAPICall', 2 * 60e3),
    },
  };
  if (plan.validityMs > plan.caValidityMs) {
    process.stderr.write(
      `W: [config] certificateValidityPeriod: ${validity} is more than caCertificateValidityPeriod: ${caValidity ?? '87600h0m0s'}\n`,
    );
  }
  const endpoint = str(flags, 'control-plane-endpoint') ?? getStr(cluster, 'controlPlaneEndpoint');
  if (endpoint) plan.controlPlaneEndpoint = endpoint;
  const pod = str(flags, 'pod-network-cidr') ?? getStr(cluster, 'networking.podSubnet');
  if (pod) plan.podSubnet = pod;
  const patchesDir = str(flags, 'patches') ?? getStr(kind === 'init' ? init : join, 'patches.directory');
  if (patchesDir) plan.patchesDir = patchesDir;
  const tag = getStr(cluster, 'etcd.local.imageTag');
  if (tag) plan.etcd.imageTag = tag;
  if (ext) {
    plan.etcd.external = {
      endpoints: (ext.endpoints as string[] | undefined) ?? [],
      caFile: String(ext.caFile ?? ''),
      certFile: String(ext.certFile ?? ''),
      keyFile: String(ext.keyFile ?? ''),
    };
  }
  if (nodeReg && 'taints' in nodeReg) plan.node.taints = (nodeReg.taints as unknown[] | null) ?? [];
  const certKey =
    str(flags, 'certificate-key') ??
    getStr(init, 'certificateKey') ??
    getStr(join, 'controlPlane.certificateKey');
  if (certKey) plan.certificateKey = certKey;
  const kl = config?.docs.get('KubeletConfiguration');
  if (kl) plan.kubelet = kl;
  const kp = config?.docs.get('KubeProxyConfiguration');
  if (kp) plan.kubeProxy = kp;
  if (!plan.advertise) throw new ConfigError('unable to select an IP from default routes.');
  if (kind === 'init') checkInit(plan, init, cluster, flags, kubeadm.minor);
  const ignoreErrs = ignorePreflightErrors(
    list(flags, 'ignore-preflight-errors'),
    (nodeReg?.ignorePreflightErrors as string[] | undefined) ?? [],
  );
  if (ignoreErrs.length) throw new ConfigError(aggregate(ignoreErrs));
  if (kind === 'join') {
    const disc = (join?.discovery ?? {}) as Doc;
    const bt = (disc.bootstrapToken ?? {}) as Doc;
    const token = str(flags, 'discovery-token') ?? str(flags, 'token') ?? getStr(bt, 'token');
    const endpointArg = args[0] ?? getStr(bt, 'apiServerEndpoint');
    plan.join = {
      caHashes: [
        ...list(flags, 'discovery-token-ca-cert-hash'),
        ...((bt.caCertHashes as string[] | undefined) ?? []),
      ],
      unsafeSkip:
        bool(flags, 'discovery-token-unsafe-skip-ca-verification') || bt.unsafeSkipCAVerification === true,
      controlPlane: bool(flags, 'control-plane') || !!join?.controlPlane,
      timeoutMs: plan.timeouts.discovery,
    };
    if (endpointArg) plan.join.endpoint = endpointArg;
    if (token) plan.join.token = token;
    const tls =
      str(flags, 'tls-bootstrap-token') ?? getStr(disc, 'tlsBootstrapToken') ?? str(flags, 'token') ?? token;
    if (tls) plan.join.tlsBootstrapToken = tls;
    const file = str(flags, 'discovery-file') ?? getStr(disc, 'file.kubeConfigPath');
    if (file) plan.join.discoveryFile = file;
    checkJoin(plan, join, flags);
  }
  return plan;
}

function featureGates(cluster: Doc, flags: ParsedFlags, minor: number): Record<string, boolean> {
  const gates = { ...((cluster.featureGates as Record<string, boolean> | undefined) ?? {}) };
  const known = kubeadmFeatureGates(minor);
  for (const pair of (str(flags, 'feature-gates') ?? '').split(',').filter(Boolean)) {
    const [k, v] = pair.split('=');
    if (!k || !(k in known)) throw new ConfigError(`unrecognized feature-gate key: ${k}`);
    gates[k] = v === 'true';
  }
  return gates;
}

function clusterView(plan: Plan, cluster: Doc, gates: Record<string, boolean>): ClusterView {
  const view: ClusterView = {
    dnsDomain: plan.dnsDomain,
    serviceSubnet: plan.serviceSubnet,
    controllerManagerExtra: plan.controllerManager.extra,
    certSANs: plan.apiServer.certSANs,
    certificatesDir: plan.certDir,
    featureGates: gates,
    imageRepository: plan.imageRepository,
    extraArgs: {
      apiServer: plan.apiServer.extra,
      controllerManager: plan.controllerManager.extra,
      scheduler: plan.scheduler.extra,
    },
  };
  if (plan.podSubnet) view.podSubnet = plan.podSubnet;
  if (plan.controlPlaneEndpoint) view.controlPlaneEndpoint = plan.controlPlaneEndpoint;
  const dnsRepo = getStr(cluster, 'dns.imageRepository');
  if (dnsRepo) view.dnsImageRepository = dnsRepo;
  if (plan.etcd.local) {
    view.etcdLocal = {
      dataDir: plan.etcd.dataDir,
      serverCertSANs: plan.etcd.serverSANs,
      peerCertSANs: plan.etcd.peerSANs,
    };
    const etcdRepo = getStr(cluster, 'etcd.local.imageRepository');
    if (etcdRepo) view.etcdLocal.imageRepository = etcdRepo;
    view.extraArgs['etcd.local'] = plan.etcd.extra;
  }
  return view;
}

/** The dynamic defaulting that fails first, then ValidateInitConfiguration. */
function checkInit(plan: Plan, init: Doc | undefined, cluster: Doc, flags: ParsedFlags, minor: number): void {
  const adv = advertiseAddressError(
    str(flags, 'apiserver-advertise-address') ?? getStr(init, 'localAPIEndpoint.advertiseAddress'),
  );
  if (adv) throw new ConfigError(adv);
  if (plan.controlPlaneEndpoint) {
    const hp = parseHostPort(plan.controlPlaneEndpoint);
    if ('error' in hp) throw new ConfigError(hp.error);
  }
  const docs = (init?.bootstrapTokens as Doc[] | undefined) ?? [{}];
  // an empty token is generated before validation (SetBootstrapTokensDynamicDefaults): only given ones can fail
  const tokens: TokenView[] = plan.tokens.map((t, i) => ({
    token: t.token || generateToken(),
    usages: t.usages,
    groups: t.groups,
    ttlAndExpires: docs[i]?.ttl !== undefined && docs[i]?.expires !== undefined,
  }));
  plan.featureGates = featureGates(cluster, flags, minor);
  const errs = validateInit(
    { name: plan.node.name, criSocket: plan.node.criSocket, kubeletExtra: plan.node.kubeletExtra },
    tokens,
    clusterView(plan, cluster, plan.featureGates),
    { advertiseAddress: plan.advertise, bindPort: plan.bindPort },
    plan.certificateKey,
    minor,
  );
  if (errs.length) throw new ConfigError(aggregate(errs));
}

/** ValidateJoinConfiguration, on the flags and the config merged as kubeadm merges them. */
function checkJoin(plan: Plan, join: Doc | undefined, flags: ParsedFlags): void {
  const j = plan.join!;
  const view: JoinView = {
    node: { name: plan.node.name, criSocket: plan.node.criSocket, kubeletExtra: plan.node.kubeletExtra },
    tlsBootstrapToken: j.tlsBootstrapToken ?? '',
    caCertPath: getStr(join, 'caCertPath') ?? '/etc/kubernetes/pki/ca.crt',
  };
  if (j.discoveryFile) view.file = j.discoveryFile;
  if (j.token)
    view.bootstrapToken = {
      token: j.token ?? '',
      apiServerEndpoint: j.endpoint ?? '',
      caCertHashes: j.caHashes,
      unsafeSkip: j.unsafeSkip,
    };
  if (j.controlPlane) {
    const adv = advertiseAddressError(
      str(flags, 'apiserver-advertise-address') ??
        getStr(join, 'controlPlane.localAPIEndpoint.advertiseAddress'),
    );
    if (adv) throw new ConfigError(adv);
    view.controlPlane = { endpoint: { advertiseAddress: plan.advertise, bindPort: plan.bindPort } };
    if (plan.certificateKey) view.controlPlane.certificateKey = plan.certificateKey;
  }
  const errs = validateJoin(view);
  if (errs.length) throw new ConfigError(aggregate(errs));
}

export function controlPlaneURL(p: Plan): string {
  if (!p.controlPlaneEndpoint) return `https://${p.advertise}:${p.bindPort}`;
  return `https://${/:\d+$/.test(p.controlPlaneEndpoint) ? p.controlPlaneEndpoint : `${p.controlPlaneEndpoint}:${p.bindPort}`}`;
}

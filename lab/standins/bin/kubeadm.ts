/**
 * kubeadm stand-in: the subcommands kubeon drives, with the real tool's flags, config decoding,
 * preflight checks, files and cluster objects. Control-plane processes are started by the kubelet
 * stand-in from the manifests written here, exactly as on a real node.
 */
// tsyringe, under @peculiar/x509, needs the Reflect polyfill before any of its modules load
import 'reflect-metadata';

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import { CallLog } from '../lib/calllog.js';
import { ApiClient, ApiError, retry } from '../lib/client.js';
import {
  ConfigError,
  clusterToV1beta4,
  type Doc,
  extraArgs,
  get,
  getStr,
  loadConfigFile,
  parseYamlDocs,
} from '../lib/config.js';
import { componentChecks, waitForComponents } from '../lib/control-plane-check.js';
import { criCall } from '../lib/cri.js';
import { Etcd, type Member } from '../lib/etcd.js';
import {
  bool,
  durationMs,
  FlagError,
  type FlagTable,
  list,
  type ParsedFlags,
  parseFlags,
  str,
} from '../lib/flags.js';
import { clusterImages, dnsImage, prePullFindings } from '../lib/images.js';
import {
  createToken,
  downloadCerts,
  etcdEndpointsFromPods,
  generateToken,
  jwsVerify,
  listTokens,
  newCertificateKey,
  publishClusterInfo,
  putConfigMap,
  TOKEN_RE,
  uploadCerts,
} from '../lib/kubeadm-cluster.js';
import { commandFlags, GLOBAL, TREE } from '../lib/kubeadm-flags.js';
import { ensureCerts, ensureKubeconfigs } from '../lib/kubeadm-pki.js';
import { buildPlan, checkMixed, controlPlaneURL, type Plan } from '../lib/kubeadm-plan.js';
import { applyKubeadmRbac } from '../lib/kubeadm-rbac.js';
import { readKubeconfig, renderKubeconfig } from '../lib/kubeconfig.js';
import { dropKubeletFlags, unwantedKubeletFlags, writesPodInfraImage } from '../lib/kubelet-env.js';
import {
  apiserverManifest,
  type ControlPlaneInput,
  controllerManagerManifest,
  etcdManifest,
  schedulerManifest,
} from '../lib/manifests.js';
import { applyPatches, knownTargets, type PatchSet, readPatches } from '../lib/patches.js';
import { resolveSkips } from '../lib/phases.js';
import { caCertHash, certInfo, readPair, signLeaf, writePair, writeSecret } from '../lib/pki.js';
import { type Finding, judge, runChecks } from '../lib/preflight.js';
import { nodeName, sleep, systemctl } from '../lib/sys.js';
import {
  enforceVersionPolicies,
  forcedNotice,
  parseStoredClusterConfig,
  policyFailure,
} from '../lib/upgrade-policy.js';
import { builtVersion, factsFor, featureEnabled, parseVersion, type Version } from '../lib/versions.js';

const VERSION = builtVersion();
const log = new CallLog('kubeadm', VERSION.text);
const out = (line = '') => process.stdout.write(`${line}\n`);
const K = '/etc/kubernetes';

class PhaseError extends Error {
  constructor(
    readonly phase: string,
    message: string,
  ) {
    super(message);
  }
}

function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  return fn().catch((e: unknown) => {
    if (e instanceof PhaseError) throw e;
    throw new PhaseError(name, e instanceof Error ? e.message : String(e));
  });
}

function resolveCommand(argv: string[]): { path: string; rest: string[] } {
  let path = '';
  let i = 0;
  for (; i < argv.length; i++) {
    const w = argv[i]!;
    if (w.startsWith('-')) break;
    const children = TREE[path];
    if (!children) break;
    if (!children.includes(w)) {
      throw new FlagError(`unknown command "${w}" for "kubeadm${path ? ` ${path}` : ''}"`);
    }
    path = path ? `${path} ${w}` : w;
  }
  // cobra lets flags come before the subcommand words too; re-scan for words after flags
  const rest = argv.slice(i);
  return { path, rest };
}

function parseFor(path: string, rest: string[]): ParsedFlags {
  const table = commandFlags(path, VERSION.minor);
  if (!table) throw new FlagError(`unknown command "${path.split(' ').pop()}" for "kubeadm"`);
  const parsed = parseFlags(rest, { ...GLOBAL, ...table } as FlagTable);
  if (parsed.values.has('rootfs'))
    throw new FlagError('[stand-in] --rootfs is not supported by the stand-in');
  return parsed;
}

async function confirm(question: string): Promise<boolean> {
  process.stdout.write(question);
  const rl = createInterface({ input: process.stdin });
  const answer = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

function kubeletHealthy(): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port: 10248, path: '/healthz', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

async function waitKubelet(timeoutMs: number): Promise<void> {
  out(
    `[kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz. This can take up to ${Math.round(timeoutMs / 60e3)}m0s`,
  );
  const deadline = Date.now() + timeoutMs;
  while (!(await kubeletHealthy())) {
    if (Date.now() > deadline) {
      throw new Error(
        'The kubelet is not healthy after ' +
          `${Math.round(timeoutMs / 60e3)}m0s\n\nUnfortunately, an error has occurred, likely caused by:\n\t- The kubelet is not running\n\t- The kubelet is unhealthy due to a misconfiguration of the node in some way (required cgroups disabled)\n\nIf you are on a systemd-powered system, you can try to troubleshoot the error with the following commands:\n\t- 'systemctl status kubelet'\n\t- 'journalctl -xeu kubelet'`,
      );
    }
    await sleep(500);
  }
  out('[kubelet-check] The kubelet is healthy');
}

/** The TLS bootstrap wait of kubelet-start (or kubelet-wait-bootstrap in local mode). */
async function waitBootstrap(p: Plan): Promise<void> {
  await waitKubelet(p.timeouts.kubelet);
  out('[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap');
  await retry(
    'timed out waiting for the kubelet to perform the TLS Bootstrap',
    p.timeouts.tlsBootstrap,
    async () => {
      if (!existsSync(`${K}/kubelet.conf`)) throw new Error(`${K}/kubelet.conf does not exist yet`);
    },
  );
  rmSync(`${K}/bootstrap-kubelet.conf`, { force: true });
}

function waitForAll(p: Plan): boolean {
  return featureEnabled(VERSION.minor, p.featureGates, 'WaitForAllControlPlaneComponents');
}

/** WaitForAllControlPlaneComponents: every component on the endpoint its manifest serves. */
async function waitComponents(p: Plan): Promise<void> {
  const read = (c: string) => readFileSync(`${K}/manifests/${c}.yaml`, 'utf8');
  const checks = componentChecks(
    {
      apiserver: read('kube-apiserver'),
      controllerManager: read('kube-controller-manager'),
      scheduler: read('kube-scheduler'),
    },
    p.advertise,
  );
  await waitForComponents(checks, p.timeouts.controlPlane, out);
}

function restartKubelet(): void {
  out('[kubelet-start] Starting the kubelet');
  const r = systemctl('restart', 'kubelet');
  if (!r.ok) out(`[kubelet-start] WARNING: unable to start the kubelet service: [${r.out}]`);
  if (r.ok) log.write('kubelet-restart');
}

function kubeletConfigYaml(p: Plan): string {
  const svc = p.serviceSubnet.split(',')[0]!.split('/')[0]!.split('.').map(Number);
  svc[3] = (svc[3] ?? 0) + 10;
  const defaults: Doc = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    authentication: {
      anonymous: { enabled: false },
      webhook: { cacheTTL: '0s', enabled: true },
      x509: { clientCAFile: `${p.certDir}/ca.crt` },
    },
    authorization: { mode: 'Webhook', webhook: { cacheAuthorizedTTL: '0s', cacheUnauthorizedTTL: '0s' } },
    cgroupDriver: 'systemd',
    clusterDNS: [svc.join('.')],
    clusterDomain: p.dnsDomain,
    containerRuntimeEndpoint: '',
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    rotateCertificates: true,
    staticPodPath: `${K}/manifests`,
  };
  return stringify({ ...defaults, ...(p.kubelet ?? {}) }, { version: '1.1' });
}

function writeKubeletFiles(p: Plan, configYaml: string): void {
  out(
    '[kubelet-start] Writing kubelet environment file with flags to file "/var/lib/kubelet/kubeadm-flags.env"',
  );
  mkdirSync('/var/lib/kubelet', { recursive: true, mode: 0o700 });
  const flags = new Map<string, string>([['container-runtime-endpoint', p.node.criSocket]]);
  if (writesPodInfraImage(VERSION.minor))
    flags.set('pod-infra-container-image', `${p.imageRepository}/pause:${factsFor(VERSION.minor).pause}`);
  if (p.node.name !== nodeName()) flags.set('hostname-override', p.node.name);
  // a control plane gets its taints from mark-control-plane; other nodes register with them
  const taints = (p.node.taints ?? []) as { key: string; value?: string; effect: string }[];
  if (!p.join?.controlPlane && p.join && taints.length) {
    flags.set(
      'register-with-taints',
      taints.map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join(','),
    );
  }
  for (const [k, v] of p.node.kubeletExtra) flags.set(k, v);
  const args = [...flags.entries()].map(([k, v]) => `--${k}=${v}`).join(' ');
  writeFileSync('/var/lib/kubelet/kubeadm-flags.env', `KUBELET_KUBEADM_ARGS="${args}"\n`, { mode: 0o644 });
  out('[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"');
  writeFileSync('/var/lib/kubelet/config.yaml', patched('kubeletconfiguration', configYaml), { mode: 0o644 });
}

function cpInput(p: Plan): ControlPlaneInput {
  const input: ControlPlaneInput = {
    version: p.kubernetesVersion,
    nodeName: p.node.name,
    advertise: p.advertise,
    bindPort: p.bindPort,
    imageRepository: p.imageRepository,
    serviceSubnet: p.serviceSubnet,
    dnsDomain: p.dnsDomain,
    clusterName: p.clusterName,
    certDir: p.certDir,
    etcdDataDir: p.etcd.dataDir,
    extra: {
      apiServer: p.apiServer.extra,
      controllerManager: p.controllerManager.extra,
      scheduler: p.scheduler.extra,
      etcd: p.etcd.extra,
    },
    extraVolumes: {
      apiServer: p.apiServer.volumes,
      controllerManager: p.controllerManager.volumes,
      scheduler: p.scheduler.volumes,
    },
  };
  if (p.podSubnet) input.podSubnet = p.podSubnet;
  if (p.etcd.imageTag) input.etcdImageTag = p.etcd.imageTag;
  if (p.etcd.external) input.externalEtcd = p.etcd.external;
  return input;
}

/** The patch sets of --patches / patches.directory, read once per command (lib/patches.ts). */
let patchSets: PatchSet[] = [];

function loadPatches(dir: string | undefined): void {
  if (dir) patchSets = readPatches(dir, knownTargets(VERSION.minor), out);
}

/** A YAML document with the patches for `target` applied, or the text untouched when none apply. */
function patched(target: string, text: string): string {
  if (!patchSets.some((s) => s.target === target)) return text;
  const [doc] = parseYamlDocs(text, target);
  return stringify(applyPatches(target, (doc ?? {}) as never, patchSets, out), { version: '1.1' });
}

function writeManifest(name: string, rendered: string): void {
  const text = patched(name, rendered);
  mkdirSync(`${K}/manifests`, { recursive: true, mode: 0o700 });
  const path = `${K}/manifests/${name}.yaml`;
  // written aside and renamed, so the kubelet never reads half a manifest
  writeFileSync(`${path}.tmp`, text, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

function writeControlPlane(p: Plan, parent = 'control-plane'): void {
  const input = cpInput(p);
  const components = [
    ['apiserver', 'kube-apiserver', apiserverManifest],
    ['controller-manager', 'kube-controller-manager', controllerManagerManifest],
    ['scheduler', 'kube-scheduler', schedulerManifest],
  ] as const;
  const todo = components.filter(([phaseName]) => !skip(p, `${parent}/${phaseName}`));
  if (!todo.length) return;
  out(`[control-plane] Using manifest folder "${K}/manifests"`);
  for (const [, name, render] of todo) {
    out(`[control-plane] Creating static Pod manifest for "${name}"`);
    writeManifest(name, render(input));
  }
}

function adminClient(path = `${K}/admin.conf`): ApiClient {
  return new ApiClient(readKubeconfig(path));
}

function localClient(p: Plan, kubeconfig = `${K}/admin.conf`): ApiClient {
  const c = readKubeconfig(kubeconfig);
  return new ApiClient({ ...c, server: `https://${p.advertise}:${p.bindPort}` });
}

async function waitApiserver(p: Plan): Promise<void> {
  out(
    `[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory "${K}/manifests"`,
  );
  out(
    `[api-check] Waiting for a healthy API server. This can take up to ${Math.round(p.timeouts.controlPlane / 60e3)}m0s`,
  );
  const api = localClient(p);
  const started = Date.now();
  await retry('[api-check] The API server is not healthy', p.timeouts.controlPlane, async () => {
    const r = await api.raw('GET', '/healthz', undefined, undefined, 3000);
    if (r.status !== 200) throw new Error(`healthz returned ${r.status}: ${r.text}`);
  });
  out(`[api-check] The API server is healthy after ${((Date.now() - started) / 1000).toFixed(3)}s`);
}

async function waitNode(api: ApiClient, name: string, timeoutMs: number): Promise<void> {
  await retry(`waiting for the Node "${name}" to be registered`, timeoutMs, async () => {
    await api.get(`/api/v1/nodes/${name}`);
  });
}

async function markControlPlane(api: ApiClient, p: Plan): Promise<void> {
  out(
    `[mark-control-plane] Marking the node ${p.node.name} as control-plane by adding the labels: [node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]`,
  );
  const taints = p.node.taints ?? [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }];
  if (taints.length)
    out(
      `[mark-control-plane] Marking the node ${p.node.name} as control-plane by adding the taints [node-role.kubernetes.io/control-plane:NoSchedule]`,
    );
  await waitNode(api, p.node.name, p.timeouts.kubelet);
  await api.call(
    'PATCH',
    `/api/v1/nodes/${p.node.name}`,
    {
      metadata: {
        labels: {
          'node-role.kubernetes.io/control-plane': '',
          'node.kubernetes.io/exclude-from-external-load-balancers': '',
        },
      },
      spec: { taints },
    },
    'application/merge-patch+json',
  );
}

function clusterConfigDoc(p: Plan): string {
  const doc: Doc = {
    ...p.clusterDoc,
    apiVersion: `kubeadm.k8s.io/${p.api}`,
    kind: 'ClusterConfiguration',
    kubernetesVersion: p.kubernetesVersion.text,
    certificatesDir: p.certDir,
    clusterName: p.clusterName,
    imageRepository: p.imageRepository,
    networking: {
      dnsDomain: p.dnsDomain,
      serviceSubnet: p.serviceSubnet,
      ...(p.podSubnet ? { podSubnet: p.podSubnet } : {}),
    },
  };
  if (p.controlPlaneEndpoint) doc.controlPlaneEndpoint = p.controlPlaneEndpoint;
  if (p.etcd.local)
    doc.etcd = {
      ...((p.clusterDoc.etcd as Doc | undefined) ?? {}),
      local: { ...((get(p.clusterDoc, 'etcd.local') as Doc | undefined) ?? {}), dataDir: p.etcd.dataDir },
    };
  return stringify(doc, { version: '1.1' });
}

function joinCommand(endpoint: string, token: string, hash: string, certKey?: string): string {
  let s = `kubeadm join ${endpoint} --token ${token} \\\n\t--discovery-token-ca-cert-hash ${hash}`;
  if (certKey) s += ` \\\n\t--control-plane --certificate-key ${certKey}`;
  return s;
}

async function addons(api: ApiClient, p: Plan): Promise<void> {
  const facts = factsFor(VERSION.minor);
  const svc = p.serviceSubnet.split(',')[0]!.split('/')[0]!.split('.').map(Number);
  svc[3] = (svc[3] ?? 0) + 10;
  const dnsDisabled = get(p.clusterDoc, 'dns.disabled') === true || skip(p, 'addon/coredns');
  const proxyDisabled = get(p.clusterDoc, 'proxy.disabled') === true || skip(p, 'addon/kube-proxy');
  if (!dnsDisabled) {
    const image = dnsImage(
      p.imageRepository,
      getStr(p.clusterDoc, 'dns.imageRepository'),
      getStr(p.clusterDoc, 'dns.imageTag') ?? facts.coredns,
    );
    await putConfigMap(api, 'kube-system', 'coredns', {
      Corefile: `.:53 {\n    errors\n    health\n    kubernetes ${p.dnsDomain} in-addr.arpa ip6.arpa\n    forward . /etc/resolv.conf\n    cache 30\n}\n`,
    });
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { 'k8s-app': 'kube-dns' } },
        template: {
          metadata: { labels: { 'k8s-app': 'kube-dns' } },
          spec: { containers: [{ name: 'coredns', image }] },
        },
      },
    };
    await api.upsert(
      '/apis/apps/v1/namespaces/kube-system/deployments',
      applyPatches('corednsdeployment', deployment, patchSets, out) as never,
    );
    await api.upsert('/api/v1/namespaces/kube-system/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: {
        clusterIP: svc.join('.'),
        selector: { 'k8s-app': 'kube-dns' },
        ports: [{ name: 'dns', port: 53, protocol: 'UDP' }],
      },
    } as never);
    await applyKubeadmRbac(api, 'coredns');
    out('[addons] Applied essential addon: CoreDNS');
  }
  if (!proxyDisabled) {
    const conf = stringify(
      {
        apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
        kind: 'KubeProxyConfiguration',
        clusterCIDR: p.podSubnet ?? '',
        ...(p.kubeProxy ?? {}),
      },
      { version: '1.1' },
    );
    await putConfigMap(api, 'kube-system', 'kube-proxy', { 'config.conf': conf });
    await api.upsert('/apis/apps/v1/namespaces/kube-system/daemonsets', {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'kube-proxy', namespace: 'kube-system', labels: { 'k8s-app': 'kube-proxy' } },
      spec: {
        selector: { matchLabels: { 'k8s-app': 'kube-proxy' } },
        template: {
          metadata: { labels: { 'k8s-app': 'kube-proxy' } },
          spec: {
            containers: [
              { name: 'kube-proxy', image: `${p.imageRepository}/kube-proxy:${p.kubernetesVersion.text}` },
            ],
          },
        },
      },
    } as never);
    await applyKubeadmRbac(api, 'kube-proxy');
    out('[addons] Applied essential addon: kube-proxy');
  }
}

function skip(p: Plan, name: string): boolean {
  return p.skipped.has(name);
}

/** Resolves --skip-phases against the workflow, refusing names it does not have. */
function resolvePhases(p: Plan, kind: 'init' | 'join'): void {
  try {
    p.skipped = resolveSkips(kind, VERSION.minor, p.skipPhases);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
}

/** Sub-phases the stand-in runs as one step: skipping only some of them is refused, not ignored. */
function wholeOnly(p: Plan, parent: string): void {
  const some = [...p.skipped].filter((n) => n.startsWith(`${parent}/`) && n !== `${parent}/all`);
  if (some.length && !p.skipped.has(parent))
    throw new ConfigError(
      `[stand-in] skipping ${some.join(', ')} without the rest of "${parent}" is not implemented by the stand-in`,
    );
}

async function preflight(p: Plan, controlPlane: boolean, join: boolean): Promise<void> {
  out('[preflight] Running pre-flight checks');
  const findings = await runChecks({
    controlPlane,
    join,
    localEtcd: p.etcd.local,
    etcdDataDir: p.etcd.dataDir,
    criSocket: p.node.criSocket,
    nodeName: p.node.name,
    apiPort: p.bindPort,
    kubeadm: VERSION,
    kubernetesVersion: p.kubernetesVersion,
  });
  judgeOrFail(findings, p.node.ignore);
  // a joining control plane pulls after it has read the cluster's configuration
  if (controlPlane && !join)
    await pullImages({ ...p.clusterDoc, imageRepository: p.imageRepository }, p.kubernetesVersion, p.node);
}

function judgeOrFail(findings: Finding[], ignore: string[]): void {
  const { warnings, errors } = judge(findings, ignore);
  for (const w of warnings) process.stderr.write(`${w}\n`);
  log.write('preflight', { warnings: warnings.map((w) => w.trim()), errors: errors.map((e) => e.trim()) });
  if (errors.length) {
    throw new PhaseError(
      'preflight',
      `[preflight] Some fatal errors occurred:\n${errors.join('\n')}\n[preflight] If you know what you are doing, you can make a check non-fatal with \`--ignore-preflight-errors=...\``,
    );
  }
}

/** kubeadm's RunPullImagesCheck: every image of the cluster's configuration, present or pulled. */
async function pullImages(
  cluster: Doc,
  target: Version,
  node: { criSocket: string; ignore: string[]; imagePullPolicy?: string },
): Promise<void> {
  out('[preflight] Pulling images required for setting up a Kubernetes cluster');
  out('[preflight] This might take a minute or two, depending on the speed of your internet connection');
  out("[preflight] You can also perform this action beforehand using 'kubeadm config images pull'");
  judgeOrFail(
    await prePullFindings(
      cluster,
      target,
      VERSION.minor,
      node.criSocket,
      node.imagePullPolicy ?? 'IfNotPresent',
    ),
    node.ignore,
  );
}

async function cmdInit(flags: ParsedFlags): Promise<void> {
  const p = buildPlan('init', flags, VERSION, []);
  if (bool(flags, 'dry-run'))
    throw new ConfigError('[stand-in] --dry-run is not implemented by the kubeadm stand-in');
  out(`[init] Using Kubernetes version: ${p.kubernetesVersion.text}`);
  resolvePhases(p, 'init');
  wholeOnly(p, 'certs');
  loadPatches(p.patchesDir);
  log.write('init-start', { node: p.node.name, advertise: p.advertise, uploadCerts: p.uploadCerts });
  if (!skip(p, 'preflight')) await phase('preflight', () => preflight(p, true, false));
  if (!skip(p, 'certs')) {
    await phase('certs', () =>
      ensureCerts({
        certDir: p.certDir,
        nodeName: p.node.name,
        advertise: p.advertise,
        serviceSubnet: p.serviceSubnet,
        dnsDomain: p.dnsDomain,
        ...(p.controlPlaneEndpoint ? { controlPlaneEndpoint: p.controlPlaneEndpoint } : {}),
        certSANs: p.apiServer.certSANs,
        etcdServerSANs: p.etcd.serverSANs,
        etcdPeerSANs: p.etcd.peerSANs,
        localEtcd: p.etcd.local,
        validityMs: p.validityMs,
        caValidityMs: p.caValidityMs,
        algo: p.algo,
        say: out,
      }),
    );
  }
  if (!skip(p, 'kubeconfig')) {
    await phase('kubeconfig', () =>
      ensureKubeconfigs({
        certDir: p.certDir,
        nodeName: p.node.name,
        controlPlaneURL: controlPlaneURL(p),
        localURL: `https://${p.advertise}:${p.bindPort}`,
        kubeletLocal: featureEnabled(VERSION.minor, p.featureGates, 'ControlPlaneKubeletLocalMode'),
        validityMs: p.validityMs,
        algo: p.algo,
        files: (['admin', 'super-admin', 'kubelet', 'controller-manager', 'scheduler'] as const).filter(
          (f) => !skip(p, `kubeconfig/${f}`),
        ),
        say: out,
      }),
    );
  }
  if (p.etcd.local && !skip(p, 'etcd/local')) {
    out(`[etcd] Creating static Pod manifest for local etcd in "${K}/manifests"`);
    writeManifest('etcd', etcdManifest(cpInput(p), `${p.node.name}=https://${p.advertise}:2380`, false));
  }
  writeControlPlane(p);
  const kubeletYaml = kubeletConfigYaml(p);
  if (!skip(p, 'kubelet-start')) {
    writeKubeletFiles(p, kubeletYaml);
    restartKubelet();
  }
  if (!skip(p, 'wait-control-plane'))
    await phase('wait-control-plane', async () => {
      await waitKubelet(p.timeouts.kubelet);
      if (waitForAll(p)) await waitComponents(p);
      else await waitApiserver(p);
    });
  // super-admin.conf is what kubeadm uses until the kubeadm:cluster-admins binding exists
  const api = localClient(
    p,
    existsSync(`${K}/super-admin.conf`) ? `${K}/super-admin.conf` : `${K}/admin.conf`,
  );
  await phase('upload-config', async () => {
    if (!skip(p, 'upload-config/kubeadm')) {
      out(
        '[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace',
      );
      await putConfigMap(api, 'kube-system', 'kubeadm-config', { ClusterConfiguration: clusterConfigDoc(p) });
    }
    if (skip(p, 'upload-config/kubelet')) return;
    out(
      '[kubelet] Creating a ConfigMap "kubelet-config" in namespace kube-system with the configuration for the kubelets in the cluster',
    );
    await putConfigMap(api, 'kube-system', 'kubelet-config', { kubelet: kubeletYaml });
    await applyKubeadmRbac(api, 'upload-config');
    await api.upsert('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'kubeadm:cluster-admins' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'kubeadm:cluster-admins' }],
    } as never);
  });
  let certKey = p.certificateKey;
  if (p.uploadCerts && !skip(p, 'upload-certs')) {
    await phase('upload-certs', async () => {
      out('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace');
      certKey = certKey ?? newCertificateKey();
      await uploadCerts(api, p.certDir, certKey);
      out('[upload-certs] Using certificate key:');
      if (!bool(flags, 'skip-certificate-key-print')) out(certKey);
    });
  } else if (!p.uploadCerts) {
    out('[upload-certs] Skipping phase. Please see --upload-certs');
  }
  if (!skip(p, 'mark-control-plane')) await phase('mark-control-plane', () => markControlPlane(api, p));
  const tokens = p.tokens.map((t) => ({ ...t, token: t.token || generateToken() }));
  if (!skip(p, 'bootstrap-token')) {
    await phase('bootstrap-token', async () => {
      out(`[bootstrap-token] Using token: ${tokens[0]!.token}`);
      out('[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles');
      for (const t of tokens) await createToken(api, t);
      out('[bootstrap-token] Creating the "cluster-info" ConfigMap in the "kube-public" namespace');
      await publishClusterInfo(api, controlPlaneURL(p), readFileSync(`${p.certDir}/ca.crt`, 'utf8'));
    });
  }
  if (!skip(p, 'kubelet-finalize'))
    out(
      '[kubelet-finalize] Updating "/etc/kubernetes/kubelet.conf" to point to a rotatable kubelet client certificate and key',
    );
  await phase('addon', () => addons(api, p));
  log.write('init-done', { node: p.node.name });
  if (!skip(p, 'show-join-command')) showJoinCommand(p, flags, tokens[0]!.token, certKey);
}

function showJoinCommand(p: Plan, flags: ParsedFlags, token: string, certKey: string | undefined): void {
  const hash = caCertHash(readFileSync(`${p.certDir}/ca.crt`, 'utf8'));
  const endpoint = controlPlaneURL(p).replace(/^https:\/\//, '');
  out('\nYour Kubernetes control-plane has initialized successfully!\n');
  out('To start using your cluster, you need to run the following as a regular user:\n');
  out('  mkdir -p $HOME/.kube');
  out('  sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config');
  out('  sudo chown $(id -u):$(id -g) $HOME/.kube/config\n');
  out('Alternatively, if you are the root user, you can run:\n');
  out('  export KUBECONFIG=/etc/kubernetes/admin.conf\n');
  out('You should now deploy a pod network to the cluster.');
  out('Run "kubectl apply -f [podnetwork].yaml" with one of the options listed at:');
  out('  https://kubernetes.io/docs/concepts/cluster-administration/addons/\n');
  const tok = bool(flags, 'skip-token-print') ? '<value withheld>' : token;
  if (p.controlPlaneEndpoint) {
    const key = p.uploadCerts
      ? bool(flags, 'skip-certificate-key-print')
        ? '<value withheld>'
        : certKey
      : undefined;
    out(
      'You can now join any number of control-plane nodes running the following command on each as root:\n',
    );
    out(`  ${joinCommand(endpoint, tok, hash, key ?? '<value withheld>').replace(/\n/g, '\n  ')}\n`);
    if (p.uploadCerts) {
      out('Please note that the certificate-key gives access to cluster sensitive data, keep it secret!');
      out('As a safeguard, uploaded-certs will be deleted in two hours; If necessary, you can use');
      out('"kubeadm init phase upload-certs --upload-certs" to reload certs afterward.\n');
    } else {
      out('Please note that the certificate-key gives access to cluster sensitive data, keep it secret!\n');
    }
  }
  out('Then you can join any number of worker nodes by running the following on each as root:\n');
  out(`${joinCommand(endpoint, tok, hash)} `);
}

interface Discovered {
  server: string;
  caPem: string;
}

async function discover(p: Plan): Promise<Discovered> {
  const j = p.join!;
  if (j.discoveryFile) {
    const creds = readKubeconfig(j.discoveryFile);
    if (!creds.caPem)
      throw new ConfigError(`the discovery file ${j.discoveryFile} has no certificate authority`);
    return { server: creds.server, caPem: creds.caPem };
  }
  const m = TOKEN_RE.exec(j.token ?? '');
  if (!m)
    throw new ConfigError(
      `the bootstrap token "${j.token}" was not of the form "^([a-z0-9]{6})\\.([a-z0-9]{16})$"`,
    );
  const endpoint = j.endpoint!;
  out(`[discovery] Trying to connect to API Server "${endpoint}"`);
  const insecure = new ApiClient({ server: `https://${endpoint}`, insecure: true });
  return retry(`couldn't validate the identity of the API Server`, j.timeoutMs, async () => {
    out(`[discovery] Created cluster-info discovery client, requesting info from "https://${endpoint}"`);
    const cm = await insecure.get<{ data?: Record<string, string> }>(
      '/api/v1/namespaces/kube-public/configmaps/cluster-info',
    );
    const kubeconfig = cm.data?.kubeconfig;
    if (!kubeconfig) throw new Error('there is no kubeconfig in the cluster-info ConfigMap');
    const sig = cm.data?.[`jws-kubeconfig-${m[1]}`];
    if (!sig)
      throw new Error(
        `token id "${m[1]}" is invalid for this cluster or it has expired. Use "kubeadm token create" on the control-plane node to create a new valid token`,
      );
    if (!jwsVerify(sig, kubeconfig, m[1]!, m[2]!))
      throw new Error(
        "failed to verify JWS signature of received cluster info object, can't trust this API Server",
      );
    const [doc] = parseYamlDocs(kubeconfig, 'cluster-info');
    const cluster = ((doc?.clusters as Doc[] | undefined)?.[0]?.cluster ?? {}) as Doc;
    const caPem = Buffer.from(String(cluster['certificate-authority-data'] ?? ''), 'base64').toString();
    if (!j.unsafeSkip) {
      const got = caCertHash(caPem);
      if (!j.caHashes.map((h) => h.toLowerCase()).includes(got)) {
        throw new ConfigError(
          `cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "${got}" are pinned`,
        );
      }
    }
    out(
      `[discovery] Cluster info signature and contents are valid and TLS certificate validates against pinned roots, will use API Server "${endpoint}"`,
    );
    return { server: String(cluster.server), caPem };
  });
}

async function cmdJoin(flags: ParsedFlags, args: string[]): Promise<void> {
  if (args.length > 1) throw new FlagError(`accepts at most 1 arg(s), received ${args.length}`);
  const p = buildPlan('join', flags, VERSION, args);
  if (bool(flags, 'dry-run'))
    throw new ConfigError('[stand-in] --dry-run is not implemented by the kubeadm stand-in');
  const cp = p.join!.controlPlane;
  resolvePhases(p, 'join');
  loadPatches(p.patchesDir);
  log.write('join-start', { node: p.node.name, controlPlane: cp, endpoint: p.join!.endpoint });
  if (!skip(p, 'preflight')) await phase('preflight', () => preflight(p, cp, true));
  const disc = await phase('preflight', () => discover(p));
  const bootstrap = new ApiClient({
    server: disc.server,
    caPem: disc.caPem,
    token: p.join!.tlsBootstrapToken!,
  });
  out('[preflight] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...');
  const cm = await phase('preflight', () =>
    bootstrap.get<{ data: Record<string, string> }>(
      '/api/v1/namespaces/kube-system/configmaps/kubeadm-config',
    ),
  );
  await phase('preflight', async () => {
    const existing = await bootstrap.find<{ status?: { conditions?: { type: string; status: string }[] } }>(
      `/api/v1/nodes/${p.node.name}`,
    );
    if (existing?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) {
      throw new Error(
        `a Node with name "${p.node.name}" and status "Ready" already exists in the cluster. You must delete the existing Node or change the name of this new joining Node`,
      );
    }
  });
  const clusterText = cm.data.ClusterConfiguration ?? '';
  const [clusterDoc] = parseYamlDocs(clusterText, 'kubeadm-config');
  const cluster = clusterDoc ?? {};
  const kv = parseVersion(getStr(cluster, 'kubernetesVersion') ?? '');
  if (kv) {
    p.kubernetesVersion = kv;
    if (kv.minor > VERSION.minor)
      throw new PhaseError(
        'preflight',
        `this version of kubeadm only supports deploying clusters with the control plane version >= 1.${VERSION.minor - 1}.0. Current version: ${kv.text}`,
      );
  }
  p.clusterDoc = cluster;
  p.featureGates = (cluster.featureGates as Record<string, boolean> | undefined) ?? {};
  const localMode = cp && featureEnabled(VERSION.minor, p.featureGates, 'ControlPlaneKubeletLocalMode');
  p.imageRepository = getStr(cluster, 'imageRepository') ?? p.imageRepository;
  p.serviceSubnet = getStr(cluster, 'networking.serviceSubnet') ?? p.serviceSubnet;
  const podSubnet = getStr(cluster, 'networking.podSubnet');
  if (podSubnet) p.podSubnet = podSubnet;
  p.dnsDomain = getStr(cluster, 'networking.dnsDomain') ?? p.dnsDomain;
  p.certDir = getStr(cluster, 'certificatesDir') ?? p.certDir;
  // certificates a joining node makes follow the cluster's settings, not the join config's
  const validity = getStr(cluster, 'certificateValidityPeriod');
  if (validity) p.validityMs = durationMs(validity);
  const caValidity = getStr(cluster, 'caCertificateValidityPeriod');
  if (caValidity) p.caValidityMs = durationMs(caValidity);
  const enc = getStr(cluster, 'encryptionAlgorithm');
  if (enc === 'ECDSA-P256' || enc?.startsWith('RSA-')) p.algo = enc as Plan['algo'];
  const cpe = getStr(cluster, 'controlPlaneEndpoint');
  if (cpe) p.controlPlaneEndpoint = cpe;
  p.etcd.local = !get(cluster, 'etcd.external');
  p.etcd.dataDir = getStr(cluster, 'etcd.local.dataDir') ?? p.etcd.dataDir;
  p.apiServer.extra = extraArgs(get(cluster, 'apiServer.extraArgs'));
  p.apiServer.certSANs = (get(cluster, 'apiServer.certSANs') as string[] | undefined) ?? [];
  p.controllerManager.extra = extraArgs(get(cluster, 'controllerManager.extraArgs'));
  p.scheduler.extra = extraArgs(get(cluster, 'scheduler.extraArgs'));
  p.etcd.extra = extraArgs(get(cluster, 'etcd.local.extraArgs'));
  if (cp && !skip(p, 'preflight'))
    await phase('preflight', () => pullImages(cluster, p.kubernetesVersion, p.node));

  if (cp) {
    if (!p.controlPlaneEndpoint) {
      throw new PhaseError(
        'preflight',
        "unable to add a new control plane instance to a cluster that doesn't have a stable controlPlaneEndpoint address",
      );
    }
    await phase('control-plane-prepare/download-certs', async () => {
      if (p.certificateKey && !skip(p, 'control-plane-prepare/download-certs')) {
        out(
          '[download-certs] Downloading the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace',
        );
        await downloadCerts(bootstrap, p.certDir, p.certificateKey);
      }
      for (const f of [
        'ca.crt',
        'ca.key',
        'sa.key',
        'sa.pub',
        'front-proxy-ca.crt',
        'front-proxy-ca.key',
        ...(p.etcd.local ? ['etcd/ca.crt', 'etcd/ca.key'] : []),
      ]) {
        if (!existsSync(`${p.certDir}/${f}`)) {
          throw new Error(
            `one or more conditions for hosting a new control plane instance is not satisfied.\n\n[failure loading certificate for CA: couldn't load the certificate file ${p.certDir}/${f}: open ${p.certDir}/${f}: no such file or directory]\n\nPlease ensure that:\n* The cluster has a stable controlPlaneEndpoint address.\n* The certificates that must be shared among control plane instances are provided.`,
          );
        }
      }
    });
    if (!skip(p, 'control-plane-prepare/certs'))
      await phase('control-plane-prepare/certs', () =>
        ensureCerts({
          certDir: p.certDir,
          nodeName: p.node.name,
          advertise: p.advertise,
          serviceSubnet: p.serviceSubnet,
          dnsDomain: p.dnsDomain,
          controlPlaneEndpoint: p.controlPlaneEndpoint!,
          certSANs: p.apiServer.certSANs,
          etcdServerSANs: (get(cluster, 'etcd.local.serverCertSANs') as string[] | undefined) ?? [],
          etcdPeerSANs: (get(cluster, 'etcd.local.peerCertSANs') as string[] | undefined) ?? [],
          localEtcd: p.etcd.local,
          validityMs: p.validityMs,
          caValidityMs: p.caValidityMs,
          algo: p.algo,
          say: out,
        }),
      );
    if (!skip(p, 'control-plane-prepare/kubeconfig'))
      await phase('control-plane-prepare/kubeconfig', () =>
        ensureKubeconfigs({
          certDir: p.certDir,
          nodeName: p.node.name,
          controlPlaneURL: controlPlaneURL(p),
          localURL: `https://${p.advertise}:${p.bindPort}`,
          validityMs: p.validityMs,
          algo: p.algo,
          files: ['admin', 'controller-manager', 'scheduler'],
          say: out,
        }),
      );
    writeControlPlane(p, 'control-plane-prepare/control-plane');
  }

  if (!skip(p, 'kubelet-start'))
    await phase('kubelet-start', async () => {
      const caPem = cp ? readFileSync(`${p.certDir}/ca.crt`, 'utf8') : disc.caPem;
      if (!cp) {
        mkdirSync(p.certDir, { recursive: true, mode: 0o755 });
        writeFileSync(`${p.certDir}/ca.crt`, caPem, { mode: 0o644 });
      }
      const kcm = await bootstrap.get<{ data: Record<string, string> }>(
        '/api/v1/namespaces/kube-system/configmaps/kubelet-config',
      );
      writeSecret(
        `${K}/bootstrap-kubelet.conf`,
        renderKubeconfig({
          // ControlPlaneKubeletLocalMode: a control-plane kubelet bootstraps against its own apiserver
          server: localMode ? `https://${p.advertise}:${p.bindPort}` : disc.server,
          caPem,
          user: 'tls-bootstrap-token-user',
          token: p.join!.tlsBootstrapToken!,
        }),
      );
      writeKubeletFiles(p, kcm.data.kubelet ?? '');
      restartKubelet();
      if (!localMode) await waitBootstrap(p);
    });

  if (cp) {
    const api = adminClient();
    // in local mode the kubelet needs the local apiserver, which needs the local etcd member first
    if (localMode && p.etcd.local && !skip(p, 'etcd-join')) await phase('etcd-join', () => joinEtcd(api, p));
    if (localMode && !skip(p, 'kubelet-wait-bootstrap'))
      await phase('kubelet-wait-bootstrap', () => waitBootstrap(p));
    if (!localMode && p.etcd.local && !skip(p, 'control-plane-join/etcd'))
      await phase('control-plane-join/etcd', () => joinEtcd(api, p));
    if (waitForAll(p) && !skip(p, 'wait-control-plane'))
      await phase('wait-control-plane', () => waitComponents(p));
    if (!skip(p, 'control-plane-join/mark-control-plane'))
      await phase('control-plane-join/mark-control-plane', () => markControlPlane(api, p));
  }
  log.write('join-done', { node: p.node.name, controlPlane: cp });
  if (cp) {
    out('\nThis node has joined the cluster and a new control plane instance was created:\n');
    out('* Certificate signing request was sent to apiserver and approval was received.');
    out('* The Kubelet was informed of the new secure connection details.');
    out('* Control plane label and taint were applied to the new node.');
    out('* The Kubernetes control plane instances scaled up.');
    out('* A new etcd member was added to the local/stacked etcd cluster.\n');
    out(
      'To start administering your cluster from this node, you need to run the following as a regular user:\n',
    );
    out('\tmkdir -p $HOME/.kube');
    out('\tsudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config');
    out('\tsudo chown $(id -u):$(id -g) $HOME/.kube/config\n');
    out("Run 'kubectl get nodes' to see this node join the cluster.\n");
  } else {
    out('\nThis node has joined the cluster:');
    out('* Certificate signing request was sent to apiserver and a response was received.');
    out('* The Kubelet was informed of the new secure connection details.\n');
    out("Run 'kubectl get nodes' on the control-plane to see this node join the cluster.\n");
  }
}

function etcdClientFor(p: { certDir: string }, endpoints: string[]): Etcd {
  return new Etcd(endpoints, {
    ca: readFileSync(`${p.certDir}/etcd/ca.crt`, 'utf8'),
    cert: readFileSync(`${p.certDir}/apiserver-etcd-client.crt`, 'utf8'),
    key: readFileSync(`${p.certDir}/apiserver-etcd-client.key`, 'utf8'),
  });
}

/** Adds this node as a learner, writes its manifest with the full member list, then promotes it. */
async function joinEtcd(api: ApiClient, p: Plan): Promise<void> {
  const endpoints = await etcdEndpointsFromPods(api);
  const etcd = etcdClientFor(p, endpoints);
  const peer = `https://${p.advertise}:2380`;
  let members = await etcd.members();
  let me = members.find((m) => m.peerURLs?.includes(peer));
  if (!me) {
    out(`[etcd] Adding etcd member as learner: ${peer}`);
    const r = await retry('error adding the etcd member', p.timeouts.etcd, () => etcd.addLearner(peer), 1000);
    log.write('etcd-member-add', { peer, id: r.member.ID });
    me = r.member;
    members = r.members;
  }
  const initial = members
    .map((m: Member) => `${m.ID === me!.ID ? p.node.name : m.name || p.node.name}=${m.peerURLs?.[0]}`)
    .join(',');
  out(`[etcd] Creating static Pod manifest for "etcd"`);
  writeManifest('etcd', etcdManifest(cpInput(p), initial, true));
  out('[etcd] Waiting for the new etcd member to join the cluster. This can take up to 40s');
  await retry(
    'error promoting the etcd learner',
    p.timeouts.etcd,
    async () => {
      const now = await etcd.members();
      const m = now.find((x) => x.ID === me!.ID);
      if (m && !m.isLearner) return;
      await etcd.promote(me!.ID);
    },
    1000,
  );
  log.write('etcd-member-promoted', { peer, id: me.ID });
  out('[etcd] Successfully added the new etcd member');
}

async function cmdReset(flags: ParsedFlags): Promise<void> {
  checkMixed(flags, VERSION.minor);
  let resetCfg: Doc | undefined;
  const cfgPath = str(flags, 'config');
  if (cfgPath)
    resetCfg = loadConfigFile(cfgPath, VERSION.minor, ['ResetConfiguration']).docs.get('ResetConfiguration');
  if (bool(flags, 'dry-run') || resetCfg?.dryRun === true)
    throw new ConfigError('[stand-in] --dry-run is not implemented by the kubeadm stand-in');
  const certDir = str(flags, 'cert-dir') ?? getStr(resetCfg, 'certificatesDir') ?? '/etc/kubernetes/pki';
  const force = bool(flags, 'force') || resetCfg?.force === true;
  out('[reset] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...');
  log.write('reset-start');
  if (!force) {
    const ok = await confirm('[reset] Are you sure you want to proceed? [y/N]: ');
    if (!ok)
      throw new PhaseError('preflight', "won't proceed; the user didn't answer (Y|y) in order to continue");
  }
  out('[preflight] Running pre-flight checks');
  if (process.getuid?.() !== 0)
    throw new PhaseError(
      'preflight',
      '[preflight] Some fatal errors occurred:\n\t[ERROR IsPrivilegedUser]: user is not running as root',
    );
  const skips = [...list(flags, 'skip-phases'), ...((resetCfg?.skipPhases as string[] | undefined) ?? [])];
  const etcdManifestPath = `${K}/manifests/etcd.yaml`;
  let dataDir: string | undefined;
  if (existsSync(etcdManifestPath) && !skips.includes('remove-etcd-member')) {
    const text = readFileSync(etcdManifestPath, 'utf8');
    dataDir = /--data-dir=(\S+)/.exec(text)?.[1];
    const peer = /--initial-advertise-peer-urls=(\S+)/.exec(text)?.[1];
    const local = /--advertise-client-urls=(\S+)/.exec(text)?.[1];
    try {
      let endpoints: string[] = local ? [local] : [];
      try {
        endpoints = await etcdEndpointsFromPods(adminClient(str(flags, 'kubeconfig') ?? `${K}/admin.conf`));
      } catch {
        // the API may already be gone; the local member is still reachable
      }
      const etcd = etcdClientFor({ certDir }, endpoints);
      const members = await etcd.members();
      const me = members.find((m) => peer && m.peerURLs?.includes(peer));
      if (me && members.length > 1) {
        // etcd refuses to remove a member until the others have been connected for a few seconds
        await retry('error removing the etcd member', 60_000, () => etcd.removeMember(me.ID), 1000);
        log.write('etcd-member-remove', { peer, id: me.ID });
        out(`[reset] Removed the etcd member ${me.name ?? me.ID} (${peer})`);
      }
    } catch (e) {
      process.stderr.write(
        `W: [reset] Failed to remove etcd member: ${(e as Error).message}\n.Please manually remove this etcd member using etcdctl\n`,
      );
    }
  } else if (!existsSync(etcdManifestPath)) {
    out('[reset] No etcd config found. Assuming external etcd');
    out('[reset] Please, manually reset etcd to prevent further issues');
  }
  out('[reset] Stopping the kubelet service');
  const stop = systemctl('stop', 'kubelet');
  if (!stop.ok)
    process.stderr.write(`W: [reset] The kubelet service could not be stopped by kubeadm: [${stop.out}]\n`);
  out('[reset] Unmounting mounted directories in "/var/lib/kubelet"');
  out(
    '[reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]',
  );
  for (const dir of [`${K}/manifests`, '/var/lib/kubelet', certDir]) {
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir)) rmSync(`${dir}/${entry}`, { recursive: true, force: true });
  }
  if (dataDir && existsSync(dataDir)) {
    out(`[reset] Deleting contents of ${dataDir}`);
    for (const entry of readdirSync(dataDir)) rmSync(`${dataDir}/${entry}`, { recursive: true, force: true });
  }
  const files = [
    'admin.conf',
    'super-admin.conf',
    'kubelet.conf',
    'bootstrap-kubelet.conf',
    'controller-manager.conf',
    'scheduler.conf',
  ].map((f) => `${K}/${f}`);
  out(`[reset] Deleting files: [${files.join(' ')}]`);
  for (const f of files) rmSync(f, { force: true });
  if (bool(flags, 'cleanup-tmp-dir') || resetCfg?.cleanupTmpDir === true)
    rmSync(`${K}/tmp`, { recursive: true, force: true });
  log.write('reset-done');
  out('\nThe reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d\n');
  out('The reset process does not reset or clean up iptables rules or IPVS tables.');
  out('If you wish to reset iptables, you must do so manually by using the "iptables" command.\n');
  out('If your cluster was setup to utilize IPVS, run ipvsadm --clear (or similar)');
  out("to reset your system's IPVS tables.\n");
  out('The reset process does not clean your kubeconfig files and you must remove them manually.');
  out('Please, check the contents of the $HOME/.kube/config file.');
}

/** `config images list/pull`: the images of --config (or the flags) for the target version. */
function imagesOf(flags: ParsedFlags): { images: string[]; node?: Doc } {
  checkMixed(flags, VERSION.minor);
  let target = VERSION;
  let cluster: Doc = {};
  let node: Doc | undefined;
  const cfgPath = str(flags, 'config');
  if (cfgPath) {
    const docs = loadConfigFile(cfgPath, VERSION.minor, ['InitConfiguration', 'ClusterConfiguration']).docs;
    cluster = docs.get('ClusterConfiguration') ?? {};
    node = get(docs.get('InitConfiguration'), 'nodeRegistration') as Doc | undefined;
    target = parseVersion(getStr(cluster, 'kubernetesVersion') ?? '') ?? target;
  }
  const repo = str(flags, 'image-repository');
  if (repo) cluster = { ...cluster, imageRepository: repo };
  const vt = str(flags, 'kubernetes-version');
  if (vt) {
    const v = parseVersion(vt);
    if (!v) throw new ConfigError(`couldn't parse Kubernetes version "${vt}"`);
    target = v;
  }
  return { images: clusterImages(cluster, target, VERSION.minor), ...(node ? { node } : {}) };
}

/** `config images pull`: each image through the CRI, as kubeadm's PullImages does. */
async function cmdImagesPull(flags: ParsedFlags): Promise<void> {
  const { images, node } = imagesOf(flags);
  const socket =
    str(flags, 'cri-socket') ?? getStr(node, 'criSocket') ?? 'unix:///var/run/containerd/containerd.sock';
  for (const image of images) {
    try {
      await criCall(socket, 'POST', '/v1/images/pull', { image }, 120_000);
    } catch (e) {
      throw new Error(`failed to pull image "${image}": ${(e as Error).message}`);
    }
    out(`[config/images] Pulled ${image}`);
  }
}

function cmdImagesList(flags: ParsedFlags): void {
  const { images } = imagesOf(flags);
  const o = str(flags, 'output') ?? 'text';
  if (o === 'json')
    out(JSON.stringify({ kind: 'Images', apiVersion: 'output.kubeadm.k8s.io/v1alpha3', images }, null, 4));
  else if (o === 'yaml')
    out(
      stringify(
        { apiVersion: 'output.kubeadm.k8s.io/v1alpha3', images, kind: 'Images' },
        { version: '1.1' },
      ).trimEnd(),
    );
  else if (o === 'text') for (const i of images) out(i);
  else
    throw new ConfigError(
      `unable to match a printer suitable for the output format "${o}", allowed formats are: json,jsonpath,jsonpath-as-json,jsonpath-file,text,yaml`,
    );
}

function cmdVersion(flags: ParsedFlags): void {
  const o = str(flags, 'output') ?? '';
  const info = {
    major: String(VERSION.major),
    minor: String(VERSION.minor),
    gitVersion: VERSION.text,
    gitCommit: 'standin',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'standin',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
  if (o === 'short') out(VERSION.text);
  else if (o === 'json') out(JSON.stringify({ clientVersion: info }, null, 2));
  else if (o === 'yaml') out(stringify({ clientVersion: info }, { version: '1.1' }).trimEnd());
  else if (o === '')
    out(
      `kubeadm version: &version.Info{Major:"${info.major}", Minor:"${info.minor}", GitVersion:"${info.gitVersion}", GitCommit:"standin", GitTreeState:"clean", BuildDate:"${info.buildDate}", GoVersion:"standin", Compiler:"gc", Platform:"linux/amd64"}`,
    );
  else throw new ConfigError(`invalid output format: ${o}`);
}

function clusterEndpoint(kubeconfig: string): string {
  return readKubeconfig(kubeconfig).server.replace(/^https:\/\//, '');
}

/**
 * `token create`: flags, or (not both, ValidateMixedArguments) the first bootstrap token of an
 * InitConfiguration given with --config; a token given as the argument wins.
 */
async function cmdTokenCreate(flags: ParsedFlags, args: string[]): Promise<void> {
  checkMixed(flags, VERSION.minor);
  const kubeconfig = str(flags, 'kubeconfig') ?? `${K}/admin.conf`;
  const cfgPath = str(flags, 'config');
  const fromConfig = cfgPath
    ? (((loadConfigFile(cfgPath, VERSION.minor, ['InitConfiguration', 'ClusterConfiguration']).docs.get(
        'InitConfiguration',
      )?.bootstrapTokens as Doc[] | undefined) ?? [])[0] ?? {})
    : {};
  const api = adminClient(kubeconfig);
  const token = args[0] ?? getStr(fromConfig, 'token') ?? generateToken();
  const ttl = str(flags, 'ttl') ?? getStr(fromConfig, 'ttl');
  const usages = list(flags, 'usages').length
    ? list(flags, 'usages')
    : (fromConfig.usages as string[] | undefined);
  const groups = list(flags, 'groups').length
    ? list(flags, 'groups')
    : (fromConfig.groups as string[] | undefined);
  const description = str(flags, 'description') ?? getStr(fromConfig, 'description');
  await createToken(api, {
    token,
    ttlMs: ttl ? durationMs(ttl) : 24 * 3600e3,
    usages: usages ?? ['signing', 'authentication'],
    groups: groups ?? ['system:bootstrappers:kubeadm:default-node-token'],
    ...(description ? { description } : {}),
  });
  log.write('token-create');
  if (bool(flags, 'print-join-command')) {
    const hash = caCertHash(readKubeconfig(kubeconfig).caPem ?? '');
    const key = str(flags, 'certificate-key');
    out(`${joinCommand(clusterEndpoint(kubeconfig), token, hash, key).replace(/ \\\n\t/g, ' ')} `);
  } else out(token);
}

async function cmdTokenList(flags: ParsedFlags): Promise<void> {
  const rows = await listTokens(adminClient(str(flags, 'kubeconfig') ?? `${K}/admin.conf`));
  const o = str(flags, 'output') ?? 'text';
  if (o === 'json') {
    for (const r of rows)
      out(
        JSON.stringify(
          {
            kind: 'BootstrapToken',
            apiVersion: 'output.kubeadm.k8s.io/v1alpha3',
            token: r.token,
            ...(r.expires ? { expires: r.expires } : {}),
            usages: r.usages,
            groups: r.groups,
            description: r.description,
          },
          null,
          4,
        ),
      );
    return;
  }
  out(
    'TOKEN                     TTL         EXPIRES                USAGES                   DESCRIPTION   EXTRA GROUPS',
  );
  for (const r of rows) {
    const ttl = r.expires
      ? `${Math.max(0, Math.round((Date.parse(r.expires) - Date.now()) / 3600e3))}h`
      : '<forever>';
    out(
      `${r.token.padEnd(26)}${ttl.padEnd(12)}${(r.expires ?? '<never>').padEnd(23)}${r.usages.join(',').padEnd(25)}${(r.description || '<none>').padEnd(14)}${r.groups.join(',')}`,
    );
  }
}

async function cmdTokenDelete(flags: ParsedFlags, args: string[]): Promise<void> {
  if (!args.length)
    throw new FlagError(
      'missing subcommand; \'token delete\' is missing token of form "[a-z0-9]{6}.[a-z0-9]{16}" or "[a-z0-9]{6}"',
    );
  const api = adminClient(str(flags, 'kubeconfig') ?? `${K}/admin.conf`);
  for (const a of args) {
    const id = a.split('.')[0];
    await api.call('DELETE', `/api/v1/namespaces/kube-system/secrets/bootstrap-token-${id}`);
    out(`bootstrap token "${id}" deleted`);
  }
}

const CERTS: { name: string; file: string; ca: string; kubeconfig?: boolean }[] = [
  { name: 'admin.conf', file: `${K}/admin.conf`, ca: 'ca', kubeconfig: true },
  { name: 'apiserver', file: 'apiserver.crt', ca: 'ca' },
  { name: 'apiserver-etcd-client', file: 'apiserver-etcd-client.crt', ca: 'etcd-ca' },
  { name: 'apiserver-kubelet-client', file: 'apiserver-kubelet-client.crt', ca: 'ca' },
  { name: 'controller-manager.conf', file: `${K}/controller-manager.conf`, ca: 'ca', kubeconfig: true },
  { name: 'etcd-healthcheck-client', file: 'etcd/healthcheck-client.crt', ca: 'etcd-ca' },
  { name: 'etcd-peer', file: 'etcd/peer.crt', ca: 'etcd-ca' },
  { name: 'etcd-server', file: 'etcd/server.crt', ca: 'etcd-ca' },
  { name: 'front-proxy-client', file: 'front-proxy-client.crt', ca: 'front-proxy-ca' },
  { name: 'scheduler.conf', file: `${K}/scheduler.conf`, ca: 'ca', kubeconfig: true },
  { name: 'super-admin.conf', file: `${K}/super-admin.conf`, ca: 'ca', kubeconfig: true },
];
const CAS = [
  { name: 'ca', file: 'ca.crt' },
  { name: 'etcd-ca', file: 'etcd/ca.crt' },
  { name: 'front-proxy-ca', file: 'front-proxy-ca.crt' },
];

function certPem(certDir: string, c: { file: string; kubeconfig?: boolean }): string | undefined {
  const path = c.file.startsWith('/') ? c.file : `${certDir}/${c.file}`;
  if (!existsSync(path)) return undefined;
  if (c.kubeconfig) return readKubeconfig(path).certPem;
  return readFileSync(path, 'utf8');
}

function residual(d: Date): string {
  const ms = d.getTime() - Date.now();
  const days = Math.floor(ms / 86400e3);
  if (ms < 0) return '<invalid>';
  return days >= 365 ? `${Math.floor(days / 365)}y` : `${days}d`;
}

function fmtDate(d: Date): string {
  const m = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][
    d.getUTCMonth()
  ];
  return `${m} ${String(d.getUTCDate()).padStart(2, '0')}, ${d.getUTCFullYear()} ${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')} UTC`;
}

function cmdCheckExpiration(flags: ParsedFlags): void {
  const certDir = str(flags, 'cert-dir') ?? '/etc/kubernetes/pki';
  const rows = CERTS.map((c) => ({ c, pem: certPem(certDir, c) })).filter((r) => r.pem);
  const cas = CAS.map((c) => ({ c, pem: certPem(certDir, c) })).filter((r) => r.pem);
  const o = str(flags, 'output') ?? 'text';
  if (o === 'json' || o === 'yaml') {
    const doc = {
      kind: 'CertificateExpirationInfo',
      apiVersion: 'output.kubeadm.k8s.io/v1alpha3',
      certificates: rows.map(({ c, pem }) => {
        const i = certInfo(pem!);
        return {
          name: c.name,
          expirationDate: i.notAfter.toISOString().replace(/\.\d+Z$/, 'Z'),
          residualTime: i.notAfter.getTime() - Date.now(),
          certificateAuthority: c.ca,
          externallyManaged: false,
          missing: false,
        };
      }),
      certificateAuthorities: cas.map(({ c, pem }) => {
        const i = certInfo(pem!);
        return {
          name: c.name,
          expirationDate: i.notAfter.toISOString().replace(/\.\d+Z$/, 'Z'),
          residualTime: i.notAfter.getTime() - Date.now(),
          externallyManaged: false,
          missing: false,
        };
      }),
    };
    out(o === 'json' ? JSON.stringify(doc, null, 4) : stringify(doc, { version: '1.1' }).trimEnd());
    return;
  }
  out(
    '[check-expiration] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...',
  );
  out(
    "[check-expiration] Use 'kubeadm init phase upload-config --config your-config.yaml' to re-upload it.\n",
  );
  out(
    'CERTIFICATE                EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED',
  );
  for (const { c, pem } of rows) {
    const i = certInfo(pem!);
    out(
      `${c.name.padEnd(27)}${fmtDate(i.notAfter).padEnd(25)}${residual(i.notAfter).padEnd(16)}${c.ca.padEnd(24)}no`,
    );
  }
  out('\nCERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED');
  for (const { c, pem } of cas) {
    const i = certInfo(pem!);
    out(`${c.name.padEnd(24)}${fmtDate(i.notAfter).padEnd(25)}${residual(i.notAfter).padEnd(16)}no`);
  }
}

/** Re-signs a leaf (or a kubeconfig's client certificate) with the same subject and SANs and a fresh key. */
async function renewOne(certDir: string, c: (typeof CERTS)[number], validityMs: number): Promise<void> {
  const pem = certPem(certDir, c);
  if (!pem) return;
  const info = certInfo(pem);
  const caFile = CAS.find((x) => x.name === c.ca)!.file;
  const ca = await readPair(`${certDir}/${caFile.replace(/\.crt$/, '')}`);
  const cn = /CN=([^\n,]+)/.exec(info.subject)?.[1] ?? '';
  const org = [...info.subject.matchAll(/O=([^\n,]+)/g)].map((m) => m[1]!);
  const sans = info.sans.split(', ').filter(Boolean);
  const dns = sans.filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4));
  const ips = sans.filter((s) => s.startsWith('IP Address:')).map((s) => s.slice(11));
  const server = ['apiserver', 'etcd-server', 'etcd-peer'].includes(c.name);
  const client = c.name !== 'apiserver';
  const leaf = await signLeaf(ca, { cn, org, dns, ips, server, client, validityMs });
  if (c.kubeconfig) {
    const k = readKubeconfig(c.file);
    const user = /CN=([^\n,]+)/.exec(info.subject)?.[1] ?? 'user';
    writeSecret(
      c.file,
      renderKubeconfig({
        server: k.server,
        caPem: k.caPem ?? ca.certPem,
        user,
        certPem: leaf.certPem,
        keyPem: leaf.key.pem,
      }),
    );
  } else writePair(`${certDir}/${c.file.replace(/\.crt$/, '')}`, leaf);
}

async function cmdCertsRenew(flags: ParsedFlags, args: string[]): Promise<void> {
  const certDir = str(flags, 'cert-dir') ?? '/etc/kubernetes/pki';
  const what = args[0];
  const names = CERTS.map((c) => c.name);
  if (!what || (what !== 'all' && !names.includes(what))) {
    throw new FlagError(`unknown command "${what ?? ''}" for "kubeadm certs renew"`);
  }
  const validityMs = await validityFromCluster(flags);
  for (const c of CERTS) {
    if (what !== 'all' && c.name !== what) continue;
    if (!certPem(certDir, c)) continue;
    await renewOne(certDir, c, validityMs);
    out(
      `certificate${c.kubeconfig ? ` embedded in the kubeconfig file for the ${c.name.replace('.conf', '')} to use` : ` for ${c.name}`} renewed`,
    );
  }
  log.write('certs-renew', { what });
  out(
    '\nDone renewing certificates. You must restart the kube-apiserver, kube-controller-manager, kube-scheduler and etcd, so that they can use the new certificates.',
  );
}

async function validityFromCluster(flags: ParsedFlags): Promise<number> {
  const YEAR = 365 * 24 * 3600e3;
  const cfg = str(flags, 'config');
  let cluster: Doc | undefined;
  if (cfg)
    cluster = loadConfigFile(cfg, VERSION.minor, ['InitConfiguration', 'ClusterConfiguration']).docs.get(
      'ClusterConfiguration',
    );
  else {
    try {
      const cm = await adminClient(str(flags, 'kubeconfig') ?? `${K}/admin.conf`).get<{
        data: Record<string, string>;
      }>('/api/v1/namespaces/kube-system/configmaps/kubeadm-config');
      cluster = parseYamlDocs(cm.data.ClusterConfiguration ?? '', 'kubeadm-config')[0];
    } catch {
      // kubeadm falls back to defaults when the cluster cannot be reached
    }
  }
  const v = getStr(cluster, 'certificateValidityPeriod');
  return v ? durationMs(v) : YEAR;
}

async function cmdUploadCerts(flags: ParsedFlags): Promise<void> {
  checkMixed(flags, VERSION.minor);
  if (!bool(flags, 'upload-certs')) {
    out('[upload-certs] Skipping phase. Please see --upload-certs');
    return;
  }
  const api = adminClient(str(flags, 'kubeconfig') ?? `${K}/admin.conf`);
  const key = str(flags, 'certificate-key') ?? newCertificateKey();
  out('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace');
  await uploadCerts(api, '/etc/kubernetes/pki', key);
  log.write('upload-certs');
  out('[upload-certs] Using certificate key:');
  if (!bool(flags, 'skip-certificate-key-print')) out(key);
}

async function clusterConfig(api: ApiClient): Promise<Doc> {
  const cm = await api.get<{ data: Record<string, string> }>(
    '/api/v1/namespaces/kube-system/configmaps/kubeadm-config',
  );
  return parseYamlDocs(cm.data.ClusterConfiguration ?? '', 'kubeadm-config')[0] ?? {};
}

/** The stored ClusterConfiguration, read as `upgrade` reads it. */
async function storedClusterConfig(api: ApiClient): Promise<Doc> {
  const cm = await api.get<{ data: Record<string, string> }>(
    '/api/v1/namespaces/kube-system/configmaps/kubeadm-config',
  );
  return parseStoredClusterConfig(cm.data.ClusterConfiguration ?? '', VERSION.minor);
}

async function cmdUpgradePlan(flags: ParsedFlags, args: string[]): Promise<void> {
  const api = adminClient(str(flags, 'kubeconfig') ?? `${K}/admin.conf`);
  const cluster = await clusterConfig(api);
  const current = parseVersion(getStr(cluster, 'kubernetesVersion') ?? '') ?? VERSION;
  const target = args[0] ? parseVersion(args[0]) : VERSION;
  if (!target) throw new ConfigError(`couldn't parse Kubernetes version "${args[0]}"`);
  out('[preflight] Running pre-flight checks.');
  out(
    '[upgrade/config] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...',
  );
  out('[upgrade] Running cluster health checks');
  out(`[upgrade] Fetching available versions to upgrade to`);
  out(`[upgrade/versions] Cluster version: ${current.text}`);
  out(`[upgrade/versions] kubeadm version: ${VERSION.text}`);
  if (target.minor === current.minor && target.patch === current.patch) {
    out("\nAwesome, you're up-to-date! Enjoy!");
    return;
  }
  out('\nUpgrade to the latest stable version:\n');
  out('COMPONENT                 NODE      CURRENT    TARGET');
  for (const c of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy'])
    out(`${c.padEnd(26)}          ${current.text.padEnd(11)}${target.text}`);
  out(
    `\nYou can now apply the upgrade by executing the following command:\n\n\tkubeadm upgrade apply ${target.text}\n`,
  );
}

function rewriteImageTags(version: Version, etcdTag?: string): string[] {
  const changed: string[] = [];
  for (const c of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd']) {
    const path = `${K}/manifests/${c}.yaml`;
    if (!existsSync(path)) continue;
    const text = readFileSync(path, 'utf8');
    const tag = c === 'etcd' ? etcdTag : version.text;
    if (!tag) continue;
    const next = text.replace(new RegExp(`(image: \\S+/${c}):\\S+`), `$1:${tag}`);
    if (next !== text) {
      writeManifest(c, next);
      changed.push(c);
    }
  }
  return changed;
}

async function renewAll(certDir: string, validityMs: number): Promise<void> {
  for (const c of CERTS) if (certPem(certDir, c)) await renewOne(certDir, c, validityMs);
}

async function waitMirrorPods(
  api: ApiClient,
  node: string,
  components: string[],
  image: (c: string) => string,
  timeoutMs: number,
): Promise<void> {
  for (const c of components) {
    out(`[upgrade/staticpods] Waiting for the kubelet to restart the component`);
    await retry(
      `[upgrade/staticpods] the ${c} Pod did not come back with the new image`,
      timeoutMs,
      async () => {
        const pod = await api.get<{
          spec?: { containers?: { image?: string }[] };
          status?: { conditions?: { type: string; status: string }[] };
        }>(`/api/v1/namespaces/kube-system/pods/${c}-${node}`);
        const ready = pod.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True';
        if (pod.spec?.containers?.[0]?.image !== image(c) || !ready)
          throw new Error(`${c} not yet running ${image(c)}`);
      },
      1000,
    );
    out(`[upgrade/staticpods] Component "${c}" upgraded successfully!`);
  }
}

interface NodeSummary {
  metadata: { name: string; labels?: Record<string, string> };
  status?: { conditions?: { type: string; status: string }[]; nodeInfo?: { kubeletVersion?: string } };
}

function checkUpgradePolicy(current: Version, target: Version, nodes: NodeSummary[], force: boolean): void {
  const phased = VERSION.minor >= 31;
  out(
    phased
      ? `[upgrade/preflight] You have chosen to upgrade the cluster version to "${target.text}"`
      : `[upgrade/version] You have chosen to change the cluster version to "${target.text}"`,
  );
  out(`[upgrade/versions] Cluster version: ${current.text}`);
  out(`[upgrade/versions] kubeadm version: ${VERSION.text}`);
  const errs = enforceVersionPolicies({
    cluster: current,
    kubeadm: VERSION,
    target,
    kubelets: nodes.map((n) => n.status?.nodeInfo?.kubeletVersion ?? '').filter(Boolean),
  });
  const failure = policyFailure(errs, force, phased);
  if (failure) throw phased ? new PhaseError('preflight', failure) : new Error(failure);
  const notice = force ? forcedNotice(errs) : undefined;
  if (notice) out(notice);
}

/** kubeadm 1.35's upgrade removes kubelet flags the 1.35 kubelet refuses from kubeadm-flags.env. */
function cleanKubeletFlagsEnv(): void {
  const path = '/var/lib/kubelet/kubeadm-flags.env';
  if (!existsSync(path)) return;
  const text = readFileSync(path, 'utf8');
  const next = dropKubeletFlags(text, unwantedKubeletFlags(VERSION.minor));
  if (next === text) return;
  writeFileSync(`${path}.tmp`, next, { mode: 0o644 });
  renameSync(`${path}.tmp`, path);
  log.write('kubeadm-flags-env-cleaned');
}

async function cmdUpgradeApply(flags: ParsedFlags, args: string[]): Promise<void> {
  checkMixed(flags, VERSION.minor);
  let upgradeCfg: Doc | undefined;
  const cfgPath = str(flags, 'config');
  if (cfgPath)
    upgradeCfg = loadConfigFile(cfgPath, VERSION.minor, ['UpgradeConfiguration']).docs.get(
      'UpgradeConfiguration',
    );
  const apply = (upgradeCfg?.apply ?? {}) as Doc;
  loadPatches(str(flags, 'patches') ?? getStr(apply, 'patches.directory'));
  const versionText = args[0] ?? getStr(apply, 'kubernetesVersion');
  if (!versionText)
    throw new FlagError('missing one or more required arguments. Required arguments: [version]');
  const target = parseVersion(versionText);
  if (!target) throw new ConfigError(`couldn't parse Kubernetes version "${versionText}"`);
  const kubeconfig = str(flags, 'kubeconfig') ?? `${K}/admin.conf`;
  const api = adminClient(kubeconfig);
  const node = nodeName();
  log.write('upgrade-apply-start', { target: target.text });
  out('[preflight] Running pre-flight checks.');
  out(
    '[upgrade/config] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...',
  );
  let cluster = await storedClusterConfig(api);
  const current = parseVersion(getStr(cluster, 'kubernetesVersion') ?? '')!;
  out('[upgrade] Running cluster health checks');
  const nodes = await api.get<{
    items: NodeSummary[];
  }>('/api/v1/nodes');
  const notReady = nodes.items.filter(
    (n) =>
      n.metadata.labels?.['node-role.kubernetes.io/control-plane'] !== undefined &&
      n.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True',
  );
  if (
    notReady.length &&
    !list(flags, 'ignore-preflight-errors').some((x) => /^(all|controlplanenodesready)$/i.test(x))
  ) {
    throw new PhaseError(
      'preflight',
      `[preflight] Some fatal errors occurred:\n\t[ERROR ControlPlaneNodesReady]: there are NotReady control-planes in the cluster: [${notReady.map((n) => n.metadata.name).join(' ')}]`,
    );
  }
  const force = bool(flags, 'force') || apply.forceUpgrade === true;
  checkUpgradePolicy(current, target, nodes.items, force);
  if (!bool(flags, 'yes') && !force) {
    const ok = await confirm('[upgrade] Are you sure you want to proceed? [y/N]: ');
    if (!ok)
      throw new PhaseError('preflight', "won't proceed; the user didn't answer (Y|y) in order to continue");
  }
  await phase('preflight', () => pullImages(cluster, target, localNode(flags)));
  const renew = flags.values.has('certificate-renewal')
    ? bool(flags, 'certificate-renewal')
    : apply.certificateRenewal !== false;
  const etcdUpgrade = flags.values.has('etcd-upgrade')
    ? bool(flags, 'etcd-upgrade')
    : apply.etcdUpgrade !== false;
  const certDir = getStr(cluster, 'certificatesDir') ?? '/etc/kubernetes/pki';
  if (renew) {
    out('[upgrade/staticpods] Renewing certificates');
    await renewAll(
      certDir,
      getStr(cluster, 'certificateValidityPeriod')
        ? durationMs(getStr(cluster, 'certificateValidityPeriod')!)
        : 365 * 24 * 3600e3,
    );
  }
  const etcdTag =
    etcdUpgrade && existsSync(`${K}/manifests/etcd.yaml`) ? factsFor(target.minor).etcd : undefined;
  const changed = rewriteImageTags(target, etcdTag);
  const repo = getStr(cluster, 'imageRepository') ?? 'registry.k8s.io';
  await waitMirrorPods(
    api,
    node,
    changed,
    (c) => `${repo}/${c}:${c === 'etcd' ? etcdTag : target.text}`,
    5 * 60e3,
  );
  if (VERSION.minor >= 31) cluster = clusterToV1beta4(cluster);
  cluster.kubernetesVersion = target.text;
  cleanKubeletFlagsEnv();
  out(
    '[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace',
  );
  await putConfigMap(api, 'kube-system', 'kubeadm-config', {
    ClusterConfiguration: stringify(cluster, { version: '1.1' }),
  });
  await api
    .call(
      'PATCH',
      '/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy',
      {
        spec: {
          template: {
            spec: { containers: [{ name: 'kube-proxy', image: `${repo}/kube-proxy:${target.text}` }] },
          },
        },
      },
      'application/merge-patch+json',
    )
    .catch(() => undefined);
  out('[addons] Applied essential addon: CoreDNS');
  out('[addons] Applied essential addon: kube-proxy');
  log.write('upgrade-apply-done', { target: target.text, certificateRenewal: renew });
  out(`\n[upgrade/successful] SUCCESS! Your cluster was upgraded to "${target.text}". Enjoy!\n`);
  out(
    "[upgrade/kubelet] Now that your control plane is upgraded, please proceed with upgrading your kubelets if you haven't already done so.",
  );
}

/** The CRI socket and ignored checks of this node, for upgrade's image pre-pull. */
function localNode(flags: ParsedFlags): { criSocket: string; ignore: string[] } {
  const cfg = existsSync('/var/lib/kubelet/config.yaml')
    ? parseYamlDocs(readFileSync('/var/lib/kubelet/config.yaml', 'utf8'), 'config.yaml')[0]
    : undefined;
  const env = existsSync('/var/lib/kubelet/kubeadm-flags.env')
    ? readFileSync('/var/lib/kubelet/kubeadm-flags.env', 'utf8')
    : '';
  return {
    criSocket:
      getStr(cfg, 'containerRuntimeEndpoint') ??
      /--container-runtime-endpoint=([^\s"]+)/.exec(env)?.[1] ??
      'unix:///var/run/containerd/containerd.sock',
    ignore: list(flags, 'ignore-preflight-errors'),
  };
}

async function cmdUpgradeNode(flags: ParsedFlags): Promise<void> {
  checkMixed(flags, VERSION.minor);
  const cfgPath = str(flags, 'config');
  const nodeCfg = cfgPath
    ? ((loadConfigFile(cfgPath, VERSION.minor, ['UpgradeConfiguration']).docs.get('UpgradeConfiguration')
        ?.node ?? {}) as Doc)
    : {};
  loadPatches(str(flags, 'patches') ?? getStr(nodeCfg, 'patches.directory'));
  const isCP = existsSync(`${K}/manifests/kube-apiserver.yaml`);
  const kubeconfig = str(flags, 'kubeconfig') ?? (isCP ? `${K}/admin.conf` : `${K}/kubelet.conf`);
  const api = adminClient(kubeconfig);
  log.write('upgrade-node-start', { controlPlane: isCP });
  out('[upgrade] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...');
  const cluster = await storedClusterConfig(api);
  const target = parseVersion(getStr(cluster, 'kubernetesVersion') ?? '')!;
  out('[preflight] Running pre-flight checks');
  if (isCP) {
    await phase('preflight', () => pullImages(cluster, target, localNode(flags)));
    out(
      '[upgrade] Upgrading your Static Pod-hosted control plane instance to version "' + target.text + '"...',
    );
    const renew = flags.values.has('certificate-renewal') ? bool(flags, 'certificate-renewal') : true;
    const certDir = getStr(cluster, 'certificatesDir') ?? '/etc/kubernetes/pki';
    if (renew) await renewAll(certDir, 365 * 24 * 3600e3);
    const etcdUpgrade = flags.values.has('etcd-upgrade') ? bool(flags, 'etcd-upgrade') : true;
    const etcdTag =
      etcdUpgrade && existsSync(`${K}/manifests/etcd.yaml`) ? factsFor(target.minor).etcd : undefined;
    const changed = rewriteImageTags(target, etcdTag);
    const repo = getStr(cluster, 'imageRepository') ?? 'registry.k8s.io';
    await waitMirrorPods(
      api,
      nodeName(),
      changed,
      (c) => `${repo}/${c}:${c === 'etcd' ? etcdTag : target.text}`,
      5 * 60e3,
    );
  } else {
    out('[upgrade] Skipping phase. Not a control plane node.');
  }
  const kcm = await api.get<{ data: Record<string, string> }>(
    '/api/v1/namespaces/kube-system/configmaps/kubelet-config',
  );
  writeFileSync('/var/lib/kubelet/config.yaml', patched('kubeletconfiguration', kcm.data.kubelet ?? ''), {
    mode: 0o644,
  });
  cleanKubeletFlagsEnv();
  out('[upgrade] The configuration for this node was successfully updated!');
  out('[upgrade] Now you should go ahead and upgrade the kubelet package using your package manager.');
  log.write('upgrade-node-done');
}

function cmdConfigValidate(flags: ParsedFlags): void {
  const cfg = str(flags, 'config');
  if (!cfg) throw new ConfigError('the --config flag is mandatory');
  loadConfigFile(cfg, VERSION.minor, [
    'InitConfiguration',
    'ClusterConfiguration',
    'JoinConfiguration',
    'ResetConfiguration',
    'UpgradeConfiguration',
  ]);
  out('ok');
}

async function main(argv: string[]): Promise<void> {
  const { path, rest } = resolveCommand(argv);
  if (!path)
    throw new FlagError(
      argv.length ? `unknown command "${argv[0]}" for "kubeadm"` : 'kubeadm: missing subcommand',
    );
  const flags = parseFor(path, rest);
  const args = flags.args;
  log.write('call', { argv, command: path });
  const cfg = str(flags, 'config');
  if (cfg && existsSync(cfg)) log.noteConfig(cfg, readFileSync(cfg));
  switch (path) {
    case 'init':
      return cmdInit(flags);
    case 'join':
      return cmdJoin(flags, args);
    case 'reset':
      return cmdReset(flags);
    case 'version':
      return cmdVersion(flags);
    case 'config images list':
      return cmdImagesList(flags);
    case 'config images pull':
      return cmdImagesPull(flags);
    case 'config validate':
      return cmdConfigValidate(flags);
    case 'token create':
      return cmdTokenCreate(flags, args);
    case 'token list':
      return cmdTokenList(flags);
    case 'token delete':
      return cmdTokenDelete(flags, args);
    case 'token generate':
      out(generateToken());
      return;
    case 'certs check-expiration':
      return cmdCheckExpiration(flags);
    case 'certs renew':
      return cmdCertsRenew(flags, args);
    case 'certs certificate-key':
      out(newCertificateKey());
      return;
    case 'init phase upload-certs':
      return cmdUploadCerts(flags);
    case 'upgrade plan':
      return cmdUpgradePlan(flags, args);
    case 'upgrade apply':
      return cmdUpgradeApply(flags, args);
    case 'upgrade node':
      return cmdUpgradeNode(flags);
    default:
      throw new FlagError(`[stand-in] "kubeadm ${path}" is not implemented by the stand-in`);
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: unknown) => {
    const msg = e instanceof Error ? e.message : String(e);
    const text =
      e instanceof PhaseError
        ? `error execution phase ${e.phase}: ${msg}`
        : e instanceof ApiError
          ? `${msg}`
          : msg;
    process.stderr.write(`${text}\nTo see the stack trace of this error execute with --v=5 or higher\n`);
    log.write('failed', { error: text });
    process.exit(1);
  },
);

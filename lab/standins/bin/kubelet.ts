/**
 * kubelet stand-in. Run by systemd from kubeon's unit, it takes the real kubelet's flags and
 * KubeletConfiguration, performs the TLS bootstrap, registers and heartbeats its Node, runs the
 * static Pods in staticPodPath as real processes and publishes their mirror Pods. The same file
 * also carries the kube-apiserver, kube-controller-manager and kube-scheduler stand-ins it starts
 * for the control-plane images.
 */
// tsyringe, under @peculiar/x509, needs the Reflect polyfill before any of its modules load
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, symlinkSync, unlinkSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { hostname, release, totalmem } from 'node:os';
import * as x509 from '@peculiar/x509';
import { runApiserver } from '../lib/apiserver.js';
import { CallLog } from '../lib/calllog.js';
import { ApiClient } from '../lib/client.js';
import { cniConfigPresent, NOT_READY_MESSAGE, syncBoundPods } from '../lib/cni.js';
import { runComponent } from '../lib/components.js';
import { type Doc, parseYamlDocs } from '../lib/config.js';
import { criCall, type RuntimeInfo } from '../lib/cri.js';
import { criContainers } from '../lib/cri-containers.js';
import { bool, type FlagError, list, type ParsedFlags, parseFlags, str } from '../lib/flags.js';
import { readKubeconfig, renderKubeconfig } from '../lib/kubeconfig.js';
import { kubeletFlags, nodeLabelsError } from '../lib/kubelet-flags.js';
import { newKey, selfSignedCA, writeSecret } from '../lib/pki.js';
import {
  admitPod,
  type CgroupDriver,
  effectiveCgroupDriver,
  NodeRuntime,
  type PodSpecLike,
} from '../lib/podstart.js';
import { check, KUBELET_CONFIGURATION } from '../lib/schema.js';
import { type PodManifest, type Program, StaticPods } from '../lib/staticpods.js';
import { defaultAddress, readText, swapOn } from '../lib/sys.js';
import { builtVersion, parseVersion } from '../lib/versions.js';

const VERSION = builtVersion();

function klog(level: 'I' | 'W' | 'E', msg: string): void {
  const d = new Date();
  const ts = `${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')} ${d.toISOString().slice(11, 23)}`;
  process.stderr.write(`${level}${ts} ${process.pid} kubelet.go] ${msg}\n`);
}

function die(msg: string): never {
  klog('E', `"command failed" err="${msg}"`);
  process.exit(1);
}

function loadConfig(path: string, log: CallLog): Doc {
  const text = readText(path);
  if (text === undefined)
    die(
      `failed to load kubelet config file, path: ${path}, error: failed to load Kubelet config file ${path}, error failed to read kubelet config file "${path}", error: open ${path}: no such file or directory`,
    );
  log.noteConfig(path, text);
  let doc: Doc | undefined;
  try {
    [doc] = parseYamlDocs(text, path);
  } catch (e) {
    die(`failed to load kubelet config file, path: ${path}, error: ${(e as Error).message}`);
  }
  if (doc?.apiVersion !== 'kubelet.config.k8s.io/v1beta1' || doc.kind !== 'KubeletConfiguration') {
    die(
      `failed to load kubelet config file, path: ${path}, error: failed to decode: no kind "${String(doc?.kind ?? '')}" is registered for version "${String(doc?.apiVersion ?? '')}" in scheme "pkg/kubelet/apis/config/scheme/scheme.go:33"`,
    );
  }
  const problems = { unknown: [] as string[], fatal: [] as string[] };
  check(doc, KUBELET_CONFIGURATION, '', 'KubeletConfiguration', problems);
  if (problems.fatal.length)
    die(`failed to load kubelet config file, path: ${path}, error: failed to decode: ${problems.fatal[0]}`);
  if (problems.unknown.length) {
    die(
      `failed to load kubelet config file, path: ${path}, error: strict decoding error: ${problems.unknown.map((u) => `unknown field "${u}"`).join(', ')} [stand-in: the real kubelet falls back to lenient decoding and ignores the field]`,
    );
  }
  return doc;
}

/** Which program stands in for which image. */
function resolver(kubeletScript: string) {
  return (image: string, argv: string[]): Program | string => {
    const ref = image.split('@')[0]!;
    const colon = ref.lastIndexOf(':');
    const name = (colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref).split('/').pop()!;
    const tag = colon > ref.lastIndexOf('/') ? ref.slice(colon + 1) : 'latest';
    const [cmd, ...rest] = argv;
    switch (name) {
      case 'etcd': {
        if (cmd !== undefined && cmd !== 'etcd' && cmd !== '/usr/local/bin/etcd')
          return `stand-in: etcd image run with command "${cmd}", only "etcd" is mapped`;
        return { exe: '/usr/bin/etcd', args: etcd34(rest) };
      }
      case 'haproxy': {
        const args =
          cmd === undefined
            ? ['-f', '/usr/local/etc/haproxy/haproxy.cfg']
            : cmd === 'haproxy'
              ? rest
              : argv.slice(cmd === 'docker-entrypoint.sh' ? 2 : 0);
        if (cmd !== undefined && cmd !== 'haproxy' && cmd !== 'docker-entrypoint.sh')
          return `stand-in: haproxy image run with command "${cmd}", only "haproxy" is mapped`;
        return { exe: '/usr/sbin/haproxy', args: ['-db', ...args.filter((a) => a !== '-db')] };
      }
      case 'kube-apiserver':
      case 'kube-controller-manager':
      case 'kube-scheduler': {
        if (cmd !== name) return `stand-in: ${name} image run with command "${cmd ?? ''}"`;
        const v = parseVersion(tag);
        if (!v) return `Failed to pull image "${image}": tag "${tag}" is not a Kubernetes version`;
        return {
          exe: process.execPath,
          args: [kubeletScript, ...rest],
          env: { KUBEON_STANDIN_IMAGE: name, KUBEON_STANDIN_IMAGE_VERSION: v.text },
        };
      }
      default:
        return `Failed to pull image "${image}": the lab has no program standing in for this image`;
    }
  };
}

/** etcd 3.6 renamed two flags kubeadm writes; the etcd here is 3.4, so they are spelled its way. */
function etcd34(args: string[]): string[] {
  return args.map((a) => {
    if (a === '--feature-gates=InitialCorruptCheck=true') return '--experimental-initial-corrupt-check=true';
    if (a.startsWith('--watch-progress-notify-interval='))
      return a.replace('--watch-', '--experimental-watch-');
    return a;
  });
}

function probePath(image: string, path: string): string {
  // etcd 3.4's metrics listener only has /health; 3.5.11+ adds /livez and /readyz.
  if (image.includes('/etcd:') && (path === '/livez' || path === '/readyz')) return '/health';
  return path;
}

async function tlsBootstrap(
  bootstrapPath: string,
  kubeconfigPath: string,
  node: string,
  certDir: string,
  log: CallLog,
): Promise<void> {
  const creds = readKubeconfig(bootstrapPath);
  const api = new ApiClient(creds);
  const key = await newKey('ECDSA-P256');
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `O=system:nodes, CN=system:node:${node}`,
    keys: { privateKey: key.key, publicKey: key.publicKey },
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  const name = `csr-${randomUUID().slice(0, 5)}`;
  await api.call('POST', '/apis/certificates.k8s.io/v1/certificatesigningrequests', {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name },
    spec: {
      request: Buffer.from(csr.toString('pem')).toString('base64'),
      signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
      usages: ['digital signature', 'client auth'],
    },
  });
  klog('I', `"Waiting for client certificate to be issued" csr="${name}"`);
  let certB64: string | undefined;
  for (let i = 0; i < 300 && !certB64; i++) {
    const got = await api.get<{ status?: { certificate?: string } }>(
      `/apis/certificates.k8s.io/v1/certificatesigningrequests/${name}`,
    );
    certB64 = got.status?.certificate;
    if (!certB64) await new Promise((r) => setTimeout(r, 1000));
  }
  if (!certB64) throw new Error(`timed out waiting for the CSR ${name} to be signed`);
  const pem = `${Buffer.from(certB64, 'base64').toString().trimEnd()}\n${key.pem.trimEnd()}\n`;
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const file = `${certDir}/kubelet-client-${stamp}.pem`;
  writeSecret(file, pem);
  const current = `${certDir}/kubelet-client-current.pem`;
  if (existsSync(current)) unlinkSync(current);
  symlinkSync(file, current);
  writeSecret(
    kubeconfigPath,
    renderKubeconfig({
      server: creds.server,
      caPem: creds.caPem ?? '',
      user: 'default-auth',
      clusterName: 'default-cluster',
      certFile: current,
      keyFile: current,
    }),
  );
  log.write('tls-bootstrap', { csr: name });
}

async function main(argv: string[]): Promise<void> {
  const image = process.env.KUBEON_STANDIN_IMAGE;
  if (image) {
    const v = parseVersion(process.env.KUBEON_STANDIN_IMAGE_VERSION ?? '') ?? VERSION;
    const log = new CallLog(image, v.text);
    if (image === 'kube-apiserver') return runApiserver(argv, v, log);
    if (image === 'kube-controller-manager' || image === 'kube-scheduler')
      return runComponent(image, argv, log);
    die(`unknown embedded image ${image}`);
  }
  const log = new CallLog('kubelet', VERSION.text);
  if (argv.some((a) => a === '--version' || a.startsWith('--version='))) {
    process.stdout.write(`Kubernetes ${VERSION.text}\n`);
    return;
  }
  let flags: ParsedFlags;
  try {
    flags = parseFlags(argv, kubeletFlags(VERSION.minor));
  } catch (e) {
    die(`failed to parse kubelet flag: ${(e as FlagError).message}`);
  }
  log.write('start', { argv });
  const labelsError = nodeLabelsError(list(flags, 'node-labels'));
  if (labelsError) die(`failed to validate kubelet flags: ${labelsError}`);
  const cfgPath = str(flags, 'config');
  const cfg: Doc = cfgPath ? loadConfig(cfgPath, log) : {};
  const endpoint =
    str(flags, 'container-runtime-endpoint') ?? (cfg.containerRuntimeEndpoint as string | undefined) ?? '';
  if (!endpoint)
    die(
      'failed to run Kubelet: validate service connection: the container runtime endpoint address was not specified or empty',
    );
  if (cfg.failSwapOn !== false && flags.values.get('fail-swap-on') !== false && swapOn()) {
    die(
      'failed to run Kubelet: running with swap on is not supported, please disable swap or set --fail-swap-on flag to false',
    );
  }
  let runtime: RuntimeInfo;
  try {
    runtime = await criCall<RuntimeInfo>(endpoint, 'GET', '/v1/version');
  } catch (e) {
    die(`failed to run Kubelet: ${(e as Error).message}`);
  }
  const gates: Record<string, boolean> = { ...((cfg.featureGates as Record<string, boolean>) ?? {}) };
  for (const g of list(flags, 'feature-gates')) {
    const [k, v] = g.split('=');
    if (k) gates[k] = v === 'true';
  }
  const own = String(str(flags, 'cgroup-driver') ?? cfg.cgroupDriver ?? 'cgroupfs') as CgroupDriver;
  const { driver, fromCri } = effectiveCgroupDriver(VERSION.minor, gates, own, runtime);
  if (fromCri)
    klog('I', `"Using cgroup driver setting received from the CRI runtime" cgroupDriver="${driver}"`);
  log.write('cgroup-driver', { driver, fromCri, runtime: runtime.cgroupDriver });
  const rt = new NodeRuntime(endpoint, runtime, driver);
  const node = (str(flags, 'hostname-override') ?? hostname()).toLowerCase();
  const nodeIp = str(flags, 'node-ip') ?? defaultAddress() ?? '127.0.0.1';
  const staticDir = (cfg.staticPodPath as string | undefined) ?? str(flags, 'pod-manifest-path') ?? '';
  const certDir = str(flags, 'cert-dir') ?? '/var/lib/kubelet/pki';
  mkdirSync(certDir, { recursive: true, mode: 0o700 });

  const healthz = createHttpServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok');
  });
  const healthzPort = Number(cfg.healthzPort ?? str(flags, 'healthz-port') ?? 10248);
  const healthzBind = String(cfg.healthzBindAddress ?? str(flags, 'healthz-bind-address') ?? '127.0.0.1');
  healthz.on('error', (e) => die(`failed to start healthz server: ${e.message}`));
  healthz.listen(healthzPort, healthzBind);
  const serving = await selfSignedCA(
    `${node}@${Math.floor(Date.now() / 1000)}`,
    365 * 24 * 3600e3,
    'ECDSA-P256',
  );
  const server = createHttpsServer({ cert: serving.certPem, key: serving.key.pem }, (_req, res) => {
    res.writeHead(401);
    res.end('Unauthorized');
  });
  const port = Number(cfg.port ?? str(flags, 'port') ?? 10250);
  server.on('error', (e) => die(`failed to listen on 0.0.0.0:${port}: ${e.message}`));
  server.listen(port, String(cfg.address ?? str(flags, 'address') ?? '0.0.0.0'));

  const network = { ready: false, message: NOT_READY_MESSAGE };
  const admitStatic = async (m: PodManifest) => {
    const spec = (m.doc.spec ?? {}) as PodSpecLike;
    const blocked = await admitPod(rt, spec, network.ready);
    if (blocked || spec.hostNetwork) return blocked;
    return {
      reason: 'ContainerCreating',
      message:
        '[stand-in: the lab gives pods no network namespace, so a pod without hostNetwork: true never runs; on a real node it would serve on its pod IP, not on the host]',
    };
  };
  const pods = new StaticPods(
    staticDir,
    resolver(process.argv[1]!),
    (m) => klog('I', m),
    probePath,
    admitStatic,
  );
  const kubeconfigPath = str(flags, 'kubeconfig');
  const bootstrapPath = str(flags, 'bootstrap-kubeconfig');
  let api: ApiClient | undefined;
  let bootstrapping = false;
  const registered = { done: false, uid: '' };
  const mirrors = new Map<string, string>();
  const posted = new Map<string, string>();

  const ensureClient = async () => {
    if (api || !kubeconfigPath) return;
    if (existsSync(kubeconfigPath)) {
      api = new ApiClient(readKubeconfig(kubeconfigPath));
      return;
    }
    if (bootstrapPath && existsSync(bootstrapPath) && !bootstrapping) {
      bootstrapping = true;
      try {
        await tlsBootstrap(bootstrapPath, kubeconfigPath, node, certDir, log);
        api = new ApiClient(readKubeconfig(kubeconfigPath));
      } catch (e) {
        klog('E', `"Failed to run TLS bootstrap" err="${(e as Error).message}"`);
      } finally {
        bootstrapping = false;
      }
    }
  };

  const nodeObject = async () => {
    try {
      if (api && registered.done) Object.assign(network, await syncBoundPods(api, rt, node, nodeIp, posted));
      else if (cniConfigPresent()) Object.assign(network, { ready: true, message: '' });
    } catch (e) {
      klog('E', `"Error syncing pods bound to this node" err="${(e as Error).message}"`);
    }
    const ready = network.ready;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const cond = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: now,
    });
    const memKi = `${Math.floor(totalmem() / 1024)}Ki`;
    return {
      conditions: [
        cond(
          'MemoryPressure',
          'False',
          'KubeletHasSufficientMemory',
          'kubelet has sufficient memory available',
        ),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        ready
          ? cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status')
          : cond('Ready', 'False', 'KubeletNotReady', network.message),
      ],
      addresses: [
        { type: 'InternalIP', address: nodeIp },
        { type: 'Hostname', address: node },
      ],
      capacity: { cpu: '2', memory: memKi, pods: String(cfg.maxPods ?? 110) },
      allocatable: { cpu: '2', memory: memKi, pods: String(cfg.maxPods ?? 110) },
      nodeInfo: {
        kubeletVersion: VERSION.text,
        kubeProxyVersion: '',
        containerRuntimeVersion: `containerd://${runtime.version}`,
        osImage: (readText('/etc/os-release') ?? '').match(/PRETTY_NAME="([^"]+)"/)?.[1] ?? 'Linux',
        kernelVersion: release(),
        operatingSystem: 'linux',
        architecture: 'amd64',
        machineID: (readText('/etc/machine-id') ?? '').trim(),
      },
    };
  };

  const register = async () => {
    if (!api || registered.done) return;
    const labels: Record<string, string> = {
      'beta.kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/hostname': node,
      'kubernetes.io/os': 'linux',
    };
    for (const l of list(flags, 'node-labels')) {
      const [k, v] = l.split('=');
      if (k) labels[k] = v ?? '';
    }
    const taints = [
      ...list(flags, 'register-with-taints'),
      ...(
        (cfg.registerWithTaints as { key: string; value?: string; effect: string }[] | undefined) ?? []
      ).map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`),
    ].map((t) => {
      const [kv, effect] = t.split(':');
      const [key, value] = kv!.split('=');
      return { key, ...(value ? { value } : {}), effect };
    });
    try {
      await api.call('POST', '/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: node,
          labels,
          annotations: {
            'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
            'node.alpha.kubernetes.io/ttl': '0',
          },
        },
        spec: taints.length ? { taints } : {},
        status: await nodeObject(),
      });
      klog('I', `"Successfully registered node" node="${node}"`);
      log.write('node-registered', { node });
    } catch (e) {
      if (!(e as { status?: number }).status || (e as { status?: number }).status !== 409) throw e;
    }
    // NodeRestriction wants the Node's UID in each mirror pod's owner reference
    registered.uid = (await api.get<{ metadata: { uid: string } }>(`/api/v1/nodes/${node}`)).metadata.uid;
    registered.done = true;
  };

  const heartbeat = async () => {
    if (!api || !registered.done) return;
    const status = await nodeObject();
    try {
      await api.call('PATCH', `/api/v1/nodes/${node}/status`, { status }, 'application/merge-patch+json');
    } catch (e) {
      if ((e as { status?: number }).status === 404) registered.done = false;
      throw e;
    }
    const now = new Date().toISOString().replace('Z', '000Z');
    await api.upsert('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: node, namespace: 'kube-node-lease' },
      spec: { holderIdentity: node, leaseDurationSeconds: 40, renewTime: now },
    } as never);
  };

  const syncMirrors = async () => {
    if (!api || !registered.done) return;
    const wanted = new Set<string>();
    for (const { manifest, containers } of pods.pods.values()) {
      const name = `${manifest.name}-${node}`;
      wanted.add(`${manifest.namespace}/${name}`);
      const meta = (manifest.doc.metadata ?? {}) as Doc;
      const allReady = containers.every((c) => c.state.ready);
      const statuses = containers.map((c) => ({
        name: c.state.name,
        image: c.state.image,
        ready: c.state.ready,
        restartCount: c.state.restartCount,
        started: c.state.running,
        state: c.state.running
          ? { running: { startedAt: c.state.startedAt } }
          : {
              waiting: {
                reason: c.state.waitingReason ?? 'ContainerCreating',
                message: c.state.lastMessage ?? '',
              },
            },
      }));
      const body = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name,
          namespace: manifest.namespace,
          labels: meta.labels ?? {},
          annotations: {
            ...((meta.annotations as Doc | undefined) ?? {}),
            'kubernetes.io/config.hash': manifest.hash,
            'kubernetes.io/config.mirror': manifest.hash,
            'kubernetes.io/config.source': 'file',
          },
          ownerReferences: [
            { apiVersion: 'v1', kind: 'Node', name: node, uid: registered.uid, controller: true },
          ],
        },
        spec: { ...((manifest.doc.spec as Doc | undefined) ?? {}), nodeName: node },
        status: {
          phase: containers.some((c) => c.state.running) ? 'Running' : 'Pending',
          hostIP: nodeIp,
          // a pod without hostNetwork would get its IP from the CNI; none runs in the lab
          ...((manifest.doc.spec as Doc | undefined)?.hostNetwork === true ? { podIP: nodeIp } : {}),
          conditions: [
            { type: 'Ready', status: allReady ? 'True' : 'False' },
            { type: 'ContainersReady', status: allReady ? 'True' : 'False' },
          ],
          containerStatuses: statuses,
        },
      };
      const key = `${manifest.namespace}/${name}`;
      const digest = JSON.stringify(body);
      if (mirrors.get(key) === digest) continue;
      const path = `/api/v1/namespaces/${manifest.namespace}/pods`;
      const existing = await api.find<{ metadata: { annotations?: Record<string, string> } }>(
        `${path}/${name}`,
      );
      if (existing && existing.metadata.annotations?.['kubernetes.io/config.mirror'] !== manifest.hash) {
        await api.call('DELETE', `${path}/${name}`);
      }
      if (!existing || existing.metadata.annotations?.['kubernetes.io/config.mirror'] !== manifest.hash)
        await api.call('POST', path, body);
      // a node may only write the status of a mirror pod (NodeRestriction)
      else await api.call('PUT', `${path}/${name}/status`, body);
      mirrors.set(key, digest);
    }
    for (const key of [...mirrors.keys()]) {
      if (wanted.has(key)) continue;
      const [ns, name] = key.split('/');
      await api
        .find(`/api/v1/namespaces/${ns}/pods/${name}`)
        .then((p) => (p ? api!.call('DELETE', `/api/v1/namespaces/${ns}/pods/${name}`) : undefined));
      mirrors.delete(key);
    }
  };

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    klog('I', 'Shutting down: stopping static pods');
    log.write('stop');
    await pods.stopAll();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());

  let reported = '';
  const reportContainers = async () => {
    const list = criContainers(
      [...pods.pods.values()].map(({ manifest, containers }) => ({
        namespace: manifest.namespace,
        name: `${manifest.name}-${node}`,
        uid: manifest.hash,
        containers: containers.map(({ state }) => ({
          name: state.name,
          image: state.image,
          attempt: state.restartCount,
          running: state.running,
          ...(state.startedAt ? { startedAt: state.startedAt } : {}),
        })),
      })),
    );
    const digest = JSON.stringify(list);
    if (digest === reported) return;
    await criCall(endpoint, 'PUT', '/v1/containers', list);
    reported = digest;
  };

  let lastBeat = 0;
  for (;;) {
    await pods.sync();
    await reportContainers().catch((e: Error) =>
      klog('E', `"Failed to report containers to the runtime" err="${e.message}"`),
    );
    try {
      await ensureClient();
      await register();
      if (Date.now() - lastBeat > 10_000) {
        await heartbeat();
        lastBeat = Date.now();
      }
      await syncMirrors();
    } catch (e) {
      klog('E', `"Error syncing with the apiserver" err="${(e as Error).message}"`);
    }
    if (bool(flags, 'runonce')) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

main(process.argv.slice(2)).catch((e: unknown) => die(e instanceof Error ? e.message : String(e)));

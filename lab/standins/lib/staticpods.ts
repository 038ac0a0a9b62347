/**
 * Static Pods as processes. Each container's image is mapped to a real program on the node (etcd
 * and haproxy from Debian, the control-plane stand-ins embedded in this kubelet); arguments that
 * point inside the container are translated through the Pod's hostPath mounts, and a path the Pod
 * does not mount is made unreachable, so a manifest with a wrong flag, path or mount fails the way
 * it would on a real node: the process exits and is restarted with back-off.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { dirname } from 'node:path';
import { ConfigError, type Doc, parseYamlDocs } from './config.js';

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
}

interface Probe {
  httpGet?: { host?: string; path?: string; port: number | string; scheme?: string };
  tcpSocket?: { port: number };
}

export interface PodManifest {
  file: string;
  hash: string;
  doc: Doc;
  name: string;
  namespace: string;
  containers: Container[];
  volumes: { name: string; hostPath?: { path: string; type?: string } }[];
}

export interface ContainerState {
  name: string;
  image: string;
  restartCount: number;
  running: boolean;
  ready: boolean;
  startedAt?: string;
  waitingReason?: string;
  lastMessage?: string;
}

export interface Program {
  exe: string;
  args: string[];
  env?: Record<string, string>;
}

/** Where the real program for an image lives on this machine. */
export type ImageResolver = (image: string, argv: string[]) => Program | string;

/** What keeps a pod from starting now (network, sandbox, images), or undefined; see podstart.ts. */
export type PodAdmitter = (pod: PodManifest) => Promise<{ reason: string; message: string } | undefined>;

/** How often a pod that could not start is tried again (the kubelet's pod worker resync). */
const ADMIT_RETRY_MS = 5000;

const NOT_MOUNTED = '/.standin-not-mounted-in-container';

export function parseManifest(file: string): PodManifest {
  const text = readFileSync(file, 'utf8');
  const [doc] = parseYamlDocs(text, file);
  if (!doc) throw new ConfigError(`${file}: empty manifest`);
  if (doc.apiVersion !== 'v1' || doc.kind !== 'Pod') {
    throw new ConfigError(
      `${file}: invalid pod: the static pod must be kind Pod in apiVersion v1, got ${String(doc.apiVersion)}/${String(doc.kind)}`,
    );
  }
  const meta = (doc.metadata ?? {}) as Doc;
  const spec = (doc.spec ?? {}) as Doc;
  const containers = (spec.containers ?? []) as Container[];
  if (!meta.name || !containers.length)
    throw new ConfigError(`${file}: invalid pod: metadata.name and spec.containers are required`);
  for (const c of containers) {
    if (!c.name || !c.image)
      throw new ConfigError(`${file}: invalid pod: spec.containers[].name and image are required`);
  }
  const volumes = (spec.volumes ?? []) as PodManifest['volumes'];
  for (const c of containers) {
    for (const m of c.volumeMounts ?? []) {
      if (!volumes.some((v) => v.name === m.name)) {
        throw new ConfigError(
          `${file}: invalid pod: spec.containers[${c.name}].volumeMounts.name: Not found: "${m.name}"`,
        );
      }
    }
  }
  return {
    file,
    hash: createHash('sha256').update(text).digest('hex').slice(0, 32),
    doc,
    name: String(meta.name),
    namespace: String(meta.namespace ?? 'default'),
    containers,
    volumes,
  };
}

/** The hostPath type checks the kubelet's volume plugin makes before a container starts. */
export function prepareVolumes(pod: PodManifest): string | undefined {
  for (const v of pod.volumes) {
    if (!v.hostPath) continue;
    const { path, type = '' } = v.hostPath;
    const exists = existsSync(path);
    const isDir = exists && statSync(path).isDirectory();
    switch (type) {
      case 'DirectoryOrCreate':
        if (!exists) mkdirSync(path, { recursive: true, mode: 0o755 });
        else if (!isDir)
          return `MountVolume.SetUp failed for volume "${v.name}" : hostPath type check failed: ${path} is not a directory`;
        break;
      case 'Directory':
        if (!isDir)
          return `MountVolume.SetUp failed for volume "${v.name}" : hostPath type check failed: ${path} is not a directory`;
        break;
      case 'FileOrCreate':
        if (!exists) {
          mkdirSync(dirname(path), { recursive: true });
          closeSync(openSync(path, 'a', 0o644));
        } else if (isDir)
          return `MountVolume.SetUp failed for volume "${v.name}" : hostPath type check failed: ${path} is not a file`;
        break;
      case 'File':
        if (!exists || isDir)
          return `MountVolume.SetUp failed for volume "${v.name}" : hostPath type check failed: ${path} is not a file`;
        break;
      default:
        // An unset type is not checked; the container runtime then creates a missing directory.
        if (!exists) mkdirSync(path, { recursive: true, mode: 0o755 });
    }
  }
  return undefined;
}

/** Rewrites container paths in arguments to the host paths mounted there. */
export function translateArgs(pod: PodManifest, c: Container, argv: string[]): string[] {
  const mounts = (c.volumeMounts ?? [])
    .map((m) => ({
      mountPath: m.mountPath.replace(/\/$/, ''),
      hostPath: pod.volumes.find((v) => v.name === m.name)?.hostPath?.path ?? '',
    }))
    .filter((m) => m.hostPath)
    .sort((a, b) => b.mountPath.length - a.mountPath.length);
  const mapPath = (p: string): string => {
    for (const m of mounts) {
      if (p === m.mountPath || p.startsWith(`${m.mountPath}/`))
        return m.hostPath + p.slice(m.mountPath.length);
    }
    return `${NOT_MOUNTED}${p}`;
  };
  const mapValue = (v: string): string =>
    v
      .split(',')
      .map((part) => (part.startsWith('/') ? mapPath(part) : part))
      .join(',');
  return argv.map((a) => {
    const eq = a.indexOf('=');
    if (a.startsWith('-') && eq > 0) return `${a.slice(0, eq + 1)}${mapValue(a.slice(eq + 1))}`;
    if (a.startsWith('/')) return mapValue(a);
    return a;
  });
}

function probeOnce(p: Probe): Promise<boolean> {
  const g = p.httpGet;
  if (!g) return Promise.resolve(true);
  return new Promise((resolve) => {
    const opts = {
      host: g.host ?? '127.0.0.1',
      port: Number(g.port),
      path: g.path ?? '/',
      timeout: 3000,
      rejectUnauthorized: false,
    };
    const req = (g.scheme === 'HTTPS' ? httpsRequest : httpRequest)(opts, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) >= 200 && (res.statusCode ?? 500) < 400);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

export class RunningContainer {
  state: ContainerState;
  private child: ChildProcess | undefined;
  private backoffMs = 10_000;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly pod: PodManifest,
    readonly c: Container,
    readonly resolveImage: ImageResolver,
    readonly logDir: string,
    readonly say: (msg: string) => void,
    /** What etcd's probe paths become on the etcd this machine has. */
    readonly probePath: (image: string, path: string) => string,
  ) {
    this.state = { name: c.name, image: c.image, restartCount: 0, running: false, ready: false };
  }

  start(): void {
    if (this.stopped) return;
    const volumeError = prepareVolumes(this.pod);
    if (volumeError) {
      this.crash(volumeError, 'ContainerCreating');
      return;
    }
    const argv = [...(this.c.command ?? []), ...(this.c.args ?? [])];
    const resolved = this.resolveImage(this.c.image, translateArgs(this.pod, this.c, argv));
    if (typeof resolved === 'string') {
      this.crash(resolved, 'ErrImagePull');
      return;
    }
    mkdirSync(this.logDir, { recursive: true });
    const logFile = `${this.logDir}/${this.state.restartCount}.log`;
    const fd = openSync(logFile, 'a', 0o640);
    const env: Record<string, string> = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      ...(resolved.env ?? {}),
    };
    for (const e of this.c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    const child = spawn(resolved.exe, resolved.args, { stdio: ['ignore', fd, fd], env, detached: false });
    closeSync(fd);
    this.child = child;
    this.state.running = true;
    this.state.startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    delete this.state.waitingReason;
    this.say(
      `started container ${this.c.name} of pod ${this.pod.name}: ${resolved.exe} ${resolved.args.join(' ')}`,
    );
    const started = Date.now();
    child.on('exit', (code, signal) => {
      this.child = undefined;
      this.state.running = false;
      this.state.ready = false;
      if (this.stopped) return;
      let tail = '';
      try {
        // Go programs print the reason first and their usage after it
        const lines = readFileSync(logFile, 'utf8').trim().split('\n');
        tail = (lines.length > 3 ? [lines[0]!, '…', ...lines.slice(-2)] : lines).join(' | ');
      } catch {}
      if (Date.now() - started > 600_000) this.backoffMs = 10_000;
      this.crash(`container ${this.c.name} exited (code ${code ?? signal}): ${tail}`, 'CrashLoopBackOff');
    });
    this.schedulePr();
  }

  private schedulePr(): void {
    const probe = this.c.readinessProbe ?? this.c.startupProbe ?? this.c.livenessProbe;
    const tick = async () => {
      if (!this.child) return;
      if (!probe) this.state.ready = true;
      else {
        const p: Probe = probe.httpGet
          ? { httpGet: { ...probe.httpGet, path: this.probePath(this.c.image, probe.httpGet.path ?? '/') } }
          : probe;
        this.state.ready = await probeOnce(p);
      }
      this.probeTimer = setTimeout(() => void tick(), 1000);
    };
    this.probeTimer = setTimeout(() => void tick(), 500);
  }

  /** The pod could not start yet (no sandbox, no image): waiting, not a restart. */
  hold(message: string, reason: string): void {
    this.state.lastMessage = message;
    this.state.waitingReason = reason;
  }

  private crash(message: string, reason: string): void {
    this.state.lastMessage = message;
    this.state.waitingReason = reason;
    this.state.running = false;
    this.state.ready = false;
    this.say(
      `pod ${this.pod.name}: ${message}; back-off ${this.backoffMs / 1000}s restarting failed container`,
    );
    this.state.restartCount++;
    this.timer = setTimeout(() => this.start(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, 300_000);
  }

  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.probeTimer) clearTimeout(this.probeTimer);
    const child = this.child;
    if (!child) return Promise.resolve();
    return new Promise((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}

interface PodEntry {
  manifest: PodManifest;
  containers: RunningContainer[];
  cancelled: boolean;
}

export class StaticPods {
  readonly pods = new Map<string, PodEntry>();
  readonly errors = new Map<string, string>();

  constructor(
    readonly dir: string,
    readonly resolveImage: ImageResolver,
    readonly say: (msg: string) => void,
    readonly probePath: (image: string, path: string) => string,
    readonly admit: PodAdmitter = async () => undefined,
  ) {}

  /** Starts the containers once the pod is admitted, trying again while something is missing. */
  private async startWhenAdmitted(entry: PodEntry): Promise<void> {
    let said = '';
    while (!entry.cancelled) {
      let blocked: { reason: string; message: string } | undefined;
      try {
        blocked = await this.admit(entry.manifest);
      } catch (e) {
        blocked = { reason: 'ContainerCreating', message: (e as Error).message };
      }
      if (entry.cancelled) return;
      if (!blocked) {
        for (const c of entry.containers) c.start();
        return;
      }
      for (const c of entry.containers) c.hold(blocked.message, blocked.reason);
      if (blocked.message !== said)
        this.say(
          `"Error syncing pod, skipping" pod="${entry.manifest.namespace}/${entry.manifest.name}" err="${blocked.message}"`,
        );
      said = blocked.message;
      await new Promise((r) => setTimeout(r, ADMIT_RETRY_MS));
    }
  }

  /** Re-reads the directory: new files start pods, changed files restart them, removed files stop them. */
  async sync(): Promise<void> {
    let files: string[] = [];
    try {
      files = readdirSync(this.dir)
        .filter(
          (f) => !f.startsWith('.') && (f.endsWith('.yaml') || f.endsWith('.yml') || f.endsWith('.json')),
        )
        .map((f) => `${this.dir}/${f}`);
    } catch {
      // A missing directory means no static pods, as for the real kubelet.
    }
    const seen = new Set<string>();
    for (const file of files) {
      let m: PodManifest;
      try {
        m = parseManifest(file);
      } catch (e) {
        const msg = (e as Error).message;
        if (this.errors.get(file) !== msg) this.say(`could not process manifest file ${file}: ${msg}`);
        this.errors.set(file, msg);
        continue;
      }
      this.errors.delete(file);
      seen.add(file);
      const cur = this.pods.get(file);
      if (cur && cur.manifest.hash === m.hash) continue;
      if (cur) {
        this.say(`manifest ${file} changed; restarting pod ${cur.manifest.name}`);
        cur.cancelled = true;
        await Promise.all(cur.containers.map((c) => c.stop()));
      }
      const podLogs = `/var/log/pods/${m.namespace}_${m.name}_${m.hash}`;
      const containers = m.containers.map(
        (c) =>
          new RunningContainer(m, c, this.resolveImage, `${podLogs}/${c.name}`, this.say, this.probePath),
      );
      const entry = { manifest: m, containers, cancelled: false };
      this.pods.set(file, entry);
      void this.startWhenAdmitted(entry);
    }
    for (const [file, p] of this.pods) {
      if (seen.has(file)) continue;
      this.say(`manifest ${file} removed; stopping pod ${p.manifest.name}`);
      p.cancelled = true;
      this.pods.delete(file);
      await Promise.all(p.containers.map((c) => c.stop()));
    }
  }

  async stopAll(): Promise<void> {
    for (const p of this.pods.values()) p.cancelled = true;
    await Promise.all([...this.pods.values()].flatMap((p) => p.containers.map((c) => c.stop())));
  }
}

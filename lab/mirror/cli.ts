/**
 * `lab mirror start|stop|status|build|fault|log`. The lab CLI imports `mirrorCommand`; the file
 * also runs on its own: `npx tsx lab/mirror/cli.ts start --json`.
 */
import { type ChildProcess, type Serializable, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, fetch } from 'undici';
import {
  type BuildOptions,
  buildMirrorTree,
  type ExecutableProducer,
  readTreeManifest,
  trustedDigestsPath,
} from './build.js';
import { parseFaults } from './faults.js';
import { labImages } from './images.js';
import { DEFAULT_SPEC } from './layout.js';
import { readAccessLog } from './server.js';
import {
  type DaemonConfig,
  type MirrorState,
  type RegistryDaemonConfig,
  type RegistryState,
  registryPaths,
  statePaths,
} from './state.js';
import { ensureTlsFiles } from './tls.js';

export const DEFAULT_STATE_DIR = '/var/tmp/kubeon-lab/mirror';

const USAGE = `usage: lab mirror <command> [options]
  start  [--port N] [--bind ADDR|lab[:ID]]... [--root DIR] [--tls] [--fault JSON]... [--big NAME=SIZE]...
         [--executables MODULE] [--json]
  stop   [--json]
  status [--json]
  build  [--root DIR] [--big NAME=SIZE]... [--executables MODULE] [--force] [--json]
  fault  list | clear | add JSON | set JSON
  log    [--since SEQ]
  registry start [--kube VERSION]... [--image REF]... [--user USER:PASS [--anonymous-pull]] [--port N] [--json]
  registry stop | status [--json]
common: --state-dir DIR (default $KUBEON_LAB_MIRROR_DIR or ${DEFAULT_STATE_DIR})
SIZE takes K, M or G suffixes (--big kubelet=64M makes a 64 MiB kubelet for benchmarks).
MODULE exports executables(component, version, arch) and optionally producerId; default
lab/standins/executables.ts when it exists, else (or with "placeholder") placeholder scripts.`;

const OPTIONS = {
  port: { type: 'string' },
  bind: { type: 'string', multiple: true },
  root: { type: 'string' },
  tls: { type: 'boolean' },
  fault: { type: 'string', multiple: true },
  big: { type: 'string', multiple: true },
  force: { type: 'boolean' },
  since: { type: 'string' },
  executables: { type: 'string' },
  kube: { type: 'string', multiple: true },
  image: { type: 'string', multiple: true },
  user: { type: 'string' },
  'anonymous-pull': { type: 'boolean' },
  json: { type: 'boolean' },
  'state-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

class UsageError extends Error {}

export async function mirrorCommand(argv: string[]): Promise<number> {
  let flags: Flags;
  let positionals: string[];
  try {
    ({ values: flags, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true }));
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const [command, ...rest] = positionals;
  if (flags.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || flags.help ? 0 : 2;
  }
  const stateDir = flags['state-dir'] ?? process.env.KUBEON_LAB_MIRROR_DIR ?? DEFAULT_STATE_DIR;
  try {
    switch (command) {
      case 'start':
        return await start(stateDir, flags);
      case 'stop':
        return await stop(stateDir, flags);
      case 'status':
        return await status(stateDir, flags);
      case 'build':
        return await build(stateDir, flags);
      case 'fault':
        return await fault(stateDir, rest);
      case 'log':
        return await printLog(stateDir, flags);
      case 'registry':
        return await registry(stateDir, rest, flags);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`error: ${message}\n`);
    if (err instanceof UsageError) process.stderr.write(`${USAGE}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

function parseSize(text: string): number {
  const m = /^(\d+)([KMG]?)i?B?$/i.exec(text.trim());
  if (!m) throw new UsageError(`bad size "${text}" (use e.g. 64M)`);
  const unit = { '': 1, K: 1 << 10, M: 1 << 20, G: 1 << 30 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Number(m[1]) * unit;
}

function parseBig(values: string[] | undefined): Record<string, number> | undefined {
  if (!values?.length) return undefined;
  const out: Record<string, number> = {};
  for (const v of values) {
    const [name, size] = v.split('=');
    if (!name || !size) throw new UsageError(`--big takes NAME=SIZE, got "${v}"`);
    out[name] = parseSize(size);
  }
  return out;
}

/** The running mirror described by the state dir, or undefined (stale files are ignored). */
export async function runningMirror(stateDir: string): Promise<MirrorState | undefined> {
  const paths = statePaths(stateDir);
  const pid = Number((await readFile(paths.pid, 'utf8').catch(() => '')).trim());
  if (!pid || !processHasArg(pid, DAEMON_PATH)) return undefined;
  const text = await readFile(paths.state, 'utf8').catch(() => undefined);
  return text ? (JSON.parse(text) as MirrorState) : undefined;
}

/** True if `pid` is alive with `arg` in its argv, so a recycled PID is never signalled. */
function processHasArg(pid: number, arg: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.split('\0').includes(arg);
  } catch {
    return false;
  }
}

const DAEMON_PATH = fileURLToPath(new URL('./daemon.ts', import.meta.url));
const REGISTRY_DAEMON_PATH = fileURLToPath(new URL('./registry-daemon.ts', import.meta.url));

/** The stand-ins' executables, when their module exists; placeholders otherwise. */
export const DEFAULT_EXECUTABLES_MODULE = fileURLToPath(
  new URL('../standins/executables.ts', import.meta.url),
);

/**
 * Build options from the flags. `--executables MODULE` (default: lab/standins/executables.ts if it
 * exists) must export `executables` (an ExecutableProducer) and may export `producerId`;
 * `--executables placeholder` forces the placeholder scripts.
 */
async function buildOptions(flags: Flags): Promise<BuildOptions> {
  const bigFiles = parseBig(flags.big);
  const opts: BuildOptions = { force: !!flags.force, ...(bigFiles ? { bigFiles } : {}) };
  const modulePath =
    flags.executables ?? (existsSync(DEFAULT_EXECUTABLES_MODULE) ? DEFAULT_EXECUTABLES_MODULE : undefined);
  if (!modulePath || modulePath === 'placeholder') return opts;
  const mod = (await import(pathToFileURL(path.resolve(modulePath)).href).catch((err: unknown) => {
    throw new Error(
      `loading executables from ${modulePath}: ${err instanceof Error ? err.message : String(err)}`,
    );
  })) as { executables?: ExecutableProducer; producerId?: string };
  if (typeof mod.executables !== 'function')
    throw new Error(`${modulePath} does not export an executables function`);
  return { ...opts, executables: mod.executables, ...(mod.producerId ? { producerId: mod.producerId } : {}) };
}

async function prepareRoot(stateDir: string, flags: Flags): Promise<string> {
  const root = path.resolve(flags.root ?? statePaths(stateDir).root);
  const built = await readTreeManifest(root);
  const empty = (await readdir(root).catch(() => [])).length === 0;
  // A --root the user filled by hand is served as it is; the default root (or an empty one) is built.
  if (!flags.root || built || empty || flags.force || flags.big || flags.executables) {
    await buildMirrorTree(root, DEFAULT_SPEC, await buildOptions(flags));
  }
  return root;
}

/**
 * Runs `fn` holding a lock directory, so two `start`s at once (parallel test files) make one daemon,
 * not two with one orphaned. A lock older than two minutes is a crashed start and is taken over.
 */
async function withStartLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(path.dirname(lockDir), { recursive: true });
  for (let waited = 0; ; waited += 100) {
    try {
      await mkdir(lockDir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age =
        Date.now() -
        (await stat(lockDir).then(
          (st) => st.mtimeMs,
          () => Date.now(),
        ));
      if (age > 120_000) await rm(lockDir, { recursive: true, force: true });
      else if (waited > 120_000) throw new Error(`another start holds ${lockDir}`);
      else await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

function start(stateDir: string, flags: Flags): Promise<number> {
  return withStartLock(path.join(stateDir, 'start.lock'), () => startLocked(stateDir, flags));
}

async function startLocked(stateDir: string, flags: Flags): Promise<number> {
  const existing = await runningMirror(stateDir);
  if (existing) {
    process.stderr.write(
      `kubeon lab mirror: already running (pid ${existing.pid}); stop it to change options\n`,
    );
    printState(existing, flags);
    return 0;
  }
  await mkdir(stateDir, { recursive: true });
  const paths = statePaths(stateDir);
  const bind = await resolveBinds(flags.bind?.length ? flags.bind : ['127.0.0.1']);
  const port = flags.port === undefined ? 0 : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`bad --port "${flags.port}"`);
  const faults = (flags.fault ?? []).flatMap((f) => parseFaults(JSON.parse(f)));
  const root = await prepareRoot(stateDir, flags);
  const tlsFiles = flags.tls ? await ensureTlsFiles(paths.tls, bind) : undefined;
  const config: DaemonConfig = {
    stateDir,
    root,
    port,
    bind,
    logFile: paths.log,
    faults,
    ...(tlsFiles ? { tls: tlsFiles } : {}),
  };
  const state = await launch<MirrorState>(DAEMON_PATH, config, paths.daemonLog);
  printState(state, flags);
  return 0;
}

/**
 * `lab` or `lab:ID` stands for that lab's gateway address (where lab hosts reach the machine), read
 * from the lab's own API so the mirror never guesses it.
 */
async function resolveBinds(binds: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const b of binds) {
    const m = /^lab(?::(.+))?$/.exec(b);
    if (!m) {
      out.push(b);
      continue;
    }
    const api = (await import(new URL('../api.ts', import.meta.url).href)) as {
      labStatus(id?: string): Promise<{ gatewayIp: string } | undefined>;
    };
    const lab = await api.labStatus(m[1]);
    if (!lab) throw new Error(`--bind ${b}: that lab is not up (npm run lab -- up)`);
    out.push(lab.gatewayIp);
  }
  return [...new Set(out)];
}

function printState(state: MirrorState, flags: Flags): void {
  if (flags.json) {
    const { url, pid, root, log, caFile, urls } = state;
    const trustedDigests = trustedDigestsPath(root);
    process.stdout.write(
      `${JSON.stringify({ url, urls, pid, root, log, trustedDigests, ...(caFile ? { caFile } : {}) })}\n`,
    );
    return;
  }
  process.stdout.write(`${state.urls.join('\n')}\n`);
  if (state.caFile) process.stderr.write(`CA file: ${state.caFile}\n`);
}

/** Starts the daemon detached and waits for it to report its URLs (or its error). */
async function launch<T>(script: string, config: unknown, daemonLog: string): Promise<T> {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const out = openSync(daemonLog, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ['--import', tsx, script], {
      detached: true,
      stdio: ['ignore', out, out, 'ipc'],
    });
  } finally {
    closeSync(out);
  }
  child.send(config as Serializable);
  const result = await new Promise<{ ready?: T; error?: string }>((resolve) => {
    const timer = setTimeout(() => resolve({ error: `no answer in 60 s (see ${daemonLog})` }), 60_000);
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve(m as { ready?: T; error?: string });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ error: `mirror exited with code ${code} (see ${daemonLog})` });
    });
  });
  if (child.connected) child.disconnect();
  child.unref();
  if (!result.ready) {
    if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
    throw new Error(result.error ?? 'mirror failed to start');
  }
  return result.ready;
}

/** Stops the daemon whose PID is in `pidFile`, if it is really ours; safe when nothing runs. */
async function stopDaemon(pidFile: string, stateFile: string, script: string): Promise<number | undefined> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  let stopped: number | undefined;
  if (pid && processHasArg(pid, script)) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && processHasArg(pid, script); i++) await sleep(100);
    if (processHasArg(pid, script)) process.kill(pid, 'SIGKILL');
    stopped = pid;
  }
  await rm(pidFile, { force: true });
  await rm(stateFile, { force: true });
  return stopped;
}

function printStopped(pid: number | undefined, flags: Flags): void {
  if (flags.json)
    process.stdout.write(`${JSON.stringify({ stopped: pid !== undefined, ...(pid ? { pid } : {}) })}\n`);
  else process.stdout.write(pid ? `stopped (pid ${pid})\n` : 'not running\n');
}

async function stop(stateDir: string, flags: Flags): Promise<number> {
  const paths = statePaths(stateDir);
  printStopped(await stopDaemon(paths.pid, paths.state, DAEMON_PATH), flags);
  return 0;
}

async function status(stateDir: string, flags: Flags): Promise<number> {
  const state = await runningMirror(stateDir);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(state ? { running: true, ...state } : { running: false })}\n`);
  } else {
    process.stdout.write(state ? `running (pid ${state.pid}): ${state.urls.join(' ')}\n` : 'not running\n');
  }
  return state ? 0 : 1;
}

async function build(stateDir: string, flags: Flags): Promise<number> {
  const root = path.resolve(flags.root ?? statePaths(stateDir).root);
  const manifest = await buildMirrorTree(root, DEFAULT_SPEC, await buildOptions(flags));
  if (flags.json) process.stdout.write(`${JSON.stringify({ root, files: manifest.files })}\n`);
  else process.stdout.write(`${root}: ${manifest.files.length} files\n`);
  return 0;
}

async function admin(stateDir: string, method: string, route: string, body?: unknown): Promise<unknown> {
  const state = await runningMirror(stateDir);
  if (!state) throw new Error('the mirror is not running (start it with: lab mirror start)');
  const dispatcher = state.caFile ? new Agent({ connect: { ca: await readFile(state.caFile) } }) : undefined;
  try {
    const res = await fetch(`${state.url}${route}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      ...(dispatcher ? { dispatcher } : {}),
    });
    const data = (await res.json()) as { error?: string };
    if (!res.ok) throw new Error(data.error ?? `${method} ${route}: HTTP ${res.status}`);
    return data;
  } finally {
    await dispatcher?.close();
  }
}

async function fault(stateDir: string, args: string[]): Promise<number> {
  const [action, json] = args;
  const methods: Record<string, string> = { list: 'GET', clear: 'DELETE', add: 'POST', set: 'PUT' };
  const method = action ? methods[action] : undefined;
  if (!method) throw new UsageError('fault takes list, clear, add JSON or set JSON');
  const body = action === 'add' || action === 'set' ? parseFaults(JSON.parse(json ?? '[]')) : undefined;
  const result = await admin(stateDir, method, '/_mirror/faults', body);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

async function printLog(stateDir: string, flags: Flags): Promise<number> {
  const since = Number(flags.since ?? 0);
  for (const e of await readAccessLog(statePaths(stateDir).log)) {
    if (e.seq > since) process.stdout.write(`${JSON.stringify(e)}\n`);
  }
  return 0;
}

async function runningRegistry(stateDir: string): Promise<RegistryState | undefined> {
  const paths = registryPaths(stateDir);
  const pid = Number((await readFile(paths.pid, 'utf8').catch(() => '')).trim());
  if (!pid || !processHasArg(pid, REGISTRY_DAEMON_PATH)) return undefined;
  const text = await readFile(paths.state, 'utf8').catch(() => undefined);
  return text ? (JSON.parse(text) as RegistryState) : undefined;
}

function printRegistry(state: RegistryState, flags: Flags): void {
  if (flags.json) process.stdout.write(`${JSON.stringify(state)}\n`);
  else
    process.stdout.write(`${state.url}\n${state.images.map((i) => `  ${i.ref}  ${i.digest}`).join('\n')}\n`);
}

async function startRegistryDaemon(stateDir: string, flags: Flags): Promise<number> {
  const paths = registryPaths(stateDir);
  const existing = await runningRegistry(stateDir);
  if (existing) {
    process.stderr.write(`kubeon lab registry: already running (pid ${existing.pid})\n`);
    printRegistry(existing, flags);
    return 0;
  }
  if (flags.user !== undefined && !flags.user.includes(':'))
    throw new UsageError('--user takes USER:PASSWORD');
  const port = flags.port === undefined ? 0 : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`bad --port "${flags.port}"`);
  const kube = flags.kube?.length ? flags.kube : DEFAULT_SPEC.kubernetes;
  const images = [...new Set([...kube.flatMap((v) => labImages(v)), ...(flags.image ?? [])])];
  const [host] = await resolveBinds(flags.bind?.length ? flags.bind : ['127.0.0.1']);
  await mkdir(path.dirname(paths.state), { recursive: true });
  const config: RegistryDaemonConfig = {
    stateDir,
    host: host!,
    port,
    anonymousPull: !!flags['anonymous-pull'],
    images,
    ...(flags.user ? { user: flags.user } : {}),
  };
  printRegistry(await launch<RegistryState>(REGISTRY_DAEMON_PATH, config, paths.daemonLog), flags);
  return 0;
}

/** `registry start|stop|status`: a real docker-registry filled with the lab images, run detached. */
async function registry(stateDir: string, args: string[], flags: Flags): Promise<number> {
  const paths = registryPaths(stateDir);
  switch (args[0]) {
    case 'start':
      return withStartLock(path.join(stateDir, 'registry', 'start.lock'), () =>
        startRegistryDaemon(stateDir, flags),
      );
    case 'stop': {
      const state = await readFile(paths.state, 'utf8').then(
        (t) => JSON.parse(t) as RegistryState,
        () => undefined,
      );
      printStopped(await stopDaemon(paths.pid, paths.state, REGISTRY_DAEMON_PATH), flags);
      // If the daemon had to be killed, its docker-registry child outlives it: stop that one too,
      // after checking it is still the registry serving our config.
      const child = state?.registryPid;
      if (child && processHasArg(child, path.join(paths.data, 'config.yml'))) process.kill(child, 'SIGTERM');
      return 0;
    }
    case 'status': {
      const state = await runningRegistry(stateDir);
      if (flags.json)
        process.stdout.write(`${JSON.stringify(state ? { running: true, ...state } : { running: false })}\n`);
      else process.stdout.write(state ? `running (pid ${state.pid}): ${state.url}\n` : 'not running\n');
      return state ? 0 : 1;
    }
    default:
      throw new UsageError('registry takes start, stop or status');
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = await mirrorCommand(process.argv.slice(2));
}

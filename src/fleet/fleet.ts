import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Duplex } from 'node:stream';
import pLimit from 'p-limit';
import { shq } from '../core/quote.js';
import { KeyCache } from './auth.js';
import {
  type ConnectOptions,
  connectNode,
  type ExecResult,
  type HostKeyPolicy,
  type NodeConnection,
} from './connection.js';
import { abortable } from './interrupt.js';
import type { FleetLogger } from './log.js';
import {
  type LocalTree,
  layout,
  octal,
  type Placement,
  parseProbe,
  renderPlace,
  renderProbe,
  scanLocal,
  upload,
} from './put.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import {
  KILL_GRACE_S,
  pidPath,
  renderStop,
  runCommandLine,
  type Script,
  type ShellFragment,
  scriptPath,
} from './script.js';
import {
  type FleetTarget,
  failureOf,
  type JumpHost,
  NodeError,
  type NodeFailure,
  type PutResult,
  type RunResult,
} from './types.js';

export interface FleetOptions {
  /** Nodes worked on at once: connects, commands and copies (default 64). */
  concurrency?: number;
  connectTimeoutMs?: number;
  keepaliveMs?: number;
  retry?: RetryPolicy;
  hostKeys: HostKeyPolicy;
  /** Control-machine environment (SSH_AUTH_SOCK, HOME). */
  env?: NodeJS.ProcessEnv;
  log: FleetLogger;
  bastion?: JumpHost;
  /**
   * Shell text added to the leftover sweep that runs, as the login user, when a node's temporary
   * directory is first opened (e.g. the artifact fan-out clean-up); see sweep.ts.
   */
  sweep?: (t: FleetTarget) => ShellFragment;
  /**
   * Sweep on first contact, not only when a command first uploads: a command that may change nodes
   * then clears what a cut-off or killed run left even on nodes it finds done and only queries.
   */
  sweepOnConnect?: boolean;
}

export interface RunOptions {
  /** Run through sudo even when logged in as root; a non-root login always uses sudo. */
  sudo?: boolean;
  /** Per-node limit for this step (default 10 minutes). */
  timeoutMs?: number;
  onStdout?: (node: FleetTarget, line: string) => void;
  onStderr?: (node: FleetTarget, line: string) => void;
  onResult?: (r: RunResult) => void;
  /** Aborting it ends the remote process groups of this step; nodes not started yet are skipped. */
  signal?: AbortSignal;
}

export interface PutProgress {
  /** Bytes acknowledged by nodes plus bytes skipped as already present, over all nodes. */
  done: number;
  total: number;
  /** Bytes actually sent. */
  sent: number;
  nodesDone: number;
  nodesTotal: number;
}

export interface PutOptions {
  /** Mode for every copied file (default: the local file's mode). */
  mode?: number;
  sudo?: boolean;
  timeoutMs?: number;
  onProgress?: (p: PutProgress) => void;
  onResult?: (r: PutResult) => void;
  /** Aborting it stops uploads and placement; staged files go with the connection's directory. */
  signal?: AbortSignal;
}

export const DEFAULT_CONCURRENCY = 64;
export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
export const DEFAULT_STEP_TIMEOUT_MS = 10 * 60_000;

/** Slack for the client-side deadline beyond the remote timeout and its kill grace. */
const DEADLINE_SLACK_MS = (KILL_GRACE_S + 5) * 1000;

function tailLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

function sudoFailure(stderr: string): boolean {
  return /^sudo: .*(password|sudoers|terminal is required|tty)/m.test(stderr);
}

/** Whether a step runs through sudo: when asked, and always for a login that is not root. */
function viaSudo(t: FleetTarget, asked: boolean | undefined): boolean {
  return Boolean(asked) || t.user !== 'root';
}

function resultOf(t: FleetTarget, r: ExecResult, started: number): RunResult {
  return {
    node: t.name,
    ip: t.host,
    exitCode: r.exitCode,
    stdout: r.stdout,
    stderr: r.stderr,
    durationMs: Date.now() - started,
  };
}

/** What went wrong with a finished command, if anything: one rule for every kind of step. */
function classify(
  t: FleetTarget,
  r: ExecResult,
  c: { purpose: string; sudo: boolean; timeoutMs: number; overran: boolean },
): NodeFailure | undefined {
  if (r.interrupted)
    return { kind: 'failed', message: `${c.purpose} interrupted; its processes were stopped` };
  if (c.overran)
    return {
      kind: 'timeout',
      message: `${c.purpose} did not finish within ${Math.round(c.timeoutMs / 1000)} s; its processes were killed`,
    };
  // Neither an exit status nor a signal: the node or the network went away mid-command.
  if (r.lost) return { kind: 'unreachable', message: `connection lost during ${c.purpose}` };
  if (r.exitCode === 0) return undefined;
  if (c.sudo && sudoFailure(r.stderr))
    return {
      kind: 'auth',
      message: `sudo as ${t.user} failed: ${tailLines(r.stderr, 1)}${t.sudoPassword === undefined ? ' (no sudo password configured)' : ''}`,
    };
  const last = tailLines(r.stderr, 1);
  return {
    kind: 'failed',
    message: `${c.purpose} exited with ${r.exitCode ?? `signal ${r.signal}`}${last ? `: ${last}` : ''}`,
  };
}

/**
 * The SSH fleet: one connection per node for the life of the fleet, a single concurrency limit for
 * all per-node work, and per-node results instead of exceptions, so one bad node never stops the
 * others. Call `close()` when the command is done.
 */
export class Fleet {
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly conns = new Map<string, Promise<NodeConnection>>();
  private readonly open = new Map<string, NodeConnection>();
  private readonly connectOpts: ConnectOptions;
  private jump: Promise<NodeConnection> | undefined;
  private seq = 0;

  constructor(private readonly opts: FleetOptions) {
    this.limit = pLimit(opts.concurrency ?? DEFAULT_CONCURRENCY);
    this.connectOpts = {
      connectTimeoutMs: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      keepaliveMs: opts.keepaliveMs ?? 10_000,
      retry: opts.retry ?? DEFAULT_RETRY,
      hostKeys: opts.hostKeys,
      auth: { env: opts.env ?? process.env, keys: new KeyCache() },
      ...(opts.bastion ? { dial: (h, p, t) => this.viaJump(h, p, t) } : {}),
    };
  }

  private viaJump(host: string, port: number, timeoutMs: number): Promise<Duplex> {
    const b = this.opts.bastion!;
    if (!this.jump) {
      const name = `jump host ${b.host}`;
      this.jump = connectNode({ ...b, name }, { ...this.connectOpts, dial: undefined });
      this.jump.catch(() => undefined);
    }
    return this.jump.then(
      (j) => j.forward(host, port, timeoutMs),
      (err: Error) => {
        throw new NodeError('unreachable', `via jump host ${b.host}: ${err.message}`);
      },
    );
  }

  /**
   * A TCP stream to `host:port` as node `t` sees it: a direct-tcpip channel on the node's SSH
   * connection (an SSH tunnel), so kubeon reaches what listens only on a node's loopback (etcd's
   * client port, the local apiserver) without opening any port.
   */
  async tunnel(
    t: FleetTarget,
    host: string,
    port: number,
    timeoutMs = this.connectOpts.connectTimeoutMs,
  ): Promise<Duplex> {
    const conn = await this.connection(t);
    return conn.forward(host, port, timeoutMs);
  }

  private key(t: FleetTarget): string {
    return `${t.name}\0${t.user}@${t.host}:${t.port}`;
  }

  /**
   * The node's connection, opened on first use. A failed connect is remembered for this fleet (a
   * node that could not be reached is not retried at every step); a connection that was open and
   * then dropped is opened again on next use.
   */
  connection(t: FleetTarget): Promise<NodeConnection> {
    const k = this.key(t);
    if (this.open.get(k)?.isOpen === false) {
      this.open.delete(k);
      this.conns.delete(k);
    }
    let c = this.conns.get(k);
    if (!c) {
      const started = Date.now();
      let attempts = 1;
      c = connectNode(
        { name: t.name, host: t.host, port: t.port, user: t.user, ...creds(t) },
        {
          ...this.connectOpts,
          onRetry: (err, attempt, delayMs) => {
            attempts = attempt + 1;
            this.opts.log.write({
              event: 'connect-retry',
              node: t.name,
              ip: t.host,
              attempt,
              delayMs,
              reason: (err as Error).message,
            });
          },
        },
      ).then(
        (conn) => {
          this.opts.log.write({
            event: 'connect',
            node: t.name,
            ip: t.host,
            user: t.user,
            attempts,
            durationMs: Date.now() - started,
          });
          this.open.set(k, conn);
          // Opened alongside the first command; close() waits for it and removes the directory.
          if (this.opts.sweepOnConnect) conn.tempDir(this.opts.sweep?.(t)).catch(() => undefined);
          return conn;
        },
        (err: unknown) => {
          const f = failureOf(err);
          this.opts.log.write({
            event: 'connect',
            node: t.name,
            ip: t.host,
            user: t.user,
            attempts,
            error: f,
          });
          throw err;
        },
      );
      c.catch(() => undefined);
      this.conns.set(k, c);
    }
    return c;
  }

  /**
   * Runs a fixed, read-only command line as the login user, without uploading anything (for facts
   * gathering, where nothing on the node may change). The caller renders `command` with `sh`.
   */
  async query(
    targets: readonly FleetTarget[],
    purpose: string,
    command: string,
    opts: { timeoutMs?: number; sudo?: boolean; signal?: AbortSignal } = {},
  ): Promise<RunResult[]> {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const results = await Promise.all(
      targets.map((t) =>
        this.limit(async (): Promise<RunResult> => {
          const started = Date.now();
          const sudo = Boolean(opts.sudo);
          let result: RunResult;
          try {
            const conn = await this.connectFor(t, opts.signal);
            const withPassword = sudo && t.sudoPassword !== undefined;
            const line = sudo
              ? `${withPassword ? "sudo -S -p ''" : 'sudo -n'} sh -c ${shq(command)}`
              : command;
            const r = await conn.exec(line, {
              deadlineMs: timeoutMs,
              ...(opts.signal ? { stop: { signal: opts.signal } } : {}),
              ...(withPassword ? { stdin: `${t.sudoPassword}\n` } : {}),
            });
            result = resultOf(t, r, started);
            const error = classify(t, r, { purpose, sudo, timeoutMs, overran: r.deadlineHit });
            if (error) result.error = error;
          } catch (err) {
            result = this.failed(t, started, err);
          }
          this.logRun(t, purpose, sudo, result);
          return result;
        }),
      ),
    );
    await this.opts.hostKeys.pins.save();
    return results;
  }

  /** The node's connection, unless the signal aborts first. */
  private connectFor(t: FleetTarget, signal: AbortSignal | undefined): Promise<NodeConnection> {
    return abortable(this.connection(t), signal).catch((err: unknown) => {
      if (signal?.aborted) throw notStarted(signal);
      throw err;
    });
  }

  private failed(t: FleetTarget, started: number, err: unknown): RunResult {
    return {
      node: t.name,
      ip: t.host,
      exitCode: null,
      stdout: '',
      stderr: '',
      durationMs: Date.now() - started,
      error: failureOf(err),
    };
  }

  private logRun(t: FleetTarget, purpose: string, sudo: boolean, r: RunResult): void {
    this.opts.log.write({
      event: 'run',
      node: t.name,
      ip: t.host,
      purpose,
      sudo,
      exitCode: r.exitCode,
      durationMs: r.durationMs,
      ...(r.error ? { error: r.error } : {}),
      ...(r.stderr ? { stderrTail: tailLines(r.stderr, 20) } : {}),
      // Output can be anything a user asked to see; only a failure's output is worth keeping.
      ...(r.error && r.stdout ? { stdoutTail: tailLines(r.stdout, 20) } : {}),
    });
  }

  /**
   * Uploads `script` to a private temporary path on every target, runs it with
   * `bash -euo pipefail` (through `sudo -S` when not root or when asked), streams its output and
   * removes it. Returns one result per target, in target order.
   */
  async run(targets: readonly FleetTarget[], s: Script, opts: RunOptions = {}): Promise<RunResult[]> {
    const seq = ++this.seq;
    const results = await Promise.all(
      targets.map((t) =>
        this.limit(async () => {
          const r = await this.runOne(t, s, seq, opts);
          opts.onResult?.(r);
          return r;
        }),
      ),
    );
    await this.opts.hostKeys.pins.save();
    return results;
  }

  private async runOne(t: FleetTarget, s: Script, seq: number, opts: RunOptions): Promise<RunResult> {
    const started = Date.now();
    const timeoutMs = opts.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
    const sudo = viaSudo(t, opts.sudo);
    let result: RunResult;
    try {
      const conn = await this.connectFor(t, opts.signal);
      const dir = await conn.tempDir(this.opts.sweep?.(t));
      const path = scriptPath(dir, seq);
      await conn
        .sftpCall<void>((sftp, cb) => sftp.writeFile(path, s.text, { mode: 0o700 }, cb))
        .catch((err: Error) => {
          // A connection that died (sshd killed, node gone) says only "No response from server" here.
          const gone = conn.lostReason;
          if (gone !== undefined)
            throw new NodeError('unreachable', `connection lost before "${s.purpose}" started: ${gone}`);
          throw new NodeError('failed', `cannot upload the script for "${s.purpose}": ${err.message}`);
        });
      if (opts.signal?.aborted) throw notStarted(opts.signal);
      const r = await conn.exec(
        runCommandLine(path, { sudo, sudoPassword: t.sudoPassword !== undefined, timeoutMs }),
        {
          ...(sudo && t.sudoPassword !== undefined ? { stdin: `${t.sudoPassword}\n` } : {}),
          ...(opts.onStdout ? { onStdout: (l: string) => opts.onStdout!(t, l) } : {}),
          ...(opts.onStderr ? { onStderr: (l: string) => opts.onStderr!(t, l) } : {}),
          deadlineMs: timeoutMs + DEADLINE_SLACK_MS,
          ...(opts.signal
            ? { stop: { signal: opts.signal, command: renderStop(path), graceMs: (KILL_GRACE_S + 2) * 1000 } }
            : {}),
        },
      );
      for (const f of [path, pidPath(path)])
        conn.sftpCall<void>((sftp, cb) => sftp.unlink(f, cb)).catch(() => undefined);
      result = resultOf(t, r, started);
      // timeout(1) exits 124 (TERM) or 137 (KILL after the grace) when the step overran.
      const overran =
        r.deadlineHit || ((r.exitCode === 124 || r.exitCode === 137) && result.durationMs >= timeoutMs);
      const error = classify(t, r, { purpose: `"${s.purpose}"`, sudo, timeoutMs, overran });
      if (error) result.error = error;
    } catch (err) {
      result = this.failed(t, started, err);
    }
    this.logRun(t, s.purpose, sudo, result);
    return result;
  }

  /**
   * Copies a local file or directory to `dest` on every target: probe what is there, send only
   * files that differ (SFTP, pipelined), verify sha256 on the node, rename into place. A transfer
   * that breaks off leaves only a temporary name behind, never a partial file at `dest`.
   */
  async put(
    targets: readonly FleetTarget[],
    localPath: string,
    dest: string,
    opts: PutOptions = {},
  ): Promise<PutResult[]> {
    const tree = await scanLocal(localPath);
    const plan = layout(tree, dest);
    const progress: PutProgress = {
      done: 0,
      total: tree.bytes * targets.length,
      sent: 0,
      nodesDone: 0,
      nodesTotal: targets.length,
    };
    const tick = () => opts.onProgress?.({ ...progress });
    const results = await Promise.all(
      targets.map((t) =>
        this.limit(async () => {
          const r = await this.putOne(t, tree, plan, opts, (n, sent) => {
            progress.done += n;
            if (sent) progress.sent += n;
            tick();
          });
          progress.nodesDone++;
          tick();
          opts.onResult?.(r);
          return r;
        }),
      ),
    );
    await this.opts.hostKeys.pins.save();
    return results;
  }

  private async putOne(
    t: FleetTarget,
    tree: LocalTree,
    plan: ReturnType<typeof layout>,
    opts: PutOptions,
    onBytes: (n: number, sent: boolean) => void,
  ): Promise<PutResult> {
    const started = Date.now();
    const sudo = viaSudo(t, opts.sudo);
    const stepOpts = {
      sudo,
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    };
    const result: PutResult = { node: t.name, ip: t.host, sent: 0, skipped: 0, bytes: 0, durationMs: 0 };
    let accounted = 0;
    try {
      const probe = await this.runOne(t, renderProbe(tree, plan), ++this.seq, stepOpts);
      if (probe.error) throw new NodeError(probe.error.kind, probe.error.message);
      const found = parseProbe(probe.stdout);
      const finals = found.isDir
        ? [posix.join(plan.dest, posix.basename(tree.root.replace(/\/+$/, '')))]
        : plan.finals;
      const conn = await this.connectFor(t, opts.signal);
      const session = await conn.sftp();
      // Uploads always land in the connection's private directory, which close() and the next run's
      // sweep remove: an upload cut off (node lost, kubeon killed) leaves nothing beside the destination.
      const stage = await conn.tempDir(this.opts.sweep?.(t));
      const placements: Placement[] = [];
      const chmods: { final: string; mode: string }[] = [];
      for (const [i, f] of tree.files.entries()) {
        const final = finals[i]!;
        const mode = octal(opts.mode ?? f.mode);
        const have = found.existing.get(i);
        if (have && have.sha256 === f.sha256) {
          result.skipped++;
          accounted += f.size;
          onBytes(f.size, false);
          if (octal(have.mode) !== mode) chmods.push({ final, mode });
          continue;
        }
        const tmp = posix.join(
          posix.dirname(final),
          `.${posix.basename(final)}.kubeon-${randomBytes(4).toString('hex')}.tmp`,
        );
        const staged = `${stage}/${i}.up`;
        await abortable(
          upload(session, f, staged, (n) => {
            accounted += n;
            onBytes(n, true);
          }),
          opts.signal,
        ).catch(async (err: Error) => {
          // Best effort: when the session itself is gone the temporary name stays behind, but the
          // final name is never touched.
          await conn.sftpCall<void>((s, cb) => s.unlink(staged, cb)).catch(() => undefined);
          throw new NodeError(
            conn.isOpen ? 'failed' : 'unreachable',
            `copy to ${final} broke off: ${err.message}`,
          );
        });
        result.sent++;
        result.bytes += f.size;
        placements.push({ staged, tmp, final, mode, sha256: f.sha256 });
      }
      const links = tree.links.map((l) => ({ final: posix.join(plan.dest, l.rel), target: l.target }));
      if (placements.length || chmods.length || links.length) {
        const placed = await this.runOne(t, renderPlace(placements, chmods, links), ++this.seq, stepOpts);
        if (placed.error) throw new NodeError(placed.error.kind, placed.error.message);
      }
    } catch (err) {
      result.error = failureOf(err);
      // Keeps the aggregate progress meaningful: a failed node's share counts as finished.
      onBytes(Math.max(0, tree.bytes - accounted), false);
    }
    result.durationMs = Date.now() - started;
    this.opts.log.write({
      event: 'put',
      node: t.name,
      ip: t.host,
      src: tree.root,
      dest: plan.dest,
      sent: result.sent,
      skipped: result.skipped,
      bytes: result.bytes,
      durationMs: result.durationMs,
      ...(result.error ? { error: result.error } : {}),
    });
    return result;
  }

  /** Closes every connection (removing each node's temporary directory) and the jump host. */
  async close(): Promise<void> {
    const all = [...this.conns.values()];
    this.conns.clear();
    this.open.clear();
    await Promise.all(
      all.map((c) =>
        c.then(
          (conn) => conn.close(),
          () => undefined,
        ),
      ),
    );
    if (this.jump) await this.jump.then((j) => j.close()).catch(() => undefined);
    await this.opts.hostKeys.pins.save();
  }
}

function notStarted(signal: AbortSignal): NodeError {
  return new NodeError('failed', `not started: ${(signal.reason as Error).message}`);
}

function creds(t: FleetTarget) {
  return {
    ...(t.password !== undefined ? { password: t.password } : {}),
    ...(t.privateKeyFile !== undefined ? { privateKeyFile: t.privateKeyFile } : {}),
    ...(t.privateKeyPassphrase !== undefined ? { privateKeyPassphrase: t.privateKeyPassphrase } : {}),
  };
}

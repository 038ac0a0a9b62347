import { randomBytes } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import ssh2, { type Client, type ClientChannel, type SFTPWrapper } from 'ssh2';
import { type AuthEnv, authHandler, planAuth } from './auth.js';
import { type HostKeyPins, hostId, hostKeyAlgorithms } from './hostkeys.js';
import { LineSplitter } from './lines.js';
import { isTransientConnectError, type RetryPolicy, withRetry } from './retry.js';
import { type ShellFragment, sh } from './script.js';
import { renderOpenTempDir, TEMP_PREFIX } from './sweep.js';
import { NodeError, type SshCredentials } from './types.js';

/**
 * One SSH connection to one node, reused for every command and file of a run. Channels are
 * bounded per connection because sshd refuses sessions beyond MaxSessions (default 10).
 */

export const MAX_CHANNELS = 8;

/** How long a node gets to acknowledge closing a channel after its deadline. */
const CLOSE_GRACE_MS = 5000;

export interface Endpoint extends SshCredentials {
  /** Name used in messages. */
  name: string;
  host: string;
  port: number;
}

export interface HostKeyPolicy {
  pins: HostKeyPins;
  /** Node names or addresses whose changed key the user accepted (--accept-new-hostkey). */
  acceptNew: ReadonlySet<string>;
  /** --insecure-ignore-hostkey: check nothing, pin nothing. */
  ignore: boolean;
}

export interface ConnectOptions {
  connectTimeoutMs: number;
  keepaliveMs: number;
  retry: RetryPolicy;
  hostKeys: HostKeyPolicy;
  auth: AuthEnv;
  /** Opens the byte stream to host:port; through a jump host when one is configured. */
  dial?: (host: string, port: number, timeoutMs: number) => Promise<Duplex>;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

class Semaphore {
  private waiting: (() => void)[] = [];
  private free: number;
  constructor(n: number) {
    this.free = n;
  }
  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

function dialTcp(host: string, port: number, timeoutMs: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const sock = netConnect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new NodeError('unreachable', `TCP connect to ${host}:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.setNoDelay(true);
      resolve(sock);
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export interface ExecResult {
  exitCode: number | null;
  signal: string | undefined;
  stdout: string;
  stderr: string;
  /** The client-side deadline passed and the channel was closed. */
  deadlineHit: boolean;
  /** The connection went away before the command's exit status arrived. */
  lost: boolean;
  /** `stop.signal` aborted before the command finished. */
  interrupted: boolean;
}

export interface ExecOptions {
  /** Written to the command's stdin, then stdin is closed. */
  stdin?: string;
  onStdout?: (line: string) => void;
  onStderr?: (line: string) => void;
  /** Client-side deadline; the remote side enforces its own timeout first. */
  deadlineMs?: number;
  /**
   * On abort: run `command` (which signals the remote process group) on a channel of its own, give
   * the group `graceMs` to end, then close the channel. Without `command` the channel closes at once.
   */
  stop?: { signal: AbortSignal; command?: string; graceMs?: number };
}

/** Output kept per stream; more is dropped from the middle, keeping the start and the end. */
const MAX_CAPTURE = 8 * 1024 * 1024;

class Capture {
  private head: Buffer[] = [];
  private headLen = 0;
  private tail: Buffer[] = [];
  private tailLen = 0;
  private dropped = 0;
  push(b: Buffer): void {
    if (this.headLen < MAX_CAPTURE / 2) {
      this.head.push(b);
      this.headLen += b.length;
      return;
    }
    this.tail.push(b);
    this.tailLen += b.length;
    while (this.tailLen > MAX_CAPTURE / 2 && this.tail.length > 1) {
      const d = this.tail.shift()!;
      this.tailLen -= d.length;
      this.dropped += d.length;
    }
  }
  text(): string {
    const head = Buffer.concat(this.head).toString('utf8');
    const tail = Buffer.concat(this.tail).toString('utf8');
    return this.dropped ? `${head}\n[... ${this.dropped} bytes not kept ...]\n${tail}` : head + tail;
  }
}

export interface SftpSession {
  sftp: SFTPWrapper;
  /** Rejects when the session ends. */
  closed: Promise<never>;
}

export class NodeConnection {
  private readonly channels = new Semaphore(MAX_CHANNELS);
  private sftpSession: Promise<SftpSession> | undefined;
  private tmp: Promise<string> | undefined;
  private closed = false;
  private lost: Error | undefined;

  constructor(
    readonly endpoint: Endpoint,
    private readonly client: Client,
  ) {
    client.on('error', (err) => {
      this.lost ??= err;
    });
    client.on('close', () => {
      this.lost ??= new Error('connection closed');
      this.closed = true;
    });
  }

  private ensureOpen(): void {
    if (this.closed)
      throw new NodeError(
        'unreachable',
        `connection to ${this.endpoint.name} was lost: ${this.lost?.message ?? 'closed'}`,
      );
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.ensureOpen();
    const release = await this.channels.acquire();
    try {
      return await this.openExec(command, opts);
    } catch (err) {
      if (err instanceof NodeError) throw err;
      throw new NodeError('unreachable', `${this.endpoint.name}: ${(err as Error).message}`, { cause: err });
    } finally {
      release();
    }
  }

  /**
   * sshd can refuse a session briefly while it still counts one that just closed; a refused open
   * ran nothing, so trying again is safe (unlike re-running a command).
   */
  private async openExec(command: string, opts: ExecOptions): Promise<ExecResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        // Listeners go on in the callback itself: the exit status can arrive in the same packet
        // batch as the open confirmation, before any awaited continuation would run.
        return await new Promise<ExecResult>((resolve, reject) => {
          this.client.exec(command, (err, ch) => (err ? reject(err) : resolve(this.drive(ch, opts))));
        });
      } catch (err) {
        if (attempt >= 5 || this.closed || !/open failed|Channel open failure/i.test((err as Error).message))
          throw err;
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
  }

  private drive(channel: ClientChannel, opts: ExecOptions): Promise<ExecResult> {
    return new Promise((resolve) => {
      const out = new Capture();
      const err = new Capture();
      const outLines = opts.onStdout ? new LineSplitter(opts.onStdout) : undefined;
      const errLines = opts.onStderr ? new LineSplitter(opts.onStderr) : undefined;
      let exitCode: number | null = null;
      let signal: string | undefined;
      let deadlineHit = false;
      let lost = false;
      let interrupted = false;
      let exited = false;
      let settled = false;
      const settle = () => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        if (giveUp) clearTimeout(giveUp);
        opts.stop?.signal.removeEventListener('abort', onAbort);
        this.client.off('close', onLost);
        outLines?.end();
        errLines?.end();
        resolve({ exitCode, signal, stdout: out.text(), stderr: err.text(), deadlineHit, lost, interrupted });
      };
      const timer =
        opts.deadlineMs === undefined
          ? undefined
          : setTimeout(() => {
              deadlineHit = true;
              channel.close();
              // A node that does not even answer the close is gone: give up on the connection
              // rather than wait for keep-alives to notice.
              setTimeout(() => {
                if (settled) return;
                this.client.destroy();
                settle();
              }, CLOSE_GRACE_MS).unref();
            }, opts.deadlineMs);
      let giveUp: NodeJS.Timeout | undefined;
      const onAbort = () => {
        if (exited) return;
        interrupted = true;
        const stop = opts.stop!;
        if (stop.command)
          // Past the channel limit on purpose: the slots may all be taken by the commands to stop.
          this.client.exec(stop.command, (e, ch) => {
            if (!e)
              ch.on('data', () => {})
                .on('close', () => {})
                .end();
          });
        giveUp = setTimeout(() => channel.close(), stop.command ? (stop.graceMs ?? 0) : 0);
        giveUp.unref();
      };
      if (opts.stop?.signal.aborted) queueMicrotask(onAbort);
      else opts.stop?.signal.addEventListener('abort', onAbort, { once: true });
      channel.on('data', (b: Buffer) => {
        out.push(b);
        outLines?.push(b);
      });
      channel.stderr.on('data', (b: Buffer) => {
        err.push(b);
        errLines?.push(b);
      });
      channel.on('exit', (code: number | null, sig?: string) => {
        exited = true;
        exitCode = code;
        signal = sig ?? undefined;
      });
      const onLost = () => {
        if (!exited && !deadlineHit) lost = true;
        channel.close();
        // ssh2 may never close a channel of a dead connection: settle here rather than wait.
        settle();
      };
      this.client.once('close', onLost);
      channel.on('close', settle);
      channel.end(opts.stdin ?? '');
    });
  }

  /**
   * One SFTP session per connection, opened on first use and kept for the run. ssh2 never answers
   * requests issued after the session has closed, so every call goes through `sftpCall`, which
   * fails as soon as the session ends instead of waiting forever.
   */
  sftp(): Promise<SftpSession> {
    this.ensureOpen();
    if (!this.sftpSession) {
      const opening = this.channels.acquire().then(
        (release) =>
          new Promise<SftpSession>((resolve, reject) => {
            this.client.sftp((err, s) => {
              if (err) {
                release();
                reject(new NodeError('failed', `${this.endpoint.name}: cannot open SFTP: ${err.message}`));
                return;
              }
              let ended: (e: Error) => void = () => {};
              const closed = new Promise<never>((_r, rej) => {
                ended = rej;
              });
              closed.catch(() => undefined);
              const onEnd = () => {
                release();
                if (this.sftpSession === opening) this.sftpSession = undefined;
                ended(new Error('the SFTP session closed'));
              };
              s.once('close', onEnd);
              s.once('end', onEnd);
              resolve({ sftp: s, closed });
            });
          }),
      );
      this.sftpSession = opening;
      // A failed open is not cached, so the next call tries again.
      opening.catch(() => {
        if (this.sftpSession === opening) this.sftpSession = undefined;
      });
    }
    return this.sftpSession;
  }

  /** Runs one SFTP request, failing if the session ends before the answer. */
  async sftpCall<T>(
    fn: (s: SFTPWrapper, cb: (err: Error | null | undefined, v?: T) => void) => void,
  ): Promise<T> {
    const session = await this.sftp();
    return Promise.race([
      session.closed,
      new Promise<T>((resolve, reject) =>
        fn(session.sftp, (err, v) => (err ? reject(err) : resolve(v as T))),
      ),
    ]);
  }

  /**
   * A private directory (0700) for uploaded scripts and staged files, created once per connection
   * under a random name so nobody else on the node can pre-create or read it. Creating it also
   * sweeps what killed runs left on the node (see sweep.ts); `extra` is added to that sweep.
   */
  tempDir(extra?: ShellFragment): Promise<string> {
    if (!this.tmp) {
      const dir = `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
      this.tmp = this.exec(renderOpenTempDir(dir, extra)).then((r) => {
        if (r.exitCode !== 0)
          throw new NodeError(
            r.lost ? 'unreachable' : 'failed',
            `${this.endpoint.name}: cannot create ${dir}: ${r.stderr.trim() || `exit ${r.exitCode}`}`,
          );
        return dir;
      });
      this.tmp.catch(() => {
        this.tmp = undefined;
      });
    }
    return this.tmp;
  }

  /** A TCP stream to host:port opened by this node (used when it is the jump host). */
  forward(host: string, port: number, timeoutMs: number): Promise<Duplex> {
    this.ensureOpen();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new NodeError('unreachable', `${host}:${port} did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
        clearTimeout(timer);
        if (err)
          reject(
            Object.assign(new Error(`cannot reach ${host}:${port}: ${err.message}`), {
              code: 'ECONNREFUSED',
            }),
          );
        else resolve(stream);
      });
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Removes the temporary directory (best effort, bounded) and closes the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.tmp) {
      const dir = await this.tmp.catch(() => undefined);
      if (dir) {
        // It holds at least its owner file, and whatever a broken-off copy left behind.
        const cleanup = this.exec(sh`rm -rf -- ${dir}`.text).catch(() => undefined);
        await Promise.race([cleanup, new Promise((r) => setTimeout(r, 3000).unref())]);
      }
    }
    await new Promise<void>((resolve) => {
      if (this.closed) return resolve();
      const t = setTimeout(() => {
        this.client.destroy();
        resolve();
      }, 2000);
      t.unref();
      this.client.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      this.client.end();
    });
    this.closed = true;
  }
}

function describeHandshakeError(e: Endpoint, err: Error & { level?: string }): NodeError {
  if (err instanceof NodeError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const where = `${e.name} (${e.host}:${e.port})`;
  if (err.level === 'client-timeout')
    return new NodeError('unreachable', `${where}: no SSH handshake within the connect timeout`, {
      cause: err,
    });
  if (code === 'ECONNREFUSED')
    return new NodeError('unreachable', `${where}: connection refused (is sshd running on port ${e.port}?)`, {
      cause: err,
    });
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH')
    return new NodeError('unreachable', `${where}: host unreachable`, { cause: err });
  return new NodeError('unreachable', `${where}: ${err.message}`, { cause: err });
}

/** One attempt: dial, handshake, verify the host key, authenticate. */
async function connectOnce(e: Endpoint, o: ConnectOptions, plan: Awaited<ReturnType<typeof planAuth>>) {
  const sock = await (o.dial ?? dialTcp)(e.host, e.port, o.connectTimeoutMs);
  const id = hostId(e.host, e.port);
  const pinnedTypes = o.hostKeys.ignore ? [] : o.hostKeys.pins.pinnedTypes(id);
  const client = new ssh2.Client();
  const tried: string[] = [];
  let hostKeyError: NodeError | undefined;
  return new Promise<NodeConnection>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      client.removeAllListeners('ready');
      client.on('error', () => {});
      client.destroy();
      if (hostKeyError) return reject(hostKeyError);
      if ((err as { level?: string }).level === 'client-authentication') {
        return reject(
          new NodeError(
            'auth',
            `authentication failed for ${e.user}@${e.name} (${e.host}:${e.port}); tried: ${tried.length ? tried.join(', ') : 'no method the server accepts'}`,
          ),
        );
      }
      reject(err);
    };
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      client.removeAllListeners('error');
      resolve(new NodeConnection(e, client));
    });
    client.on('error', fail);
    client.once('close', () => fail(new Error('connection closed before handshake completed')));
    client.connect({
      sock: sock as unknown as import('node:stream').Readable,
      username: e.user,
      readyTimeout: o.connectTimeoutMs,
      keepaliveInterval: o.keepaliveMs,
      keepaliveCountMax: 3,
      algorithms: {
        cipher: { prepend: ['aes128-gcm@openssh.com'] } as never,
        ...(pinnedTypes.length
          ? { serverHostKey: { prepend: pinnedTypes.flatMap(hostKeyAlgorithms) } as never }
          : {}),
      },
      hostVerifier: (key: Buffer) => {
        if (o.hostKeys.ignore) return true;
        const verdict = o.hostKeys.pins.check(id, key);
        if (verdict.status === 'known') return true;
        if (
          verdict.status === 'new' ||
          o.hostKeys.acceptNew.has(e.name) ||
          o.hostKeys.acceptNew.has(e.host)
        ) {
          o.hostKeys.pins.pin(id, key);
          return true;
        }
        hostKeyError = new NodeError(
          'hostkey-changed',
          `host key of ${e.name} (${e.host}:${e.port}) changed: pinned ${verdict.pinned.join(', ')}, offered ${verdict.offered}; refusing to connect. If the node was reinstalled, accept the new key with --accept-new-hostkey ${e.name}`,
        );
        return false;
      },
      authHandler: authHandler(plan, e.user, tried) as never,
    });
  }).catch((err: Error & { level?: string }) => {
    sock.destroy();
    throw err;
  });
}

/** Connects with retries for transient failures (refused, reset, closed under MaxStartups). */
export async function connectNode(e: Endpoint, o: ConnectOptions): Promise<NodeConnection> {
  const plan = await planAuth(e, e.name, o.auth);
  try {
    return await withRetry(() => connectOnce(e, o, plan), {
      policy: o.retry,
      totalMs: o.connectTimeoutMs,
      retryable: (err) => !(err instanceof NodeError) && isTransientConnectError(err),
      ...(o.onRetry ? { onRetry: o.onRetry } : {}),
    });
  } catch (err) {
    throw describeHandshakeError(e, err as Error);
  }
}

import { closeSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { ExitCode, KubeonError } from '../core/errors.js';

// node:crypto (and the stream modules it brings) loads when a lock is taken, not with every start.
const randomBytes = (n: number) => process.getBuiltinModule('node:crypto').randomBytes(n);

/**
 * A per-cluster lock file. A second command on the same cluster fails at once with the holder's PID
 * and command; a lock left by a process that no longer exists on this machine (or left empty or
 * garbled by a crash) is taken over, so a killed run never wedges the cluster.
 *
 * Atomicity: the lock is published whole with link(2), which fails if the name exists, so a lock
 * file is never seen half-written. Breaking a stale lock is a read-check-unlink that two processes
 * could interleave (one unlinking the lock the other just took), so it happens only while holding a
 * second lock, `<lock>.break`, the way Mercurial breaks stale repository locks.
 */
export interface LockInfo {
  pid: number;
  command: string;
  host: string;
  startedAt: string;
}

export interface HeldLock {
  path: string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readRaw(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function parse(text: string): LockInfo | undefined {
  try {
    const v = JSON.parse(text) as LockInfo;
    return typeof v.pid === 'number' && typeof v.host === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Garbled or empty (only a crash or another tool makes one: ours are published whole), or a dead local PID. */
function stale(text: string, host: string): boolean {
  const info = parse(text);
  return !info || (info.host === host && !alive(info.pid));
}

/** Publishes `text` at `path` unless something is there: write a private sibling, fsync, link. */
function create(path: string, text: string): boolean {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

function removeIfSame(path: string, text: string): void {
  try {
    if (readRaw(path) === text) unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * Removes the stale lock whose content was `seen`, holding `<path>.break` while it re-reads and
 * unlinks. Returns without doing anything when another process holds the guard; the caller retries.
 */
function breakStale(path: string, seen: string, self: string, host: string, depth = 0): void {
  const guard = `${path}.break`;
  if (!create(guard, self)) {
    const other = readRaw(guard);
    // A guard is held for microseconds; one left behind was left by a killed process.
    if (depth < 2 && other !== undefined && stale(other, host))
      breakStale(guard, other, self, host, depth + 1);
    return;
  }
  try {
    if (readRaw(path) === seen) unlinkSync(path);
  } finally {
    removeIfSame(guard, self);
  }
}

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function acquireLock(path: string, cluster: string, command: string): HeldLock {
  const host = hostname();
  const info: LockInfo = { pid: process.pid, command, host, startedAt: new Date().toISOString() };
  const self = JSON.stringify({ ...info, token: randomBytes(8).toString('hex') });
  for (let attempt = 0; attempt < 50; attempt++) {
    if (create(path, self)) {
      let released = false;
      return {
        path,
        release() {
          if (released) return;
          released = true;
          removeIfSame(path, self);
        },
      };
    }
    const seen = readRaw(path);
    if (seen === undefined) continue;
    if (stale(seen, host)) {
      breakStale(path, seen, self, host);
      pause(1 + attempt);
      continue;
    }
    const holder = parse(seen)!;
    throw new KubeonError(
      `cluster "${cluster}" is in use by PID ${holder.pid} on ${holder.host} (${holder.command}, since ${holder.startedAt})`,
      {
        exitCode: ExitCode.locked,
        hint: `wait for it to finish; if that process is gone, remove ${path}`,
      },
    );
  }
  throw new KubeonError(`could not take the lock ${path}`, {
    exitCode: ExitCode.locked,
    hint: `remove ${path} if no kubeon is running`,
  });
}

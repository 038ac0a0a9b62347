import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { ExitCode, KubeonError } from '../core/errors.js';

/**
 * A per-cluster lock file created with O_EXCL. A second command on the same cluster fails at once
 * with the holder's PID and command. A lock left by a process that no longer exists on this machine
 * is taken over, so a killed run never wedges the cluster.
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

function readLock(path: string): LockInfo | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

export function acquireLock(path: string, cluster: string, command: string): HeldLock {
  const info: LockInfo = { pid: process.pid, command, host: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readLock(path);
      if (holder && holder.host === info.host && !alive(holder.pid)) {
        unlinkSync(path);
        continue;
      }
      if (!holder) {
        // Written between our open and read, or truncated by a crash; a retry settles which.
        continue;
      }
      throw new KubeonError(
        `cluster "${cluster}" is in use by PID ${holder.pid} on ${holder.host} (${holder.command}, since ${holder.startedAt})`,
        {
          exitCode: ExitCode.locked,
          hint: `wait for it to finish; if that process is gone, remove ${path}`,
        },
      );
    }
    writeSync(fd, JSON.stringify(info));
    closeSync(fd);
    let released = false;
    return {
      path,
      release() {
        if (released) return;
        released = true;
        const now = readLock(path);
        if (now && now.pid === info.pid && now.startedAt === info.startedAt) unlinkSync(path);
      },
    };
  }
  throw new KubeonError(`could not take the lock ${path}`, {
    exitCode: ExitCode.locked,
    hint: `remove ${path} if no kubeon is running`,
  });
}

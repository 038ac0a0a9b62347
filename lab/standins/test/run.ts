/** Runs a built stand-in on this machine (for the checks that need no host). */
import { spawn, spawnSync } from 'node:child_process';
import { standinExecutable } from '../index.js';

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runStandin(
  component: string,
  version: string,
  argv: string[],
  env: Record<string, string> = {},
): Promise<Ran> {
  const exe = await standinExecutable(component, version, 'amd64');
  const r = spawnSync(exe, argv, {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', ...env },
    timeout: 30_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** As runStandin, without blocking this process (for tests that serve something in-process). */
export async function runStandinAsync(component: string, version: string, argv: string[]): Promise<Ran> {
  const exe = await standinExecutable(component, version, 'amd64');
  return new Promise((resolve) => {
    const child = spawn(exe, argv, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent' },
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

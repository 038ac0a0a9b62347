/** Runs a built stand-in on this machine (for the checks that need no host). */
import { spawnSync } from 'node:child_process';
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

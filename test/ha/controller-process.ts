import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { controllerBundle } from '../../src/ha/updater/bundle.js';

/** The bundled controller, written once per test file, run as real processes like the pods run it. */
export async function writeBundle(dir: string): Promise<string> {
  const file = join(dir, 'controller.js');
  await writeFile(file, await controllerBundle());
  return file;
}

export interface Replica {
  name: string;
  proc: ChildProcess;
  /** Everything it logged so far (one line per action). */
  output(): string;
  exited: Promise<number | null>;
}

export function startReplica(bundle: string, name: string, env: NodeJS.ProcessEnv): Replica {
  const proc = spawn(process.execPath, [bundle], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  proc.stderr!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { name, proc, output: () => out, exited };
}

/** Polls `check` until it holds; the error names what was awaited and how long. */
export async function until(what: string, check: () => boolean, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - start;
}

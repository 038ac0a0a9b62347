import { spawn } from 'node:child_process';
import { readdir, readFile, readlink } from 'node:fs/promises';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

// Hosts and tools must not inherit the caller's environment (npm_*, tokens, the machine's PATH
// tweaks); they get what a login on a plain Debian box would have.
export const CLEAN_ENV: Record<string, string> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
  HOME: '/root',
};

export function run(
  argv: string[],
  opts: { input?: string; env?: Record<string, string>; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    if (!cmd) throw new Error('run: empty argv');
    const child = spawn(cmd, args, {
      env: opts.env ?? CLEAN_ENV,
      cwd: opts.cwd ?? '/',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    // A child that exits without reading its stdin must not crash us with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      }),
    );
  });
}

/** Runs argv and throws with its stderr when it fails. */
export async function must(argv: string[], opts: Parameters<typeof run>[1] = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) {
    throw new Error(`${argv.slice(0, 4).join(' ')} failed (exit ${r.code}): ${r.stderr.trim().slice(-2000)}`);
  }
  return r.stdout;
}

/**
 * Live (non-zombie) processes whose network namespace is one of `netnsInodes`, and those with an
 * argument starting with `argPrefix` (supervisors such as systemd-nspawn stay in the machine's
 * namespaces but name the lab's namespace on their command line).
 */
export async function findProcesses(
  netnsInodes: Set<number>,
  argPrefix: string,
): Promise<{ inNetns: number[]; byArg: number[] }> {
  const inNetns: number[] = [];
  const byArg: number[] = [];
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const link = await readlink(`/proc/${pid}/ns/net`).catch(() => '');
    const m = /^net:\[(\d+)\]$/.exec(link);
    if (m && netnsInodes.has(Number(m[1]))) {
      if (await isAlive(pid)) inNetns.push(pid);
      continue;
    }
    const argv = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (argv.split('\0').some((a) => a.startsWith(argPrefix)) && (await isAlive(pid))) byArg.push(pid);
  }
  return { inNetns, byArg };
}

/** True while pid exists and is not a zombie (the machine's init reaps orphans only about once a second). */
export async function isAlive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (!stat) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

export async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(/\s+/).filter(Boolean).map(Number);
}

export async function nsInode(pid: number, ns: string): Promise<number | undefined> {
  const link = await readlink(`/proc/${pid}/ns/${ns}`).catch(() => '');
  const m = /\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : undefined;
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  // 0 and negative PIDs address process groups, and 1 is the machine's init.
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

export async function waitGone(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = pids;
  for (;;) {
    const alive = await Promise.all(left.map(isAlive));
    left = left.filter((_, i) => alive[i]);
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(50);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

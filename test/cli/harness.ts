import { PassThrough, Readable } from 'node:stream';
import { fastPath, type HelpPages } from '../../src/cli/fast-path.js';
import { runCli } from '../../src/cli/run.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Every top-level command the CLI must offer. */
export const COMMANDS = [
  'create',
  'destroy',
  'forget',
  'add',
  'del',
  'upgrade',
  'use',
  'list',
  'exec',
  'cp',
  'info',
  'etcd',
  'certs',
  'view',
  'config',
  'explain',
  'download',
  'version',
  'completion',
];

type Runner = (argv: string[], io: Parameters<typeof runCli>[1]) => Promise<number | undefined>;

/** Runs one path of kubeon in-process with captured streams; code is undefined when it declined. */
async function captured(
  runner: Runner,
  argv: string[],
  env: NodeJS.ProcessEnv,
  stdin: string,
): Promise<{ code: number | undefined; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  err.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const code = await runner(argv, {
    env,
    streams: { stdout: out, stderr: err, stdin: Readable.from([stdin]) },
  });
  return { code, stdout, stderr };
}

/** Runs kubeon in-process with captured streams and a private environment. */
export async function kubeon(argv: string[], env: NodeJS.ProcessEnv, stdin = ''): Promise<CliResult> {
  return (await captured(runCli, argv, env, stdin)) as CliResult;
}

/** Runs only the fast path (src/cli/fast-path.ts), with these help pages; code undefined: declined. */
export function fastKubeon(
  argv: string[],
  env: NodeJS.ProcessEnv,
  pages: HelpPages,
): Promise<{ code: number | undefined; stdout: string; stderr: string }> {
  return captured((a, io) => fastPath(a, io, () => pages), argv, env, '');
}

import { PassThrough, Readable } from 'node:stream';
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

/** Runs kubeon in-process with captured streams and a private environment. */
export async function kubeon(argv: string[], env: NodeJS.ProcessEnv, stdin = ''): Promise<CliResult> {
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
  const code = await runCli(argv, {
    env,
    streams: { stdout: out, stderr: err, stdin: Readable.from([stdin]) },
  });
  return { code, stdout, stderr };
}

// The OpenSSH client, driven the way the lab tests need it: key or password auth, never a prompt.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import type { Lab, LabHost } from '../api.js';

export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * A helper that answers ssh's password prompt from $LAB_PASS, so passwords never appear in argv.
 * It lives in the lab's state directory, which `lab down` removes.
 */
function askpassScript(lab: Lab): string {
  const path = `${lab.dir}/askpass`;
  if (!existsSync(path)) writeFileSync(path, '#!/bin/sh\nprintf "%s\\n" "$LAB_PASS"\n', { mode: 0o700 });
  return path;
}

export interface SshOptions {
  user?: string;
  /** Log in with this password instead of the lab key. */
  password?: string;
  knownHosts?: string;
  connectTimeout?: number;
  input?: string;
}

export function ssh(lab: Lab, host: LabHost, command: string, o: SshOptions = {}): Promise<SshResult> {
  const args = [
    '-F',
    '/dev/null',
    '-p',
    String(host.sshPort),
    '-o',
    `UserKnownHostsFile=${o.knownHosts ?? lab.knownHostsPath}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `ConnectTimeout=${o.connectTimeout ?? 10}`,
    '-o',
    'LogLevel=ERROR',
  ];
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  if (o.password === undefined) {
    args.push('-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', host.keyPath);
  } else {
    args.push(
      '-o',
      'PubkeyAuthentication=no',
      '-o',
      'PreferredAuthentications=password',
      '-o',
      'NumberOfPasswordPrompts=1',
    );
    Object.assign(env, {
      SSH_ASKPASS: askpassScript(lab),
      SSH_ASKPASS_REQUIRE: 'force',
      LAB_PASS: o.password,
    });
  }
  args.push(`${o.user ?? 'root'}@${host.ip}`, command);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('ssh', args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => {
      stdout += b;
    });
    child.stderr.on('data', (b) => {
      stderr += b;
    });
    child.on('error', reject);
    child.stdin.end(o.input ?? '');
    child.on('close', (code) =>
      resolve({ code: code ?? 255, stdout, stderr, ms: performance.now() - started }),
    );
  });
}

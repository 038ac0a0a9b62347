import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mirrorCommand } from './cli.js';

const exec = promisify(execFile);

/** Runs the command in-process and returns its exit code and what it printed on stdout. */
async function run(...argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return { code: await mirrorCommand(argv), out };
  } finally {
    spy.mockRestore();
    err.mockRestore();
  }
}

/** Alive and not a zombie waiting for its parent (this test process) to reap it. */
const alive = (pid: number) => {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z');
  } catch {
    return false;
  }
};

describe('lab mirror CLI', () => {
  let stateDir: string;
  // Placeholders keep these tests about the CLI, independent of the stand-ins' build.
  const sd = () => ['--state-dir', stateDir, '--executables', 'placeholder'];

  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(tmpdir(), 'kubeon-mirror-cli-'));
  });
  afterAll(async () => {
    await run('stop', ...sd());
    await rm(stateDir, { recursive: true, force: true });
  });

  it('starts detached, is safe to start and stop twice, and records faults and the log', async () => {
    const first = await run('start', '--json', ...sd());
    expect(first.code).toBe(0);
    const state = JSON.parse(first.out) as { url: string; pid: number; root: string; log: string };
    expect(state.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${state.url}/dl.k8s.io/release/stable.txt`)).text()).toBe('v1.37.1');

    const second = await run('start', '--json', ...sd());
    expect(second.code).toBe(0);
    expect(JSON.parse(second.out).pid).toBe(state.pid);
    expect((await run('status', ...sd())).code).toBe(0);

    expect(
      (await run('fault', 'add', '{"kind":"status","path":"/dl.k8s.io/release/stable.txt"}', ...sd())).code,
    ).toBe(0);
    const faulted = await fetch(`${state.url}/dl.k8s.io/release/stable.txt`);
    expect(faulted.status).toBe(404);
    await faulted.body?.cancel();
    expect((await run('fault', 'clear', ...sd())).code).toBe(0);
    const log = (await run('log', ...sd())).out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log.map((e: { status: number }) => e.status)).toEqual([200, 404]);

    const stop = await run('stop', '--json', ...sd());
    expect(JSON.parse(stop.out)).toEqual({ stopped: true, pid: state.pid });
    expect(alive(state.pid)).toBe(false);
    const again = await run('stop', ...sd());
    expect(again).toEqual({ code: 0, out: 'not running\n' });
    expect((await run('status', ...sd())).code).toBe(1);
    expect(existsSync(path.join(stateDir, 'mirror.pid'))).toBe(false);
  });

  it('makes one daemon when two starts race', async () => {
    const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
    const start = () =>
      exec(tsx, [cli, 'start', '--json', ...sd()]).then((r) => JSON.parse(r.stdout) as { pid: number });
    const [a, b] = await Promise.all([start(), start()]);
    expect(a.pid).toBe(b.pid);
    expect((await run('stop', ...sd())).code).toBe(0);
    expect(alive(a.pid)).toBe(false);
  });

  it('serves HTTPS with a CA made by openssl', async () => {
    const started = await run('start', '--tls', '--json', ...sd());
    expect(started.code).toBe(0);
    const state = JSON.parse(started.out) as { url: string; caFile: string };
    expect(state.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = await readFile(state.caFile);
    const dispatcher = new Agent({ connect: { ca } });
    try {
      const res = await fetch(`${state.url}/dl.k8s.io/release/stable-1.31.txt`, { dispatcher });
      expect(await res.text()).toBe('v1.31.14');
    } finally {
      await dispatcher.close();
    }
    await expect(fetch(`${state.url}/dl.k8s.io/release/stable.txt`)).rejects.toThrow();
    expect((await run('stop', ...sd())).code).toBe(0);
  });

  it('builds with a plugged-in executables module', async () => {
    const mod = path.join(stateDir, 'producer.mjs');
    await writeFile(
      mod,
      [
        'export const producerId = "t1";',
        'export async function executables(c, v, a) {',
        '  return Buffer.from(["#!/bin/sh", ["echo stand-in", c, v, a].join(" "), ""].join("\\n"));',
        '}',
        '',
      ].join('\n'),
    );
    const root = path.join(stateDir, 'plugged');
    const built = await run('build', '--root', root, '--executables', mod, '--json', '--state-dir', stateDir);
    expect(built.code).toBe(0);
    const files = (JSON.parse(built.out) as { files: { path: string; sha256: string }[] }).files;
    const kubeadm = files.find((f) => f.path === '/dl.k8s.io/release/v1.31.14/bin/linux/amd64/kubeadm')!;
    const body = await readFile(path.join(root, kubeadm.path));
    expect(body.toString()).toBe('#!/bin/sh\necho stand-in kubeadm v1.31.14 amd64\n');
    expect(createHash('sha256').update(body).digest('hex')).toBe(kubeadm.sha256);
  });

  it('rejects bad input with exit 2', async () => {
    expect((await run('start', '--port', 'x', ...sd())).code).toBe(2);
    expect((await run('frobnicate', ...sd())).code).toBe(2);
    expect((await run('fault', 'add', '{"kind":"drop","path":"/x"}', ...sd())).code).not.toBe(0);
  });
});

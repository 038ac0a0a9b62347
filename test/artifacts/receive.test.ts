// The fan-out's forced receive command, run locally on crafted tar streams.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BundleFile, renderReceiveCommand } from '../../src/phases/distribute.js';

const run = promisify(execFile);
let dir: string;
let stage: string;
let files: BundleFile[];
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kubeon-recv-'));
  stage = path.join(dir, 'stage');
  await mkdir(path.join(stage, 'in'), { recursive: true });
  files = [
    { name: 'kubelet', path: '', sha256: sha('kubelet bytes'), bytes: 13, mode: 0o755 },
    { name: 'cni.tgz', path: '', sha256: sha('cni bytes'), bytes: 9, mode: 0o644 },
  ];
  await writeFile(path.join(stage, 'sums'), files.map((f) => `${f.sha256}  ${f.name}\n`).join(''));
  await writeFile(path.join(stage, 'recv'), renderReceiveCommand(stage, files), { mode: 0o700 });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Builds a tar of `src` entries and pipes it into the receive command. */
async function receive(src: string, entries: string[]): Promise<number> {
  const { stdout } = await run('tar', ['-C', src, '-cf', path.join(dir, 'in.tar'), '--', ...entries]);
  expect(stdout).toBe('');
  const tarball = await readFile(path.join(dir, 'in.tar'));
  return new Promise((resolve) => {
    const p = spawn(path.join(stage, 'recv'), [], { stdio: ['pipe', 'ignore', 'ignore'] });
    p.on('close', (code) => resolve(code ?? -1));
    p.stdin.end(tarball);
  });
}

async function source(contents: Record<string, string>): Promise<string> {
  const src = await mkdtemp(path.join(dir, 'src-'));
  for (const [name, text] of Object.entries(contents)) await writeFile(path.join(src, name), text);
  return src;
}

describe('fan-out receive command', () => {
  it('keeps the listed files when their digests match, ignoring anything else in the stream', async () => {
    const src = await source({ kubelet: 'kubelet bytes', 'cni.tgz': 'cni bytes', extra: 'not wanted' });
    expect(await receive(src, ['kubelet', 'cni.tgz', 'extra'])).toBe(0);
    expect((await readdir(path.join(stage, 'in'))).sort()).toEqual(['cni.tgz', 'kubelet']);
  });

  it('rejects and removes a bundle whose bytes do not match', async () => {
    const src = await source({ kubelet: 'kubelet bytez', 'cni.tgz': 'cni bytes' });
    expect(await receive(src, ['kubelet', 'cni.tgz'])).toBe(1);
    expect(await readdir(path.join(stage, 'in'))).toEqual([]);
  });

  it('rejects a symlink posing as a bundle file', async () => {
    const src = await source({ 'cni.tgz': 'cni bytes', target: 'kubelet bytes' });
    await symlink(path.join(src, 'target'), path.join(src, 'kubelet'));
    expect(await receive(src, ['kubelet', 'cni.tgz'])).toBe(1);
    expect(await readdir(path.join(stage, 'in'))).not.toContain('kubelet');
  });

  it('rejects an incomplete stream', async () => {
    const src = await source({ kubelet: 'kubelet bytes' });
    expect(await receive(src, ['kubelet'])).toBe(1);
    expect(await readdir(path.join(stage, 'in'))).toEqual([]);
  });
});

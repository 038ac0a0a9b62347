import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standinExecutable } from '../index.js';
import { runStandin } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'standins-runtime-'));
const sock = join(dir, 'containerd.sock');
let daemon: ChildProcess;

function ociArchive(name: string, image: string, corrupt = false): string {
  const root = join(dir, name);
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json' }),
  );
  const hex = createHash('sha256').update(manifest).digest('hex');
  mkdirSync(join(root, 'blobs/sha256'), { recursive: true });
  writeFileSync(
    join(root, 'blobs/sha256', hex),
    corrupt ? Buffer.concat([manifest, Buffer.from(' ')]) : manifest,
  );
  writeFileSync(join(root, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(root, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${hex}`,
          size: manifest.length,
          annotations: { 'io.containerd.image.name': image },
        },
      ],
    }),
  );
  const tar = `${root}.tar`;
  spawnSync('tar', ['-cf', tar, '-C', root, '.']);
  return tar;
}

beforeAll(async () => {
  const exe = await standinExecutable('containerd', '1.7.27', 'amd64');
  writeFileSync(
    join(dir, 'config.toml'),
    'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n  SystemdCgroup = true\n',
  );
  daemon = spawn(
    exe,
    ['--config', join(dir, 'config.toml'), '--address', sock, '--root', join(dir, 'root')],
    { stdio: 'ignore', env: { PATH: process.env.PATH ?? '' } },
  );
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
});

afterAll(() => {
  daemon.kill('SIGTERM');
});

describe('containerd, ctr and crictl stand-ins', () => {
  it('ctr imports an OCI archive into the runtime and lists it; crictl sees it', async () => {
    const r = await runStandin('ctr', '1.7.27', [
      '--address',
      sock,
      '-n',
      'k8s.io',
      'images',
      'import',
      ociArchive('ok', 'registry.k8s.io/pause:3.10'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^unpacking registry\.k8s\.io\/pause:3\.10 \(sha256:[0-9a-f]{64}\)\.\.\.done$/m);
    const ls = await runStandin('ctr', '1.7.27', ['-a', sock, '-n', 'k8s.io', 'images', 'ls', '-q']);
    expect(ls.stdout).toBe('registry.k8s.io/pause:3.10\n');
    const other = await runStandin('ctr', '1.7.27', ['-a', sock, 'images', 'ls', '-q']);
    expect(other.stdout).toBe('');
    const cri = await runStandin('crictl', 'v1.31.1', ['--runtime-endpoint', `unix://${sock}`, 'images']);
    expect(cri.stdout).toMatch(/registry\.k8s\.io\/pause\s+3\.10/);
  });

  it('ctr refuses an archive whose blob does not match its digest, or that is no image at all', async () => {
    const bad = await runStandin('ctr', '1.7.27', [
      '-a',
      sock,
      '-n',
      'k8s.io',
      'images',
      'import',
      ociArchive('bad', 'example.com/x:1', true),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('digest mismatch');
    writeFileSync(join(dir, 'junk.txt'), 'hello');
    spawnSync('tar', ['-cf', join(dir, 'junk.tar'), '-C', dir, 'junk.txt']);
    const junk = await runStandin('ctr', '1.7.27', ['-a', sock, 'images', 'import', join(dir, 'junk.tar')]);
    expect(junk.stderr).toContain('unrecognized image format');
    const flagged = await runStandin('ctr', '1.7.27', [
      '-a',
      sock,
      'images',
      'import',
      '--nope',
      join(dir, 'junk.tar'),
    ]);
    expect(flagged.stderr).toContain('flag provided but not defined: -nope');
  });

  it('crictl reports the cgroup driver containerd was configured with', async () => {
    const r = await runStandin('crictl', 'v1.31.1', ['-r', `unix://${sock}`, 'info']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).config.containerd.runtimes.runc.options.SystemdCgroup).toBe(true);
  });

  it('containerd 1.7 refuses a version 3 config and exits', async () => {
    writeFileSync(join(dir, 'v3.toml'), 'version = 3\n');
    const r = await runStandin('containerd', '1.7.27', [
      '--config',
      join(dir, 'v3.toml'),
      '--address',
      join(dir, 'x.sock'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unsupported config version `3`');
  });
});

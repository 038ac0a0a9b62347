// A mirror that serves a tampered kubeadm with a checksum file to match: refused, and nothing runs.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildMirrorTree,
  placeholderExecutable,
  type TreeManifest,
  trustedDigestsText,
} from '../../lab/mirror/build.js';
import { type Mirror, startMirror } from '../../lab/mirror/server.js';
import { checkVersionSupported } from '../../src/artifacts/catalog.js';
import { kubeon } from '../cli/harness.js';

const UNPINNED = 'v1.31.14';
// In digests.json (kubespray's checksums): the catalog vouches for it whatever the mirror says.
const PINNED = 'v1.31.13';
const v = checkVersionSupported(UNPINNED);

let root: string;
let marker: string;
let tree: TreeManifest;
let mirror: Mirror;

const kubeadmPath = (version: string) => `/dl.k8s.io/release/${version}/bin/linux/amd64/kubeadm`;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'kubeon-tampered-'));
  marker = path.join(root, 'kubeadm-ran');
  tree = await buildMirrorTree(
    path.join(root, 'tree'),
    {
      arches: ['amd64'],
      kubernetes: [UNPINNED, PINNED],
      containerd: [v.containerd],
      runc: [v.runc],
      crictl: [v.crictl],
      cni: [v.cni],
    },
    {
      executables: async (component, version, arch) =>
        component === 'kubeadm'
          ? Buffer.from(`#!/bin/sh\ntouch ${marker}\necho registry.k8s.io/pause:3.10\n`)
          : placeholderExecutable(component, version, arch),
      producerId: 'tampered-kubeadm',
    },
  );
  mirror = await startMirror({ root: path.join(root, 'tree') });
});

afterAll(async () => {
  await mirror?.close();
  await rm(root, { recursive: true, force: true });
});

/** Trusted digests for every other file, so only kubeadm's trust is in question. */
async function env(home: string, checksumSource: string): Promise<NodeJS.ProcessEnv> {
  const list = path.join(home, 'trusted');
  const files = tree.files.filter((f) => !f.path.endsWith('/kubeadm'));
  await writeFile(list, trustedDigestsText({ ...tree, files }));
  return {
    KUBEON_HOME: home,
    KUBEON_TRUSTED_DIGESTS: list,
    KUBEON_CHECKSUM_SOURCE: checksumSource,
    PATH: process.env.PATH,
  };
}

async function cachedBlobs(home: string): Promise<string[]> {
  return readdir(path.join(home, 'cache', 'sha256')).catch(() => []);
}

describe('a mirror serving a tampered kubeadm with a matching checksum', () => {
  it('is refused when no trusted checksum can be had, and kubeadm never runs', async () => {
    const home = await mkdtemp(path.join(root, 'home-'));
    const r = await kubeon(
      ['download', UNPINNED, '--arch', 'amd64', '--offline', '--mirror', mirror.url],
      await env(home, 'http://127.0.0.1:9'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no trusted checksum');
    expect(r.stderr).toContain('--trust-mirror-checksums');
    expect(existsSync(marker)).toBe(false);
    const tampered = tree.files.find((f) => f.path === kubeadmPath(UNPINNED))!.sha256;
    expect(await cachedBlobs(home)).not.toContain(tampered);
    expect(mirror.log().filter((e) => e.path === kubeadmPath(UNPINNED))).toEqual([]);
  });

  it('is refused for a catalogued version even when the configured checksum source is that mirror', async () => {
    const home = await mkdtemp(path.join(root, 'home-'));
    const r = await kubeon(
      ['download', PINNED, '--arch', 'amd64', '--offline', '--mirror', mirror.url],
      await env(home, mirror.url),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/kubeadm v1\.31\.13 linux\/amd64: .*sha256 mismatch/);
    expect(existsSync(marker)).toBe(false);
    const tampered = tree.files.find((f) => f.path === kubeadmPath(PINNED))!.sha256;
    expect(await cachedBlobs(home)).not.toContain(tampered);
    // The pinned digest was used: the mirror's checksum file for kubeadm was never read.
    expect(mirror.log().filter((e) => e.path === `${kubeadmPath(PINNED)}.sha256`)).toEqual([]);
  });
});

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, labDown, labUp } from '../../lab/api.js';
import { labImages, pushImages } from '../../lab/mirror/images.js';
import { type Registry, startRegistry } from '../../lab/mirror/registry.js';
import { testLabId } from '../../lab/support/test-id.js';
import { type CreateLab, createLab, NET_FLAGS, sh } from './support.js';

/**
 * `--offline`: the control machine pulls every image from a real registry on loopback (the nodes
 * never see it), ships the archives with the bundle, and the nodes import them into containerd's
 * k8s.io namespace under their upstream names before kubeadm runs.
 */

const ID = testLabId('t-create-offline');
const VERSION = 'v1.31.14';
let lab: Lab;
let k: CreateLab;
let registry: Registry;

beforeAll(async () => {
  await labDown(ID);
  [lab, k, registry] = await Promise.all([labUp({ id: ID, system: 1 }), createLab(VERSION), startRegistry()]);
  await pushImages(registry.url, labImages(VERSION));
}, 600_000);

afterAll(async () => {
  await labDown(ID);
  await registry?.close();
  await k?.close();
}, 300_000);

describe('kubeon create --offline', () => {
  it('imports every image on the node and creates a Ready cluster', async () => {
    const h = lab.hosts[0]!;
    const r = await k.cli(
      'create',
      'off',
      VERSION,
      '-m',
      h.ip,
      '--default-pk-file',
      h.keyPath,
      '--mirror',
      k.mirror.url,
      '--offline',
      '--image-repo',
      registry.host,
      ...NET_FLAGS,
    );
    expect(r.stderr).toContain('cluster "off" is ready');
    expect(r.code).toBe(0);
    const present = (await sh(lab, h.name, 'ctr -n k8s.io images ls -q')).split('\n').filter(Boolean);
    for (const image of [
      `registry.k8s.io/kube-apiserver:${VERSION}`,
      `registry.k8s.io/kube-proxy:${VERSION}`,
    ])
      expect(present).toContain(image);
    expect(present.some((i) => i.startsWith('registry.k8s.io/pause:'))).toBe(true);
    expect(present.some((i) => i.startsWith('quay.io/calico/node:'))).toBe(true);
  }, 600_000);

  it('refuses an image whose tag moved since, naming both digests, until --accept-new-image-digests', async () => {
    const pinsFile = join(k.home, 'image-digests');
    const line = (await readFile(pinsFile, 'utf8'))
      .split('\n')
      .find((l) => l.startsWith('registry.k8s.io/pause:'));
    const [ref, before] = line!.split(' ') as [string, string];
    // The same tag pushed again with Docker media types: another index digest for the same reference.
    const [moved] = await pushImages(registry.url, [ref], { format: 'docker' });
    expect(moved!.digest).not.toBe(before);

    const refused = await k.cli('create', 'off');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`image ${ref} now resolves to ${moved!.digest}, not ${before}`);
    expect(refused.stderr).toContain('--accept-new-image-digests');
    expect(await readFile(pinsFile, 'utf8')).toContain(`${ref} ${before}\n`);

    const accepted = await k.cli('create', 'off', '--accept-new-image-digests');
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(await readFile(pinsFile, 'utf8')).toContain(`${ref} ${moved!.digest}\n`);
  }, 600_000);
});

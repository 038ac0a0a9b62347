import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, labDown, labUp } from '../../lab/api.js';
import { testLabId } from '../../lab/support/test-id.js';
import { type CreateLab, createLab, NET_FLAGS, sh } from './support.js';

/**
 * 1.37 (kubeadm v1beta4 only, containerd 2.x config version 3) on one master, after a 1.31 cluster
 * was destroyed on the same machine. Needs the stand-ins of issue 10: from 1.33 kubeadm writes the
 * first master's kubelet.conf against the local API server (ControlPlaneKubeletLocalMode), which the
 * stand-in on this branch does not know yet.
 */

const ID = testLabId('t-create-newest');
const VERSION = 'v1.31.14';
const NEWEST = 'v1.37.1';
let lab: Lab;
let k: CreateLab;

beforeAll(async () => {
  await labDown(ID);
  [lab, k] = await Promise.all([labUp({ id: ID, system: 1 }), createLab(VERSION, NEWEST)]);
}, 600_000);

afterAll(async () => {
  await labDown(ID);
  await k?.close();
}, 300_000);

describe('kubeon create 1.37 after destroy', () => {
  it('creates and destroys a 1.31 cluster', async () => {
    const h = lab.hosts[0]!;
    const r = await k.cli(
      'create',
      'one',
      VERSION,
      '-m',
      h.ip,
      '--default-pk-file',
      h.keyPath,
      '--mirror',
      k.mirror.url,
      ...NET_FLAGS,
      ...k.imageFlags,
    );
    expect(r.code).toBe(0);
  }, 600_000);

  it('destroys it, and installs 1.37 with containerd 2.x on the same machine', async () => {
    const h = lab.hosts[0]!;
    const gone = await k.cli('destroy', 'one', '--yes');
    expect(gone.code).toBe(0);
    expect(await sh(lab, h.name, 'ls /etc/kubernetes /etc/kubeon 2>&1 || true')).toContain('No such file');
    const r = await k.cli(
      'create',
      'new',
      NEWEST,
      '-m',
      h.ip,
      '--default-pk-file',
      h.keyPath,
      '--mirror',
      k.mirror.url,
      ...NET_FLAGS,
      ...k.imageFlags,
    );
    expect(r.stderr).toContain('cluster "new" is ready');
    expect(r.code).toBe(0);
    expect(await sh(lab, h.name, 'grep -c "^version = 3" /etc/containerd/config.toml')).toBe('1\n');
    expect(
      await sh(lab, h.name, 'grep -c "^apiVersion: kubeadm.k8s.io/v1beta4" /etc/kubeon/kubeadm/init.yaml'),
    ).toBe('2\n');
  }, 600_000);
});

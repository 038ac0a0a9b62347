import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, labDown, labUp } from '../../lab/api.js';
import type { CallEntry } from '../../lab/standins/lib/calllog.js';
import { testLabId } from '../../lab/support/test-id.js';
import { checkVersionSupported } from '../../src/artifacts/catalog.js';
import { calicoManifestUrl } from '../../src/render/cni.js';
import { type CreateLab, createLab, NET_FLAGS, sh } from './support.js';

/**
 * Kubernetes 1.30 (kubeadm v1beta3), one master and one worker. The mirror fails the CNI manifest,
 * so create stops after kubeadm init and join; the re-run continues without redoing them, as the
 * journal and the stand-ins' call logs show.
 */

const ID = testLabId('t-create-resume');
const VERSION = 'v1.30.14';
let lab: Lab;
let k: CreateLab;

beforeAll(async () => {
  await labDown(ID);
  [lab, k] = await Promise.all([labUp({ id: ID, system: 2 }), createLab(VERSION)]);
}, 600_000);

afterAll(async () => {
  await labDown(ID);
  await k?.close();
}, 300_000);

async function calls(host: string): Promise<CallEntry[]> {
  const text = await sh(lab, host, 'cat /var/log/kubeon-standins/calls.jsonl 2>/dev/null || true');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as CallEntry);
}

interface Entry {
  phase: string;
  node?: string;
  status: string;
}

async function journal(): Promise<Entry[]> {
  const { readFile } = await import('node:fs/promises');
  return (JSON.parse(await readFile(`${k.home}/clusters/resume/state.json`, 'utf8')) as { journal: Entry[] })
    .journal;
}

describe('a create that fails at a phase boundary', () => {
  it('continues with "kubeon create NAME" without redoing finished work', async () => {
    const [m, w] = lab.hosts;
    const path = new URL(calicoManifestUrl(checkVersionSupported(VERSION).calico)).pathname;
    k.mirror.setFaults([{ kind: 'status', status: 503, path: `/raw.githubusercontent.com${path}` }]);
    const first = await k.cli(
      'create',
      'resume',
      VERSION,
      '-m',
      m!.ip,
      '-w',
      w!.ip,
      '--default-pk-file',
      m!.keyPath,
      '--mirror',
      k.mirror.url,
      ...NET_FLAGS,
      ...k.imageFlags,
    );
    expect(first.code).toBe(1);
    expect(first.stderr).toContain('the calico manifest could not be fetched');
    const failed = await journal();
    expect(failed.filter((e) => e.phase === 'init' && e.status === 'done').map((e) => e.node)).toEqual([
      m!.name,
    ]);
    expect(
      failed.filter((e) => e.phase === 'join-workers' && e.status === 'done').map((e) => e.node),
    ).toEqual([w!.name]);
    expect(failed.some((e) => e.phase === 'cni' && e.status === 'failed')).toBe(true);
    const initsBefore = (await calls(m!.name)).filter((c) => c.event === 'init-start').length;
    const joinsBefore = (await calls(w!.name)).filter((c) => c.event === 'join-start').length;
    expect([initsBefore, joinsBefore]).toEqual([1, 1]);

    k.mirror.setFaults([]);
    const again = await k.cli('create', 'resume');
    expect(again.stderr).toContain('cluster "resume" is ready');
    expect(again.code).toBe(0);
    expect((await calls(m!.name)).filter((c) => c.event === 'init-start').length).toBe(1);
    expect((await calls(w!.name)).filter((c) => c.event === 'join-start').length).toBe(1);
    const done = await journal();
    expect(done.filter((e) => e.phase === 'init').length).toBe(1);
    expect(done.some((e) => e.phase === 'cni' && e.status === 'done')).toBe(true);
    // kubeadm v1beta3 below 1.31 (InitConfiguration and ClusterConfiguration).
    expect(await sh(lab, m!.name, 'head -1 /etc/kubeon/kubeadm/init.yaml')).toContain(
      'kubeadm.k8s.io/v1beta3',
    );
  }, 900_000);
});

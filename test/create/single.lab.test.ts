import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, labDown, labUp } from '../../lab/api.js';
import { testLabId } from '../../lab/support/test-id.js';
import { type CreateLab, createLab, NET_FLAGS, sh } from './support.js';

/** One master, end to end against the stand-ins: create 1.31, Ready, kubeconfig, a no-op re-run. */

const ID = testLabId('t-create-one');
const VERSION = 'v1.31.14';
let lab: Lab;
let k: CreateLab;

beforeAll(async () => {
  await labDown(ID);
  [lab, k] = await Promise.all([labUp({ id: ID, system: 1 }), createLab(VERSION)]);
}, 600_000);

afterAll(async () => {
  await labDown(ID);
  await k?.close();
}, 300_000);

describe('kubeon create with one master', () => {
  it('installs a cluster whose node is Ready and reachable from the control machine', async () => {
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
    expect(r.stderr).toContain('cluster "one" is ready');
    expect(r.code).toBe(0);
    const nodes = await sh(lab, h.name, 'kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o json');
    const list = JSON.parse(nodes) as {
      items: { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }[];
    };
    expect(list.items.map((n) => n.metadata.name)).toEqual([h.name]);
    expect(list.items[0]!.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(await sh(lab, h.name, 'cat /etc/kubeon/cluster')).toBe('one\n');
    expect(await sh(lab, h.name, "sed -n '/# BEGIN kubeon one/,/# END kubeon one/p' /etc/hosts")).toBe(
      `# BEGIN kubeon one\n${h.ip} apiserver.cluster.local\n# END kubeon one\n`,
    );
    const again = await k.cli('create', 'one');
    expect(again.stderr).toContain('nothing to do');
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`kubectl --kubeconfig ${k.home}/clusters/one/kubeconfig get nodes`);
  }, 600_000);
});

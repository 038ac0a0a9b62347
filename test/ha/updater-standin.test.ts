/**
 * Two replicas of the bundled apiserver-updater against the strict apiserver stand-in (real etcd,
 * RBAC evaluated from the objects kubeon ships, a TokenRequest token for the updater's
 * ServiceAccount): one leads, the slice follows default/kubernetes, and the other takes over when
 * the leader dies. Addresses other than 127.0.0.1 are data in API objects; nothing connects to them.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApiserver, startApiserver } from '../../lab/standins/test/apiserver-harness.js';
import { type EndpointSlice, liveAddresses } from '../../src/ha/updater/controller/slices.js';
import { updaterObjects } from '../../src/ha/updater/manifests.js';
import { LEADER_TIMING, UPDATER } from '../../src/ha/updater/names.js';
import { type Replica, startReplica, until, writeBundle } from './controller-process.js';

const PEER = '10.0.0.12';
const SLICES = '/apis/discovery.k8s.io/v1/namespaces';
const TARGET = `${SLICES}/${UPDATER.namespace}/endpointslices/${UPDATER.slice}`;
const SOURCE = `${SLICES}/${UPDATER.source.namespace}/endpointslices/${UPDATER.source.name}`;
const LEASE = `/apis/coordination.k8s.io/v1/namespaces/${UPDATER.namespace}/leases/${UPDATER.lease}`;

/** The collection each kind kubeon ships is created in. */
function collection(o: { apiVersion?: unknown; kind: string; metadata: { namespace?: string } }): string {
  const plural =
    { EndpointSlice: 'endpointslices', RoleBinding: 'rolebindings' }[o.kind] ?? `${o.kind.toLowerCase()}s`;
  const base = o.apiVersion === 'v1' ? '/api/v1' : `/apis/${String(o.apiVersion)}`;
  return `${base}/namespaces/${o.metadata.namespace ?? 'default'}/${plural}`;
}

describe('apiserver-updater against the apiserver stand-in', () => {
  let api: LocalApiserver;
  let dir: string;
  let stopPeer: (() => Promise<void>) | undefined;
  const replicas: Replica[] = [];
  const addresses = async (path: string) => liveAddresses(await api.admin.get<EndpointSlice>(path)).join(',');
  const holder = async () =>
    (await api.admin.get<{ spec: { holderIdentity?: string } }>(LEASE)).spec.holderIdentity ?? '';

  /** Polls an async check (until() is synchronous): resolves to how long it took. */
  async function eventually(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
    let ok = false;
    const poll = setInterval(
      () =>
        void check().then(
          (v) => (ok = v),
          () => undefined,
        ),
      100,
    );
    try {
      return await until(what, () => ok, timeoutMs);
    } finally {
      clearInterval(poll);
    }
  }

  beforeAll(async () => {
    api = await startApiserver();
    dir = await mkdtemp(join(tmpdir(), 'kubeon-updater-standin-'));
    const bundle = await writeBundle(dir);
    for (const o of updaterObjects({
      serviceCIDR: '10.96.0.0/12',
      masters: ['10.0.0.99'],
      image: 'registry.k8s.io/kubeon/node:22',
      controller: await readFile(bundle, 'utf8'),
    }))
      await api.admin.call('POST', collection(o), o);
    const tr = await api.admin.call<{ status: { token: string } }>(
      'POST',
      `/api/v1/namespaces/${UPDATER.namespace}/serviceaccounts/${UPDATER.serviceAccount}/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} },
    );
    const sa = join(dir, 'sa');
    await mkdir(sa, { mode: 0o700 });
    await writeFile(join(sa, 'ca.crt'), api.ca.certPem);
    await writeFile(join(sa, 'token'), tr.status.token, { mode: 0o600 });
    const env = (name: string) => ({
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: new URL(api.server).port,
      KUBEON_UPDATER_SA_DIR: sa,
      POD_NAME: name,
    });
    for (const name of ['a', 'b']) replicas.push(startReplica(bundle, name, env(name)));
  }, 120_000);

  afterAll(async () => {
    for (const r of replicas) r.proc.kill('SIGKILL');
    await stopPeer?.();
    await api?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('one replica leads and mirrors default/kubernetes; the other takes over when it dies', async () => {
    await eventually('a leader', async () => ['a', 'b'].includes(await holder()), 20_000);
    const first = await holder();
    await eventually(
      'the slice to list the live apiserver',
      async () => (await addresses(TARGET)) === '127.0.0.1',
      10_000,
    );

    // A second apiserver joins: default/kubernetes lists it, then the slice follows within seconds.
    stopPeer = await api.startPeer(PEER);
    await eventually(
      'default/kubernetes to list the peer',
      async () => (await addresses(SOURCE)) === `${PEER},127.0.0.1`,
      30_000,
    );
    const followed = await eventually(
      'the slice to list the peer',
      async () => (await addresses(TARGET)) === `${PEER},127.0.0.1`,
      10_000,
    );
    expect(followed).toBeLessThan(3_000);
    expect(await holder()).toBe(first);

    const leader = replicas.find((r) => r.name === first)!;
    const other = replicas.find((r) => r.name !== first)!;
    for (const r of replicas) expect(r.output(), r.name).not.toMatch(/\b403\b|forbidden/i);
    leader.proc.kill('SIGKILL');
    const took = await eventually(
      'the other replica to lead',
      async () => (await holder()) === other.name,
      (LEADER_TIMING.leaseSeconds + 10) * 1000,
    );
    expect(took).toBeLessThan((LEADER_TIMING.leaseSeconds + 4) * 1000);

    // The peer goes away: the new leader mirrors that too.
    await stopPeer();
    stopPeer = undefined;
    await eventually(
      'default/kubernetes to drop the peer',
      async () => (await addresses(SOURCE)) === '127.0.0.1',
      30_000,
    );
    const dropped = await eventually(
      'the slice to drop the peer',
      async () => (await addresses(TARGET)) === '127.0.0.1',
      10_000,
    );
    expect(dropped).toBeLessThan(3_000);
    expect(other.output()).not.toMatch(/\b403\b|forbidden/i);
  }, 180_000);
});

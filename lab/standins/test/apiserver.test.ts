/**
 * The apiserver stand-in's API rules against a real etcd on loopback: RBAC evaluated from stored
 * objects, service-account tokens, watch, optimistic concurrency, ClusterIP allocation, the
 * default/kubernetes endpoints and NodeRestriction. Each expectation is the real apiserver's
 * answer (status, reason, message).
 */
import { createPublicKey, createVerify, generateKeyPairSync } from 'node:crypto';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient, ApiResponse } from '../lib/client.js';
import { signServiceAccountToken } from '../lib/satoken.js';
import { type LocalApiserver, startApiserver } from './apiserver-harness.js';

let api: LocalApiserver;

beforeAll(async () => {
  api = await startApiserver();
}, 120_000);

afterAll(async () => {
  await api?.stop();
});

type Obj = {
  metadata: { name: string; uid?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
};

const reasonOf = (r: ApiResponse) => (r.body as { reason?: string }).reason;
const messageOf = (r: ApiResponse) => (r.body as { message?: string }).message;

async function serviceAccount(ns: string, name: string): Promise<Obj> {
  const r = await api.admin.raw('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name },
  });
  expect(r.status, r.text).toBe(201);
  return r.body as Obj;
}

async function tokenFor(ns: string, name: string, spec: Record<string, unknown> = {}): Promise<ApiResponse> {
  return api.admin.raw('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${name}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec,
  });
}

async function token(ns: string, name: string): Promise<string> {
  const r = await tokenFor(ns, name);
  expect(r.status, r.text).toBe(201);
  return (r.body as { status: { token: string } }).status.token;
}

const slice = (name: string) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace: 'kube-system', labels: { 'kubernetes.io/service-name': 'apiserver-updater' } },
  addressType: 'IPv4',
  endpoints: [{ addresses: ['10.0.0.1'] }],
  ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
});

/** Reads a watch stream until `count` events arrived (or it ends). */
function watchEvents(
  client: ApiClient,
  path: string,
  count: number,
): Promise<{
  status: number;
  events: { type: string; object: Obj & { code?: number; reason?: string; message?: string } }[];
}> {
  const c = client.creds;
  return new Promise((resolve, reject) => {
    const events: { type: string; object: Obj }[] = [];
    const req = request(
      new URL(path, c.server),
      {
        ca: c.caPem,
        cert: c.certPem,
        key: c.keyPem,
        agent: false,
        headers: c.token ? { Authorization: `Bearer ${c.token}` } : {},
      },
      (res) => {
        let buf = '';
        const done = () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, events: events as never });
        };
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
            events.push(JSON.parse(buf.slice(0, i)));
            buf = buf.slice(i + 1);
          }
          if (events.length >= count) done();
        });
        res.on('end', done);
      },
    );
    req.on('error', (e) => (events.length ? undefined : reject(e)));
    req.setTimeout(15_000, () => req.destroy(new Error(`watch ${path}: only ${events.length} events`)));
    req.end();
  });
}

describe('RBAC evaluated from the stored roles and bindings', () => {
  it('a controller gets 403 for what its Role does not grant, with the real message, and passes once granted', async () => {
    const sa = await api.asServiceAccount('kube-system', 'updater', [
      {
        apiGroups: ['discovery.k8s.io'],
        resources: ['endpointslices'],
        verbs: ['get', 'list', 'watch', 'create'],
      },
    ]);
    const slices = '/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices';
    const created = await sa.raw('POST', slices, slice('updater-1'));
    expect(created.status, created.text).toBe(201);
    const update = await sa.raw('PUT', `${slices}/updater-1`, created.body);
    expect(update.status).toBe(403);
    expect(reasonOf(update)).toBe('Forbidden');
    expect(messageOf(update)).toBe(
      'endpointslices.discovery.k8s.io "updater-1" is forbidden: User "system:serviceaccount:kube-system:updater" cannot update resource "endpointslices" in API group "discovery.k8s.io" in the namespace "kube-system"',
    );
    const other = await sa.raw('GET', '/api/v1/namespaces/kube-system/secrets');
    expect(other.status).toBe(403);
    expect(messageOf(other)).toBe(
      'secrets is forbidden: User "system:serviceaccount:kube-system:updater" cannot list resource "secrets" in API group "" in the namespace "kube-system"',
    );
    // another namespace: the RoleBinding does not reach it
    expect((await sa.raw('GET', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices')).status).toBe(
      403,
    );
    await api.admin.call(
      'PATCH',
      '/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/roles/updater',
      {
        rules: [
          {
            apiGroups: ['discovery.k8s.io'],
            resources: ['endpointslices'],
            verbs: ['*'],
            resourceNames: ['updater-1'],
          },
        ],
      },
      'application/merge-patch+json',
    );
    const again = await sa.raw(
      'PUT',
      `${slices}/updater-1`,
      (await sa.raw('GET', `${slices}/updater-1`)).body,
    );
    expect(again.status, again.text).toBe(200);
    // resourceNames do not cover other names, nor list
    expect((await sa.raw('GET', `${slices}/other`)).status).toBe(403);
    expect((await sa.raw('GET', slices)).status).toBe(403);
  });

  it('names a binding whose role is missing in the reason', async () => {
    await serviceAccount('default', 'orphan');
    await api.admin.call('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'orphan' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'missing' },
      subjects: [{ kind: 'ServiceAccount', name: 'orphan' }],
    });
    const r = await api
      .withToken(await token('default', 'orphan'))
      .raw('GET', '/api/v1/namespaces/default/configmaps');
    expect(r.status).toBe(403);
    expect(messageOf(r)).toBe(
      'configmaps is forbidden: User "system:serviceaccount:default:orphan" cannot list resource "configmaps" in API group "" in the namespace "default": RBAC: role.rbac.authorization.k8s.io "missing" not found',
    );
  });

  it('kubeadm:cluster-admins is an admin only through the binding kubeadm creates; system:masters always', async () => {
    const admin = await api.as('kubernetes-admin', ['kubeadm:cluster-admins']);
    const denied = await admin.raw('GET', '/api/v1/nodes');
    expect(denied.status).toBe(403);
    expect(messageOf(denied)).toBe(
      'nodes is forbidden: User "kubernetes-admin" cannot list resource "nodes" in API group "" at the cluster scope',
    );
    await api.admin.call('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'kubeadm:cluster-admins' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'kubeadm:cluster-admins' }],
    });
    expect((await admin.raw('GET', '/api/v1/nodes')).status).toBe(200);
    const stranger = await api.as('someone');
    expect((await stranger.raw('GET', '/version')).status).toBe(200);
    const path = await stranger.raw('GET', '/metrics');
    expect(messageOf(path)).toBe('forbidden: User "someone" cannot get path "/metrics"');
    expect((await api.withToken('').raw('GET', '/api')).status).toBe(403);
  });
});

describe('service-account tokens', () => {
  it('TokenRequest issues an RS256 JWT signed with sa.key, with the bound-token claims', async () => {
    const account = await serviceAccount('kube-system', 'claims');
    const r = await tokenFor('kube-system', 'claims', {
      audiences: ['https://kubernetes.default.svc.cluster.local'],
    });
    expect(r.status, r.text).toBe(201);
    const tr = r.body as { kind: string; status: { token: string; expirationTimestamp: string } };
    expect(tr.kind).toBe('TokenRequest');
    const [h, p, s] = tr.status.token.split('.');
    const header = JSON.parse(Buffer.from(h!, 'base64url').toString());
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    expect(header.alg).toBe('RS256');
    expect(header.kid).toMatch(/^[\w-]{43}$/);
    expect(claims.iss).toBe('https://kubernetes.default.svc.cluster.local');
    expect(claims.sub).toBe('system:serviceaccount:kube-system:claims');
    expect(claims.aud).toEqual(['https://kubernetes.default.svc.cluster.local']);
    expect(claims.exp - claims.iat).toBe(3600);
    expect(claims['kubernetes.io']).toEqual({
      namespace: 'kube-system',
      serviceaccount: { name: 'claims', uid: account.metadata.uid },
    });
    const pub = createPublicKey(api.saKeyPem);
    expect(createVerify('RSA-SHA256').update(`${h}.${p}`).verify(pub, Buffer.from(s!, 'base64url'))).toBe(
      true,
    );
    const short = await tokenFor('kube-system', 'claims', { expirationSeconds: 60 });
    expect(short.status).toBe(422);
    expect(messageOf(short)).toBe(
      'TokenRequest.authentication.k8s.io "claims" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes',
    );
  });

  it('a token minted offline with sa.key authenticates; another key, another issuer or a recreated account do not', async () => {
    const account = await serviceAccount('default', 'minted');
    const spec = {
      issuer: 'https://kubernetes.default.svc.cluster.local',
      audiences: ['https://kubernetes.default.svc.cluster.local'],
      namespace: 'default',
      serviceAccount: { name: 'minted', uid: String(account.metadata.uid) },
      expirationSeconds: 600,
    };
    // system:discovery is granted to every authenticated user: a 200 on /api proves the token was accepted
    const good = signServiceAccountToken(api.saKeyPem, spec).token;
    expect((await api.withToken(good).raw('GET', '/api')).status).toBe(200);
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ format: 'pem', type: 'pkcs1' })
      .toString();
    expect(
      (await api.withToken(signServiceAccountToken(otherKey, spec).token).raw('GET', '/api')).status,
    ).toBe(401);
    expect(
      (
        await api
          .withToken(signServiceAccountToken(api.saKeyPem, { ...spec, issuer: 'https://elsewhere' }).token)
          .raw('GET', '/api')
      ).status,
    ).toBe(401);
    expect(
      (
        await api
          .withToken(signServiceAccountToken(api.saKeyPem, { ...spec, audiences: ['vault'] }).token)
          .raw('GET', '/api')
      ).status,
    ).toBe(401);
    const expired = signServiceAccountToken(api.saKeyPem, {
      ...spec,
      nowSeconds: Math.floor(Date.now() / 1000) - 7200,
    }).token;
    expect((await api.withToken(expired).raw('GET', '/api')).status).toBe(401);
    await api.admin.call('DELETE', '/api/v1/namespaces/default/serviceaccounts/minted');
    await serviceAccount('default', 'minted');
    const stale = await api.withToken(good).raw('GET', '/api');
    expect(stale.status).toBe(401);
    expect(messageOf(stale)).toBe('Unauthorized');
  });
});

describe('watch', () => {
  const cms = '/api/v1/namespaces/default/configmaps';
  it('streams ADDED, MODIFIED and DELETED after the list resourceVersion', async () => {
    const list = await api.admin.get<{ metadata: { resourceVersion: string } }>(cms);
    expect(Number(list.metadata.resourceVersion)).toBeGreaterThan(0);
    const events = watchEvents(
      api.admin,
      `${cms}?watch=1&resourceVersion=${list.metadata.resourceVersion}`,
      3,
    );
    const created = await api.admin.call<Obj>('POST', cms, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'w1' },
      data: { a: '1' },
    });
    const updated = await api.admin.call<Obj>('PUT', `${cms}/w1`, { ...created, data: { a: '2' } });
    await api.admin.call('DELETE', `${cms}/w1`);
    const got = await events;
    expect(got.status).toBe(200);
    expect(got.events.map((e) => [e.type, e.object.metadata.name])).toEqual([
      ['ADDED', 'w1'],
      ['MODIFIED', 'w1'],
      ['DELETED', 'w1'],
    ]);
    expect(got.events[0]!.object.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
    expect(got.events[1]!.object.metadata.resourceVersion).toBe(updated.metadata.resourceVersion);
    expect(Number(got.events[2]!.object.metadata.resourceVersion)).toBeGreaterThan(
      Number(updated.metadata.resourceVersion),
    );
  });

  it('a resourceVersion the compactor has dropped answers an ERROR event with a 410 Expired Status', async () => {
    // its own apiserver: compaction every second would expire the other tests' versions on a busy machine
    const compacting = await startApiserver(['--etcd-compaction-interval=1s']);
    try {
      const admin = compacting.admin;
      const list = await admin.get<{ metadata: { resourceVersion: string } }>(cms);
      const old = list.metadata.resourceVersion;
      await admin.call('POST', cms, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'w2' } });
      // the compactor compacts to the revision it saw one round before
      let got: Awaited<ReturnType<typeof watchEvents>> | undefined;
      for (let i = 0; got?.events[0]?.type !== 'ERROR' && i < 60; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        await admin.call('PATCH', `${cms}/w2`, { data: { i: String(i) } }, 'application/merge-patch+json');
        got = await watchEvents(admin, `${cms}?watch=1&resourceVersion=${old}`, 1);
      }
      expect(got!.status).toBe(200);
      const e = got!.events[0]!;
      expect(e.type).toBe('ERROR');
      expect(e.object).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 });
      expect(e.object.message).toMatch(new RegExp(`^too old resource version: ${old} \\(\\d+\\)$`));
    } finally {
      await compacting.stop();
    }
  }, 150_000);

  it('needs the watch verb', async () => {
    const sa = await api.asServiceAccount('default', 'lister', [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['list'] },
    ]);
    expect((await sa.raw('GET', cms)).status).toBe(200);
    const w = await sa.raw('GET', `${cms}?watch=1`);
    expect(w.status).toBe(403);
    expect(messageOf(w)).toContain('cannot watch resource "configmaps"');
  });

  it('a list or watch with fieldSelector=metadata.name=X is authorized as that name (requestinfo.go)', async () => {
    const ns = '/api/v1/namespaces/kube-public/configmaps';
    for (const name of ['named-one', 'named-two'])
      await api.admin.call('POST', ns, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: {} });
    const sa = await api.asServiceAccount('kube-public', 'one-name', [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'watch'], resourceNames: ['named-one'] },
    ]);
    const listed = await sa.raw('GET', `${ns}?fieldSelector=metadata.name%3Dnamed-one`);
    expect(listed.status, listed.text).toBe(200);
    expect((listed.body as { items: Obj[] }).items.map((o) => o.metadata.name)).toEqual(['named-one']);
    const rv = (listed.body as Obj).metadata.resourceVersion;
    const watching = watchEvents(
      sa,
      `${ns}?watch=1&fieldSelector=metadata.name%3D%3Dnamed-one&resourceVersion=${rv}`,
      1,
    );
    await api.admin.call('PATCH', `${ns}/named-two`, { data: { a: '1' } }, 'application/merge-patch+json');
    await api.admin.call('PATCH', `${ns}/named-one`, { data: { a: '1' } }, 'application/merge-patch+json');
    const watched = await watching;
    expect(watched.status).toBe(200);
    expect(watched.events.map((e) => [e.type, e.object.metadata.name])).toEqual([['MODIFIED', 'named-one']]);
    // another name, no selector, or a selector that is not an exact name match: the whole collection
    const other = await sa.raw('GET', `${ns}?fieldSelector=metadata.name%3Dnamed-two`);
    expect(other.status).toBe(403);
    expect(messageOf(other)).toBe(
      'configmaps "named-two" is forbidden: User "system:serviceaccount:kube-public:one-name" cannot list resource "configmaps" in API group "" in the namespace "kube-public"',
    );
    expect((await sa.raw('GET', ns)).status).toBe(403);
    expect((await sa.raw('GET', `${ns}?fieldSelector=metadata.name!%3Dnamed-one`)).status).toBe(403);
    expect((await sa.raw('GET', `${ns}?watch=1`)).status).toBe(403);
  });
});

describe('optimistic concurrency', () => {
  const leases = '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases';
  it('a stale resourceVersion answers 409 Conflict; of two writers from the same version exactly one wins', async () => {
    const lease = await api.admin.call<Obj>('POST', leases, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'updater' },
      spec: { holderIdentity: 'a', leaseDurationSeconds: 15 },
    });
    const write = (holder: string) =>
      api.admin.raw('PUT', `${leases}/updater`, {
        ...lease,
        spec: { holderIdentity: holder, leaseDurationSeconds: 15 },
      });
    const results = await Promise.all(['b', 'c', 'd', 'e'].map(write));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    const lost = results.filter((r) => r.status === 409);
    expect(lost).toHaveLength(3);
    expect(reasonOf(lost[0]!)).toBe('Conflict');
    expect(messageOf(lost[0]!)).toBe(
      'Operation cannot be fulfilled on leases.coordination.k8s.io "updater": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it('a Lease cannot be updated without a resourceVersion', async () => {
    const lease = await api.admin.get<Obj>(`${leases}/updater`);
    const { resourceVersion: _, ...meta } = lease.metadata;
    const r = await api.admin.raw('PUT', `${leases}/updater`, { ...lease, metadata: meta });
    expect(r.status).toBe(422);
    expect(messageOf(r)).toBe(
      'leases.coordination.k8s.io "updater" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
    );
  });
});

describe('validation of the kinds a controller writes', () => {
  it('an EndpointSlice needs a supported addressType and valid addresses; addressType is immutable', async () => {
    const slices = '/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices';
    const bad = await api.admin.raw('POST', slices, {
      ...slice('bad'),
      addressType: 'IP',
      endpoints: [{ addresses: [] }],
    });
    expect(bad.status).toBe(422);
    expect(reasonOf(bad)).toBe('Invalid');
    expect(messageOf(bad)).toBe(
      'EndpointSlice.discovery.k8s.io "bad" is invalid: [addressType: Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6", endpoints[0].addresses: Required value: must contain at least 1 address]',
    );
    const ip = await api.admin.raw('POST', slices, {
      ...slice('bad'),
      endpoints: [{ addresses: ['10.0.0.300'] }],
    });
    expect(messageOf(ip)).toBe(
      'EndpointSlice.discovery.k8s.io "bad" is invalid: endpoints[0].addresses[0]: Invalid value: "10.0.0.300": must be a valid IPv4 address',
    );
    const good = await api.admin.call<Obj>('POST', slices, slice('good'));
    const changed = await api.admin.raw('PUT', `${slices}/good`, {
      ...good,
      addressType: 'FQDN',
      endpoints: [{ addresses: ['a.example'] }],
    });
    expect(messageOf(changed)).toBe(
      'EndpointSlice.discovery.k8s.io "good" is invalid: addressType: Invalid value: "FQDN": field is immutable',
    );
  });

  it('a Lease duration must be positive', async () => {
    const r = await api.admin.raw('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'zero' },
      spec: { holderIdentity: 'a', leaseDurationSeconds: 0 },
    });
    expect(r.status).toBe(422);
    expect(messageOf(r)).toBe(
      'Lease.coordination.k8s.io "zero" is invalid: spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0',
    );
  });
});

describe('Services and the default/kubernetes endpoints', () => {
  const svcs = '/api/v1/namespaces/default/services';
  const svc = (name: string, clusterIP?: string) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { ...(clusterIP ? { clusterIP } : {}), ports: [{ port: 443 }] },
  });
  it('a fixed clusterIP must lie in --service-cluster-ip-range and be free; none given allocates one', async () => {
    const out = await api.admin.raw('POST', svcs, svc('outside', '192.168.0.10'));
    expect(out.status).toBe(422);
    expect(reasonOf(out)).toBe('Invalid');
    expect(messageOf(out)).toBe(
      'Service "outside" is invalid: spec.clusterIPs: Invalid value: []string{"192.168.0.10"}: failed to allocate IP 192.168.0.10: provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12',
    );
    const first = await api.admin.raw('POST', svcs, svc('first', '10.96.0.10'));
    expect(first.status, first.text).toBe(201);
    const taken = await api.admin.raw('POST', svcs, svc('second', '10.96.0.10'));
    expect(taken.status).toBe(422);
    expect(messageOf(taken)).toBe(
      'Service "second" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.10"}: failed to allocate IP 10.96.0.10: provided IP is already allocated',
    );
    const kubernetes = await api.admin.raw('POST', svcs, svc('third', '10.96.0.1'));
    expect(messageOf(kubernetes)).toContain('provided IP is already allocated');
    const auto = await api.admin.call<{ spec: { clusterIP: string; clusterIPs: string[] } }>(
      'POST',
      svcs,
      svc('auto'),
    );
    const n = auto.spec.clusterIP.split('.').map(Number);
    expect(n[0]).toBe(10);
    expect(n[1]! >= 96 && n[1]! <= 111).toBe(true);
    expect(auto.spec.clusterIPs).toEqual([auto.spec.clusterIP]);
    await api.admin.call('DELETE', `${svcs}/first`);
    expect((await api.admin.raw('POST', svcs, svc('second', '10.96.0.10'))).status).toBe(201);
  });

  it('default/kubernetes Endpoints and EndpointSlice are stored objects listing the live apiserver', async () => {
    const port = Number(new URL(api.server).port);
    const eps = await api.admin.get<
      Obj & { subsets: { addresses: { ip: string }[]; ports: { port: number }[] }[] }
    >('/api/v1/namespaces/default/endpoints/kubernetes');
    expect(eps.subsets[0]!.addresses).toEqual([{ ip: '127.0.0.1' }]);
    expect(eps.subsets[0]!.ports[0]!.port).toBe(port);
    expect(eps.metadata.uid).toBeTruthy();
    const es = await api.admin.get<Obj & { endpoints: { addresses: string[] }[] }>(
      '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes',
    );
    expect(es.endpoints.map((e) => e.addresses)).toEqual([['127.0.0.1']]);
    const watched = await watchEvents(
      api.admin,
      '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?watch=1',
      1,
    );
    expect(watched.events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'kubernetes' } } });
  });
});

describe('NodeRestriction and the Node authorizer', () => {
  const node = (name: string, labels: Record<string, string> = {}) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
  });
  it('a kubelet registers only itself, without reserved labels, and may not relabel itself', async () => {
    const n1 = await api.as('system:node:n1', ['system:nodes']);
    const reserved = await n1.raw(
      'POST',
      '/api/v1/nodes',
      node('n1', { 'node-role.kubernetes.io/control-plane': '' }),
    );
    expect(reserved.status).toBe(403);
    expect(messageOf(reserved)).toBe(
      'nodes "n1" is forbidden: node "n1" is not allowed to set the following labels: node-role.kubernetes.io/control-plane',
    );
    const restricted = await n1.raw(
      'POST',
      '/api/v1/nodes',
      node('n1', { 'node-restriction.kubernetes.io/pool': 'a' }),
    );
    expect(messageOf(restricted)).toContain(
      'not allowed to set the following labels: node-restriction.kubernetes.io/pool',
    );
    expect(
      (
        await n1.raw(
          'POST',
          '/api/v1/nodes',
          node('n1', { 'node.kubernetes.io/exclude-from-external-load-balancers': '' }),
        )
      ).status,
    ).toBe(201);
    const other = await n1.raw('POST', '/api/v1/nodes', node('n2'));
    expect(messageOf(other)).toBe('nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"');
    const relabel = await n1.raw(
      'PATCH',
      '/api/v1/nodes/n1',
      { metadata: { labels: { 'node-role.kubernetes.io/worker': '' } } },
      'application/merge-patch+json',
    );
    expect(relabel.status).toBe(403);
    expect(messageOf(relabel)).toBe(
      'nodes "n1" is forbidden: is not allowed to modify labels: node-role.kubernetes.io/worker',
    );
    expect(
      (
        await n1.raw(
          'PATCH',
          '/api/v1/nodes/n1/status',
          { status: { phase: 'Running' } },
          'application/merge-patch+json',
        )
      ).status,
    ).toBe(200);
    // an admin labels the node, as kubeadm's mark-control-plane does
    expect(
      (
        await api.admin.raw(
          'PATCH',
          '/api/v1/nodes/n1',
          { metadata: { labels: { 'node-role.kubernetes.io/control-plane': '' } } },
          'application/merge-patch+json',
        )
      ).status,
    ).toBe(200);
  });

  it('a kubelet creates only mirror pods bound to itself and updates only their status', async () => {
    const n1 = await api.as('system:node:n1', ['system:nodes']);
    const uid = (await api.admin.get<Obj>('/api/v1/nodes/n1')).metadata.uid;
    const mirror = (nodeName: string, extra: Record<string, unknown> = {}) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `etcd-${nodeName}`,
        annotations: { 'kubernetes.io/config.mirror': 'abc' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid, controller: true }],
      },
      spec: { nodeName, containers: [{ name: 'etcd', image: 'registry.k8s.io/etcd:3.5.24-0' }], ...extra },
    });
    const pods = '/api/v1/namespaces/kube-system/pods';
    const elsewhere = await n1.raw('POST', pods, mirror('n2'));
    expect(messageOf(elsewhere)).toBe(
      'pods "etcd-n2" is forbidden: node "n1" can only create pods with spec.nodeName set to itself',
    );
    const plain = await n1.raw('POST', pods, { ...mirror('n1'), metadata: { name: 'plain' } });
    expect(messageOf(plain)).toBe(
      'pods "plain" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods',
    );
    const secretRef = await n1.raw(
      'POST',
      pods,
      mirror('n1', { volumes: [{ name: 's', secret: { secretName: 'x' } }] }),
    );
    expect(messageOf(secretRef)).toBe(
      'pods "etcd-n1" is forbidden: node "n1" can not create pods that reference secrets',
    );
    const created = await n1.raw('POST', pods, mirror('n1'));
    expect(created.status, created.text).toBe(201);
    const put = await n1.raw('PUT', `${pods}/etcd-n1`, created.body);
    expect(put.status).toBe(403);
    expect(messageOf(put)).toBe(
      'pods "etcd-n1" is forbidden: User "system:node:n1" cannot update resource "pods" in API group "" in the namespace "kube-system"',
    );
    const status = await n1.raw('PUT', `${pods}/etcd-n1/status`, {
      ...(created.body as Obj),
      status: { phase: 'Running' },
    });
    expect(status.status, status.text).toBe(200);
  });

  it('node leases, secrets and tokens only through the node itself', async () => {
    const n1 = await api.as('system:node:n1', ['system:nodes']);
    const lease = (name: string) => ({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name },
      spec: { holderIdentity: name },
    });
    expect(
      (await n1.raw('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', lease('n1')))
        .status,
    ).toBe(201);
    const theirs = await n1.raw(
      'POST',
      '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases',
      lease('n2'),
    );
    expect(messageOf(theirs)).toBe(
      'leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the requesting node',
    );
    const system = await n1.raw(
      'GET',
      '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager',
    );
    expect(messageOf(system)).toBe(
      'leases.coordination.k8s.io "kube-controller-manager" is forbidden: User "system:node:n1" cannot get resource "leases" in API group "coordination.k8s.io" in the namespace "kube-system": can only access leases in the kube-node-lease system namespace',
    );
    const secret = await n1.raw('GET', '/api/v1/namespaces/kube-system/secrets/bootstrap-token-abcdef');
    expect(messageOf(secret)).toBe(
      `secrets "bootstrap-token-abcdef" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace "kube-system": no relationship found between node 'n1' and this object`,
    );
  });

  it('a kubelet mints a token only bound to a pod on its node; the token dies with the pod', async () => {
    await serviceAccount('default', 'runner');
    const pods = '/api/v1/namespaces/default/pods';
    const pod = (name: string, nodeName: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        nodeName,
        serviceAccountName: 'runner',
        containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }],
      },
    });
    const here = await api.admin.call<Obj>('POST', pods, pod('here', 'n1'));
    const there = await api.admin.call<Obj>('POST', pods, pod('there', 'n2'));
    const n1 = await api.as('system:node:n1', ['system:nodes']);
    const request = (boundObjectRef?: Record<string, string>) =>
      n1.raw('POST', '/api/v1/namespaces/default/serviceaccounts/runner/token', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          audiences: ['https://kubernetes.default.svc.cluster.local'],
          ...(boundObjectRef ? { boundObjectRef } : {}),
        },
      });
    const unbound = await request();
    expect(messageOf(unbound)).toBe(
      'serviceaccounts "runner" is forbidden: node requested token not bound to a pod',
    );
    const podRef = (p: Obj) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      name: p.metadata.name,
      uid: String(p.metadata.uid),
    });
    const foreign = await request(podRef(there));
    expect(messageOf(foreign)).toBe(
      'serviceaccounts "runner" is forbidden: node requested token bound to a pod scheduled on a different node',
    );
    const bound = await request(podRef(here));
    expect(bound.status, bound.text).toBe(201);
    const jwt = (bound.body as { status: { token: string } }).status.token;
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString());
    expect(claims['kubernetes.io'].pod).toEqual({ name: 'here', uid: here.metadata.uid });
    expect((await api.withToken(jwt).raw('GET', '/api')).status).toBe(200);
    await api.admin.call('DELETE', `${pods}/here`);
    expect((await api.withToken(jwt).raw('GET', '/api')).status).toBe(401);
    const n3 = await api.as('system:node:n3', ['system:nodes']);
    const unrelated = await n3.raw('POST', '/api/v1/namespaces/default/serviceaccounts/runner/token', {
      spec: {
        boundObjectRef: podRef(there),
      },
    });
    expect(messageOf(unrelated)).toBe(
      `serviceaccounts "runner" is forbidden: User "system:node:n3" cannot create resource "serviceaccounts/token" in API group "" in the namespace "default": no relationship found between node 'n3' and this object`,
    );
  });
});

describe('--anonymous-auth=false', () => {
  it('refuses requests without credentials with 401', async () => {
    const strict = await startApiserver(['--anonymous-auth=false']);
    try {
      const anonymous = await strict.withToken('').raw('GET', '/readyz');
      expect(anonymous.status).toBe(401);
      expect((await api.withToken('').raw('GET', '/readyz')).status).toBe(200);
    } finally {
      await strict.stop();
    }
  }, 90_000);
});

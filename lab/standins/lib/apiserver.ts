/**
 * The kube-apiserver stand-in: real TLS with the manifest's certificates, real client-certificate
 * and bootstrap-token authentication, a coarse version of the default RBAC, and storage in the real
 * etcd given by --etcd-servers with the --etcd-* client certificate. It stores objects and acts on
 * none of them, except what the control plane itself would do that kubeadm depends on: signing
 * kubelet client CSRs (the controller-manager's job, folded in here) and keeping the
 * default/kubernetes endpoints equal to the set of live apiservers.
 */
import { randomUUID, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { parse as parseYaml } from 'yaml';
import type { CallLog } from './calllog.js';
import { Etcd } from './etcd.js';
import { type FlagTable, flag, parseFlags, str } from './flags.js';
import { RESOURCES, type ResourceInfo, resolve } from './resources.js';
import type { Version } from './versions.js';

const S = flag.str;
const B = flag.bool;
export const APISERVER_FLAGS: FlagTable = {
  'advertise-address': S(),
  'allow-privileged': B(),
  'anonymous-auth': B(),
  'audit-log-maxage': S(),
  'audit-log-maxbackup': S(),
  'audit-log-maxsize': S(),
  'audit-log-path': S(),
  'audit-policy-file': S(),
  'authorization-mode': flag.list(),
  'authorization-config': S(),
  'bind-address': S(),
  'client-ca-file': S(),
  'default-not-ready-toleration-seconds': S(),
  'default-unreachable-toleration-seconds': S(),
  'disable-admission-plugins': flag.list(),
  'enable-admission-plugins': flag.list(),
  'enable-aggregator-routing': B(),
  'enable-bootstrap-token-auth': B(),
  'encryption-provider-config': S(),
  'endpoint-reconciler-type': S(),
  'etcd-cafile': S(),
  'etcd-certfile': S(),
  'etcd-keyfile': S(),
  'etcd-prefix': S(),
  'etcd-servers': flag.list(),
  'event-ttl': flag.dur(),
  'feature-gates': flag.map(),
  'kubelet-certificate-authority': S(),
  'kubelet-client-certificate': S(),
  'kubelet-client-key': S(),
  'kubelet-preferred-address-types': flag.list(),
  'max-mutating-requests-inflight': S(),
  'max-requests-inflight': S(),
  profiling: B(),
  'proxy-client-cert-file': S(),
  'proxy-client-key-file': S(),
  'requestheader-allowed-names': flag.list(),
  'requestheader-client-ca-file': S(),
  'requestheader-extra-headers-prefix': flag.list(),
  'requestheader-group-headers': flag.list(),
  'requestheader-username-headers': flag.list(),
  'runtime-config': flag.map(),
  'secure-port': flag.int(),
  'service-account-issuer': flag.list(),
  'service-account-key-file': flag.list(),
  'service-account-signing-key-file': S(),
  'service-cluster-ip-range': S(),
  'service-node-port-range': S(),
  'tls-cert-file': S(),
  'tls-cipher-suites': flag.list(),
  'tls-min-version': S(),
  'tls-private-key-file': S(),
  v: { kind: 'string', short: 'v' },
};

interface User {
  name: string;
  groups: string[];
}

interface Ctx {
  etcd: Etcd;
  version: Version;
  port: number;
  serviceCidr: string;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(
    JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      code,
    }),
  );
}

function fail(message: string): never {
  process.stderr.write(`E ${new Date().toISOString()} ${message}\n`);
  process.exit(1);
}

function readOrDie(flagName: string, path: string | undefined): string {
  if (!path) fail(`--${flagName} is required`);
  try {
    return readFileSync(path, 'utf8');
  } catch {
    fail(`open ${path}: no such file or directory`);
  }
}

const TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

async function authenticate(req: IncomingMessage, ctx: Ctx): Promise<User | 'unauthorized'> {
  const sock = req.socket as TLSSocket;
  const peer = sock.getPeerCertificate();
  if (peer && Object.keys(peer).length > 0) {
    if (!sock.authorized) return 'unauthorized';
    const subject = peer.subject as unknown as Record<string, string | string[]>;
    const o = subject.O;
    return {
      name: String(subject.CN),
      groups: [...(Array.isArray(o) ? o : o ? [o] : []), 'system:authenticated'],
    };
  }
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) {
    const m = TOKEN.exec(auth.slice(7).trim());
    if (!m) return 'unauthorized';
    const kv = await ctx.etcd.get(`/registry/secrets/kube-system/bootstrap-token-${m[1]}`);
    if (!kv) return 'unauthorized';
    const secret = JSON.parse(kv.value) as { data?: Record<string, string> };
    const d = Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
    );
    if (d['token-secret'] !== m[2] || d['usage-bootstrap-authentication'] !== 'true') return 'unauthorized';
    if (d.expiration && Date.parse(d.expiration) < Date.now()) return 'unauthorized';
    const extra = (d['auth-extra-groups'] ?? '').split(',').filter(Boolean);
    return {
      name: `system:bootstrap:${m[1]}`,
      groups: ['system:bootstrappers', ...extra, 'system:authenticated'],
    };
  }
  return { name: 'system:anonymous', groups: ['system:unauthenticated'] };
}

interface Target {
  info: ResourceInfo;
  namespace?: string;
  name?: string;
  sub?: string;
}

/** A coarse rendition of the default RBAC plus the bindings kubeadm creates. */
function authorize(u: User, verb: string, t: Target | undefined, path: string): boolean {
  if (u.groups.includes('system:masters') || u.groups.includes('kubeadm:cluster-admins')) return true;
  if (['system:kube-controller-manager', 'system:kube-scheduler'].includes(u.name)) return true;
  if (['/healthz', '/readyz', '/livez', '/version'].some((p) => path === p || path.startsWith(`${p}/`)))
    return true;
  if (!t) return u.groups.includes('system:authenticated') && discovery(path) !== undefined;
  const { info, namespace, name } = t;
  const read = verb === 'get' || verb === 'list';
  if (
    info.resource === 'configmaps' &&
    namespace === 'kube-public' &&
    name === 'cluster-info' &&
    verb === 'get'
  )
    return true;
  if (u.groups.includes('system:bootstrappers')) {
    if (info.resource === 'certificatesigningrequests' && (verb === 'create' || verb === 'get')) return true;
    if (info.resource === 'nodes' && verb === 'get') return true;
    if (info.resource === 'configmaps' && namespace === 'kube-system' && verb === 'get') {
      return ['kubeadm-config', 'kubelet-config', 'kube-proxy'].includes(name ?? '');
    }
    if (
      info.resource === 'secrets' &&
      namespace === 'kube-system' &&
      name === 'kubeadm-certs' &&
      verb === 'get'
    ) {
      return u.groups.includes('system:bootstrappers:kubeadm:default-node-token');
    }
    return false;
  }
  if (u.groups.includes('system:nodes')) {
    const node = u.name.replace(/^system:node:/, '');
    if (info.resource === 'nodes') return read || name === node || verb === 'create';
    if (info.resource === 'pods') return true;
    if (info.resource === 'leases' && namespace === 'kube-node-lease') return true;
    if (info.resource === 'certificatesigningrequests') return true;
    // daemonsets: the kubelet stand-in looks for a CNI DaemonSet to decide NetworkReady (see README)
    if (
      ['services', 'endpoints', 'endpointslices', 'configmaps', 'namespaces', 'daemonsets'].includes(
        info.resource,
      )
    ) {
      return read;
    }
    if (info.resource === 'events') return true;
    return false;
  }
  return false;
}

/** The discovery documents clients read to map kinds to resources (client-go, client-node). */
function discovery(path: string): Record<string, unknown> | undefined {
  const gv = (r: ResourceInfo) => (r.group ? `${r.group}/${r.version}` : r.version);
  const resources = (groupVersion: string) => ({
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion,
    resources: RESOURCES.filter((r) => gv(r) === groupVersion).map((r) => ({
      name: r.resource,
      singularName: r.kind.toLowerCase(),
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update'],
    })),
  });
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'] };
  if (path === '/api/v1') return resources('v1');
  const groups = [...new Set(RESOURCES.filter((r) => r.group).map((r) => r.group))];
  if (path === '/apis') {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: groups.map((name) => {
        const version = RESOURCES.find((r) => r.group === name)!.version;
        const v = { groupVersion: `${name}/${version}`, version };
        return { name, versions: [v], preferredVersion: v };
      }),
    };
  }
  const m = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
  if (m && groups.includes(m[1]!)) return resources(`${m[1]}/${m[2]}`);
  return undefined;
}

function forbidden(u: User, verb: string, t: Target | undefined, path: string): string {
  if (!t) return `forbidden: User "${u.name}" cannot ${verb} path "${path}"`;
  const g = t.info.group;
  const scope = t.namespace ? `in the namespace "${t.namespace}"` : 'at the cluster scope';
  const what = t.name ? `${t.info.resource} "${t.name}"` : t.info.resource;
  return `${what} is forbidden: User "${u.name}" cannot ${verb} resource "${t.info.resource}${t.sub ? `/${t.sub}` : ''}" in API group "${g}" ${scope}`;
}

function parseTarget(path: string): Target | undefined {
  const parts = path.split('/').filter(Boolean);
  let group = '';
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, sub] = rest;
  if (!resource) return undefined;
  const info = resolve(group, version, resource, namespace !== undefined);
  if (info.namespaced && !namespace && name) return undefined;
  const t: Target = { info };
  if (namespace) t.namespace = namespace;
  if (name) t.name = name;
  if (sub) t.sub = sub;
  return t;
}

function keyOf(t: Target, name = t.name): string {
  return `/registry/${t.info.prefix}/${t.info.namespaced ? `${t.namespace}/` : ''}${name ?? ''}`;
}

type Obj = { apiVersion?: string; kind?: string; metadata: Record<string, unknown>; [k: string]: unknown };

function deepMerge(base: unknown, patch: unknown): unknown {
  if (patch === null) return undefined;
  if (
    typeof patch !== 'object' ||
    Array.isArray(patch) ||
    typeof base !== 'object' ||
    base === null ||
    Array.isArray(base)
  )
    return patch;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    const merged = deepMerge(out[k], v);
    if (merged === undefined) delete out[k];
    else out[k] = merged;
  }
  return out;
}

function labelMatch(obj: Obj, selector: string | null): boolean {
  if (!selector) return true;
  const labels = (obj.metadata.labels ?? {}) as Record<string, string>;
  return selector.split(',').every((term) => {
    const t = term.trim();
    if (!t) return true;
    const neq = /^([^!=]+)!=(.*)$/.exec(t);
    if (neq) return labels[neq[1]!] !== neq[2];
    const eq = /^([^=]+)==?(.*)$/.exec(t);
    if (eq) return labels[eq[1]!] === eq[2];
    if (t.startsWith('!')) return !(t.slice(1) in labels);
    return t in labels;
  });
}

function fieldMatch(obj: Obj, selector: string | null): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const m = /^([^!=]+)(!=|==|=)(.*)$/.exec(term.trim());
    if (!m) return true;
    let cur: unknown = obj;
    for (const p of m[1]!.split('.'))
      cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
    const equal = String(cur ?? '') === m[3];
    return m[2] === '!=' ? !equal : equal;
  });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text: string, contentType: string): unknown {
  if (!text) throw new HttpError(400, 'BadRequest', 'the body of the request was empty');
  try {
    return contentType.includes('yaml') ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new HttpError(
      400,
      'BadRequest',
      `the body of the request was in an unknown format: ${(e as Error).message}`,
    );
  }
}

function applyJsonPatch(doc: unknown, ops: { op: string; path: string; value?: unknown }[]): unknown {
  const root = structuredClone(doc) as Record<string, unknown>;
  for (const op of ops) {
    const parts = op.path
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop()!;
    let cur: Record<string, unknown> = root;
    for (const p of parts) {
      if (cur[p] === undefined && (op.op === 'add' || op.op === 'replace')) cur[p] = {};
      cur = cur[p] as Record<string, unknown>;
      if (!cur) throw new HttpError(422, 'Invalid', `jsonpatch: path ${op.path} not found`);
    }
    if (op.op === 'remove') delete cur[last];
    else if (op.op === 'add' || op.op === 'replace') {
      if (Array.isArray(cur) && last === '-') (cur as unknown[]).push(op.value);
      else cur[last] = op.value;
    } else if (op.op !== 'test') throw new HttpError(422, 'Invalid', `jsonpatch: unsupported op ${op.op}`);
  }
  return root;
}

class Api {
  constructor(readonly ctx: Ctx) {}

  async load(key: string): Promise<Obj | undefined> {
    const kv = await this.ctx.etcd.get(key);
    if (!kv) return undefined;
    const o = JSON.parse(kv.value) as Obj;
    o.metadata.resourceVersion = kv.modRevision;
    return o;
  }

  async store(key: string, o: Obj): Promise<Obj> {
    delete o.metadata.resourceVersion;
    const rev = await this.ctx.etcd.put(key, JSON.stringify(o));
    o.metadata.resourceVersion = rev;
    return o;
  }

  async list(t: Target): Promise<Obj[]> {
    const prefix = `/registry/${t.info.prefix}/${t.info.namespaced && t.namespace ? `${t.namespace}/` : ''}`;
    return (await this.ctx.etcd.list(prefix)).map((kv) => {
      const o = JSON.parse(kv.value) as Obj;
      o.metadata.resourceVersion = kv.modRevision;
      return o;
    });
  }

  prepare(t: Target, body: unknown, name?: string): Obj {
    if (!body || typeof body !== 'object') throw new HttpError(400, 'BadRequest', 'object expected');
    const o = body as Obj;
    o.metadata = (o.metadata ?? {}) as Record<string, unknown>;
    if (!o.metadata.name && typeof o.metadata.generateName === 'string') {
      o.metadata.name = `${o.metadata.generateName}${randomUUID().slice(0, 5)}`;
    }
    if (!o.metadata.name)
      throw new HttpError(
        422,
        'Invalid',
        `${t.info.kind || t.info.resource} "" is invalid: metadata.name: Required value: name or generateName is required`,
      );
    if (name && o.metadata.name !== name) {
      throw new HttpError(
        400,
        'BadRequest',
        `the name of the object (${String(o.metadata.name)}) does not match the name on the URL (${name})`,
      );
    }
    if (t.info.namespaced) {
      if (o.metadata.namespace && o.metadata.namespace !== t.namespace) {
        throw new HttpError(
          400,
          'BadRequest',
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      o.metadata.namespace = t.namespace;
    }
    if (t.info.kind) {
      o.kind = t.info.kind;
      o.apiVersion = t.info.group ? `${t.info.group}/${t.info.version}` : t.info.version;
    }
    return o;
  }

  async create(t: Target, body: unknown): Promise<Obj> {
    const o = this.prepare(t, body);
    const key = keyOf(t, String(o.metadata.name));
    if (await this.ctx.etcd.get(key)) {
      throw new HttpError(
        409,
        'AlreadyExists',
        `${t.info.resource} "${String(o.metadata.name)}" already exists`,
      );
    }
    if (
      t.info.namespaced &&
      t.namespace &&
      !['default', 'kube-system', 'kube-public', 'kube-node-lease'].includes(t.namespace)
    ) {
      if (!(await this.ctx.etcd.get(`/registry/namespaces/${t.namespace}`))) {
        throw new HttpError(404, 'NotFound', `namespaces "${t.namespace}" not found`);
      }
    }
    o.metadata.uid = randomUUID();
    o.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    return this.store(key, o);
  }

  async endpointsObject(kind: 'Endpoints' | 'EndpointSlice'): Promise<Obj> {
    const ips = await liveApiservers(this.ctx.etcd);
    if (kind === 'Endpoints') {
      return {
        apiVersion: 'v1',
        kind,
        metadata: {
          name: 'kubernetes',
          namespace: 'default',
          labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' },
        },
        subsets: ips.length
          ? [
              {
                addresses: ips.map((ip) => ({ ip })),
                ports: [{ name: 'https', port: this.ctx.port, protocol: 'TCP' }],
              },
            ]
          : [],
      };
    }
    return {
      apiVersion: 'discovery.k8s.io/v1',
      kind,
      metadata: {
        name: 'kubernetes',
        namespace: 'default',
        labels: { 'kubernetes.io/service-name': 'kubernetes' },
      },
      addressType: 'IPv4',
      endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
      ports: [{ name: 'https', port: this.ctx.port, protocol: 'TCP' }],
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://x');
    const path = url.pathname.replace(/\/$/, '') || '/';
    const user = await authenticate(req, this.ctx);
    if (user === 'unauthorized') return status(res, 401, 'Unauthorized', 'Unauthorized');
    const method = req.method ?? 'GET';
    const t = parseTarget(path);
    const verb =
      method === 'GET'
        ? t && !t.name
          ? 'list'
          : 'get'
        : (({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[
            method
          ] ?? method.toLowerCase());
    if (!authorize(user, verb, t, path)) return status(res, 403, 'Forbidden', forbidden(user, verb, t, path));

    if (['/healthz', '/livez', '/readyz'].includes(path)) {
      const ok = await this.ctx.etcd.health(this.ctx.etcd.endpoints[0]!);
      res.writeHead(ok ? 200 : 500, { 'Content-Type': 'text/plain' });
      res.end(ok ? 'ok' : '[-]etcd failed: reason withheld\nhealthz check failed');
      return;
    }
    if (path === '/version') {
      const v = this.ctx.version;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          major: String(v.major),
          minor: String(v.minor),
          gitVersion: v.text,
          gitCommit: 'standin',
          gitTreeState: 'clean',
          buildDate: '2026-01-01T00:00:00Z',
          goVersion: 'standin',
          compiler: 'gc',
          platform: 'linux/amd64',
        }),
      );
      return;
    }
    const found = discovery(path);
    if (found) return json(res, 200, found);
    if (!t) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    const body = method === 'GET' || method === 'DELETE' ? '' : await readBody(req);
    const ct = String(req.headers['content-type'] ?? 'application/json');
    const isKubernetes = t.info.resource === 'endpoints' || t.info.resource === 'endpointslices';
    if (isKubernetes && t.namespace === 'default' && t.name === 'kubernetes' && method === 'GET') {
      return json(
        res,
        200,
        await this.endpointsObject(t.info.resource === 'endpoints' ? 'Endpoints' : 'EndpointSlice'),
      );
    }
    if (method === 'GET' && !t.name) {
      let items = await this.list(t);
      items = items.filter(
        (o) =>
          labelMatch(o, url.searchParams.get('labelSelector')) &&
          fieldMatch(o, url.searchParams.get('fieldSelector')),
      );
      if (isKubernetes && (!t.namespace || t.namespace === 'default')) {
        items = items.filter((o) => o.metadata.name !== 'kubernetes' || o.metadata.namespace !== 'default');
        items.push(
          await this.endpointsObject(t.info.resource === 'endpoints' ? 'Endpoints' : 'EndpointSlice'),
        );
      }
      const apiVersion = t.info.group ? `${t.info.group}/${t.info.version}` : t.info.version;
      return json(res, 200, {
        apiVersion,
        kind: `${t.info.kind || 'Object'}List`,
        metadata: { resourceVersion: '0' },
        items,
      });
    }
    const key = keyOf(t);
    if (method === 'GET') {
      const o = await this.load(key);
      if (!o) return status(res, 404, 'NotFound', `${t.info.resource} "${t.name}" not found`);
      return json(res, 200, o);
    }
    if (method === 'POST' && t.sub === 'eviction' && t.info.resource === 'pods') {
      if (!(await this.ctx.etcd.delete(key)))
        return status(res, 404, 'NotFound', `pods "${t.name}" not found`);
      return json(res, 201, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
    }
    if (method === 'POST') {
      if (t.name)
        return status(
          res,
          405,
          'MethodNotAllowed',
          'the server does not allow this method on the requested resource',
        );
      return json(res, 201, await this.create(t, parseBody(body, ct)));
    }
    if (method === 'DELETE') {
      const o = await this.load(key);
      if (!o) return status(res, 404, 'NotFound', `${t.info.resource} "${t.name}" not found`);
      await this.ctx.etcd.delete(key);
      if (t.info.resource === 'nodes') {
        for (const p of await this.list({ info: resolve('', 'v1', 'pods', true) })) {
          if ((p.spec as { nodeName?: string } | undefined)?.nodeName === t.name) {
            await this.ctx.etcd.delete(
              `/registry/pods/${String(p.metadata.namespace)}/${String(p.metadata.name)}`,
            );
          }
        }
      }
      return json(res, 200, o);
    }
    const existing = await this.load(key);
    if (method === 'PUT') {
      if (!existing) return status(res, 404, 'NotFound', `${t.info.resource} "${t.name}" not found`);
      const o = this.prepare(t, parseBody(body, ct), t.name);
      const rv = o.metadata.resourceVersion;
      if (rv && rv !== existing.metadata.resourceVersion) {
        return status(
          res,
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${t.info.resource} "${t.name}": the object has been modified; please apply your changes to the latest version and try again`,
        );
      }
      const merged =
        t.sub === 'status'
          ? { ...existing, status: o.status }
          : { ...o, status: o.status ?? existing.status };
      merged.metadata = {
        ...o.metadata,
        uid: existing.metadata.uid,
        creationTimestamp: existing.metadata.creationTimestamp,
      };
      return json(res, 200, await this.store(key, merged as Obj));
    }
    if (method === 'PATCH') {
      if (ct.startsWith('application/apply-patch')) {
        if (!url.searchParams.get('fieldManager')) {
          return status(
            res,
            422,
            'Invalid',
            'PATCH request must specify fieldManager: fieldManager is required for apply requests',
          );
        }
        const o = this.prepare(t, parseBody(body, ct), t.name);
        if (!existing) return json(res, 201, await this.create(t, o));
        const merged = deepMerge(existing, o) as Obj;
        return json(res, 200, await this.store(key, merged));
      }
      if (!existing) return status(res, 404, 'NotFound', `${t.info.resource} "${t.name}" not found`);
      const patch = parseBody(body, ct);
      const merged = (
        ct.startsWith('application/json-patch')
          ? applyJsonPatch(existing, patch as never)
          : deepMerge(existing, patch)
      ) as Obj;
      return json(res, 200, await this.store(key, merged));
    }
    return status(
      res,
      405,
      'MethodNotAllowed',
      'the server does not allow this method on the requested resource',
    );
  }
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

const LEASE_TTL_MS = 15_000;

/** Apiservers that renewed their master lease recently: what the lease endpoint reconciler publishes. */
export async function liveApiservers(etcd: Etcd): Promise<string[]> {
  const leases = await etcd.list('/registry/masterleases/');
  return leases
    .filter(
      (kv) => Date.now() - Number((JSON.parse(kv.value) as { renewed?: number }).renewed ?? 0) < LEASE_TTL_MS,
    )
    .map((kv) => kv.key.slice('/registry/masterleases/'.length))
    .sort();
}

export async function runApiserver(argv: string[], version: Version, log: CallLog): Promise<void> {
  process.title = 'kube-apiserver';
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(argv, APISERVER_FLAGS);
  } catch (e) {
    fail(`Error: ${(e as Error).message}`);
  }
  log.write('start', { argv });
  const tlsCert = readOrDie('tls-cert-file', str(parsed, 'tls-cert-file'));
  const tlsKey = readOrDie('tls-private-key-file', str(parsed, 'tls-private-key-file'));
  const clientCa = readOrDie('client-ca-file', str(parsed, 'client-ca-file'));
  const etcdCa = readOrDie('etcd-cafile', str(parsed, 'etcd-cafile'));
  const etcdCert = readOrDie('etcd-certfile', str(parsed, 'etcd-certfile'));
  const etcdKey = readOrDie('etcd-keyfile', str(parsed, 'etcd-keyfile'));
  for (const f of [
    'service-account-key-file',
    'service-account-signing-key-file',
    'requestheader-client-ca-file',
    'proxy-client-cert-file',
    'proxy-client-key-file',
    'kubelet-client-certificate',
    'kubelet-client-key',
  ] as const) {
    const v = parsed.values.get(f);
    for (const p of Array.isArray(v) ? v : typeof v === 'string' ? [v] : []) readOrDie(f, p);
  }
  if (!new X509Certificate(tlsCert).checkPrivateKey((await import('node:crypto')).createPrivateKey(tlsKey))) {
    fail('tls: private key does not match public key');
  }
  const servers = parsed.values.get('etcd-servers');
  if (!Array.isArray(servers) || servers.length === 0) fail('--etcd-servers must be specified');
  const advertise =
    str(parsed, 'advertise-address') ?? fail('--advertise-address is required by the stand-in');
  const port = Number(str(parsed, 'secure-port') ?? 6443);
  const etcd = new Etcd(servers, { ca: etcdCa, cert: etcdCert, key: etcdKey });
  // The real apiserver gives etcd a while before dying; the kubelet then restarts it with back-off.
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await etcd.get('/registry/health');
      break;
    } catch (e) {
      if (Date.now() > deadline)
        fail(`Error: context deadline exceeded: etcd at ${servers.join(',')}: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const ctx: Ctx = {
    etcd,
    version,
    port,
    serviceCidr: str(parsed, 'service-cluster-ip-range') ?? '10.96.0.0/12',
  };
  const api = new Api(ctx);
  await bootstrapObjects(api, ctx);
  const renew = async () => {
    try {
      await etcd.put(`/registry/masterleases/${advertise}`, JSON.stringify({ renewed: Date.now() }));
    } catch {
      // etcd hiccups show up as a stale lease, exactly what the real reconciler would publish.
    }
  };
  await renew();
  setInterval(renew, 5000).unref();
  const server = createServer(
    { cert: tlsCert, key: tlsKey, ca: clientCa, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      api.handle(req, res).catch((e: unknown) => {
        if (e instanceof HttpError) status(res, e.code, e.reason, e.message);
        else status(res, 500, 'InternalError', e instanceof Error ? e.message : String(e));
      });
    },
  );
  const bind = str(parsed, 'bind-address') ?? '0.0.0.0';
  server.on('error', (e) => fail(`failed to listen on ${bind}:${port}: ${e.message}`));
  server.listen(port, bind);
  const stop = async () => {
    try {
      await etcd.delete(`/registry/masterleases/${advertise}`);
    } catch {}
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

/** Objects every apiserver creates at start: the system namespaces and the kubernetes Service. */
async function bootstrapObjects(api: Api, ctx: Ctx): Promise<void> {
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    const key = `/registry/namespaces/${ns}`;
    if (!(await ctx.etcd.get(key))) {
      await api.store(key, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns, uid: randomUUID() },
        status: { phase: 'Active' },
      });
    }
  }
  const svcKey = '/registry/services/specs/default/kubernetes';
  if (!(await ctx.etcd.get(svcKey))) {
    const [net] = ctx.serviceCidr.split(',')[0]!.split('/');
    const o = net!.split('.').map(Number);
    o[3] = (o[3] ?? 0) + 1;
    await api.store(svcKey, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'kubernetes',
        namespace: 'default',
        uid: randomUUID(),
        labels: { component: 'apiserver', provider: 'kubernetes' },
      },
      spec: {
        clusterIP: o.join('.'),
        ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: ctx.port }],
        type: 'ClusterIP',
      },
    });
  }
}

/**
 * The kube-apiserver stand-in: real TLS with the manifest's certificates; client-certificate,
 * bootstrap-token and service-account-token authentication (authn.ts); the Node and RBAC
 * authorizers evaluated from stored objects (authz.ts); NodeRestriction admission; optimistic
 * concurrency on every write; watch (watch.ts); ClusterIP allocation (services.ts); storage in the
 * real etcd given by --etcd-servers with the --etcd-* client certificate. It stores objects and
 * acts on none of them, except what the apiserver itself does: the default/kubernetes endpoints
 * (reconciler.ts), the bootstrap RBAC policy, and etcd compaction.
 */
import { createPrivateKey, createPublicKey, type KeyObject, randomUUID, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import {
  applyJsonPatch,
  deepMerge,
  discovery,
  fieldMatch,
  keyOf,
  labelMatch,
  parseBody,
  parseTarget,
  readBody,
  selectorName,
} from './api-codec.js';
import {
  conflictError,
  forbiddenError,
  groupResource,
  HttpError,
  invalidError,
  type Obj,
  sendStatus,
  type Target,
  type User,
} from './api-types.js';
import { authenticate, type ServiceAccountAuth } from './authn.js';
import { AUTHORIZATION_MODES, authorize } from './authz.js';
import type { CallLog } from './calllog.js';
import { Etcd } from './etcd.js';
import { durationMs, type FlagTable, flag, list, parseFlags, str } from './flags.js';
import { type AdmissionRequest, admitNodeRestriction } from './node-authz.js';
import { type Attributes, forbiddenMessage, RbacAuthorizer } from './rbac.js';
import { bootstrapPolicy, RBAC_RESOURCES, rbacKey } from './rbac-defaults.js';
import { reconcileKubernetesEndpoints } from './reconciler.js';
import type { ResourceInfo } from './resources.js';
import { signServiceAccountToken } from './satoken.js';
import { ServiceRange } from './services.js';
import { validate } from './validation.js';
import type { Version } from './versions.js';
import { serveWatch } from './watch.js';

const S = flag.str;
const B = flag.bool;
export const APISERVER_FLAGS: FlagTable = {
  'advertise-address': S(),
  'api-audiences': flag.list(),
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
  'etcd-compaction-interval': flag.dur(),
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

interface Ctx {
  etcd: Etcd;
  version: Version;
  port: number;
  services: ServiceRange;
  authorizationModes: string[];
  rbac: RbacAuthorizer;
  nodeRestriction: boolean;
  sa: ServiceAccountAuth;
  signingKey?: string;
}

/** Leases and custom resources refuse an update without metadata.resourceVersion (AllowUnconditionalUpdate false). */
const conditionalOnly = (info: ResourceInfo) => info.resource === 'leases' || info.kind === '';

const MIN_TOKEN_SECONDS = 600;

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function attributesOf(
  user: User,
  method: string,
  path: string,
  t: Target | undefined,
  watch: boolean,
  fieldSelector: string | null,
): Attributes {
  const verb =
    method === 'GET'
      ? t && !t.name
        ? watch
          ? 'watch'
          : 'list'
        : 'get'
      : (({ POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[
          method
        ] ?? method.toLowerCase());
  return {
    user,
    verb,
    resourceRequest: t !== undefined,
    path,
    apiGroup: t?.info.group ?? '',
    resource: t?.info.resource ?? '',
    subresource: t?.sub ?? '',
    namespace: t?.namespace ?? '',
    name: t?.name || (t && method === 'GET' ? selectorName(fieldSelector) : ''),
  };
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

  /** Writes `o` if the stored object is still at `expected` ('0': absent); false when it moved on. */
  async write(key: string, o: Obj, expected: string): Promise<boolean> {
    delete o.metadata.resourceVersion;
    const rev = await this.ctx.etcd.putIf(key, JSON.stringify(o), expected);
    if (rev === undefined) return false;
    o.metadata.resourceVersion = rev;
    return true;
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

  admit(user: User, r: Omit<AdmissionRequest, 'getPod' | 'getNode'>): Promise<void> {
    if (!this.ctx.nodeRestriction) return Promise.resolve();
    return admitNodeRestriction(user, {
      ...r,
      getPod: (ns, name) => this.load(`/registry/pods/${ns}/${name}`),
      getNode: (name) => this.load(`/registry/minions/${name}`),
    });
  }

  async create(user: User, t: Target, body: unknown): Promise<Obj> {
    const o = this.prepare(t, body);
    const name = String(o.metadata.name);
    const key = keyOf(t, name);
    if (
      t.info.namespaced &&
      t.namespace &&
      !['default', 'kube-system', 'kube-public', 'kube-node-lease'].includes(t.namespace) &&
      !(await this.ctx.etcd.get(`/registry/namespaces/${t.namespace}`))
    ) {
      throw new HttpError(404, 'NotFound', `namespaces "${t.namespace}" not found`);
    }
    validate(t.info, o);
    await this.admit(user, { operation: 'create', info: t.info, ...ns(t), name, object: o });
    o.metadata.uid = randomUUID();
    o.metadata.creationTimestamp = now();
    const service = t.info.resource === 'services' && t.info.group === '';
    if (service) await this.ctx.services.allocate(this.ctx.etcd, o);
    if (!(await this.write(key, o, '0'))) {
      if (service) await this.ctx.services.release(this.ctx.etcd, o);
      throw new HttpError(409, 'AlreadyExists', `${groupResource(t.info)} "${name}" already exists`);
    }
    return o;
  }

  /** PUT: optimistic concurrency on metadata.resourceVersion, as the registry store's Update. */
  async update(user: User, t: Target, body: unknown): Promise<Obj> {
    const key = keyOf(t);
    const o = this.prepare(t, body, t.name);
    const existing = await this.load(key);
    if (!existing) {
      // leases allow create on update (AllowCreateOnUpdate)
      if (t.info.resource === 'leases' && !t.sub) return this.create(user, t, o);
      throw new HttpError(404, 'NotFound', `${groupResource(t.info)} "${t.name}" not found`);
    }
    const rv = o.metadata.resourceVersion as string | undefined;
    if (!rv && conditionalOnly(t.info)) {
      throw invalidError(
        groupResource(t.info),
        t.name!,
        'metadata.resourceVersion',
        'Invalid value: 0x0: must be specified for an update',
      );
    }
    if (rv && rv !== existing.metadata.resourceVersion) throw conflictError(t.info, t.name!);
    const merged = (
      t.sub === 'status' ? { ...existing, status: o.status } : { ...o, status: o.status ?? existing.status }
    ) as Obj;
    merged.metadata = {
      ...(t.sub === 'status' ? existing.metadata : o.metadata),
      uid: existing.metadata.uid,
      creationTimestamp: existing.metadata.creationTimestamp,
    };
    if (!(await this.replace(user, t, merged, existing))) throw conflictError(t.info, t.name!);
    return merged;
  }

  /** The tail of every update: Service IP rules, admission, and the write guarded by `existing`. */
  async replace(user: User, t: Target, merged: Obj, existing: Obj): Promise<boolean> {
    if (t.info.resource === 'services' && t.info.group === '') keepClusterIP(merged, existing);
    validate(t.info, merged, existing);
    await this.admit(user, {
      operation: 'update',
      info: t.info,
      ...ns(t),
      name: t.name!,
      ...(t.sub ? { sub: t.sub } : {}),
      object: merged,
      oldObject: existing,
    });
    return this.write(keyOf(t), merged, String(existing.metadata.resourceVersion));
  }

  /** PATCH and apply: retried on a concurrent write, as the registry's patcher does. */
  async patch(
    user: User,
    t: Target,
    ct: string,
    body: string,
    fieldManager: string | null,
  ): Promise<[number, Obj]> {
    const apply = ct.startsWith('application/apply-patch');
    if (apply && !fieldManager) {
      throw new HttpError(
        422,
        'Invalid',
        'PATCH request must specify fieldManager: fieldManager is required for apply requests',
      );
    }
    const key = keyOf(t);
    for (let attempt = 0; ; attempt++) {
      const existing = await this.load(key);
      if (apply && !existing)
        return [201, await this.create(user, t, this.prepare(t, parseBody(body, ct), t.name))];
      if (!existing) throw new HttpError(404, 'NotFound', `${groupResource(t.info)} "${t.name}" not found`);
      const patch = apply ? this.prepare(t, parseBody(body, ct), t.name) : parseBody(body, ct);
      const wanted = (patch as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
      if (wanted && wanted !== existing.metadata.resourceVersion) throw conflictError(t.info, t.name!);
      const merged = (
        ct.startsWith('application/json-patch')
          ? applyJsonPatch(existing, patch as never)
          : deepMerge(existing, patch)
      ) as Obj;
      if (await this.replace(user, t, merged, existing)) return [200, merged];
      if (attempt >= 4) throw conflictError(t.info, t.name!);
    }
  }

  async remove(user: User, t: Target): Promise<Obj> {
    const key = keyOf(t);
    const o = await this.load(key);
    if (!o) throw new HttpError(404, 'NotFound', `${groupResource(t.info)} "${t.name}" not found`);
    await this.admit(user, { operation: 'delete', info: t.info, ...ns(t), name: t.name!, oldObject: o });
    if (!(await this.ctx.etcd.deleteIf(key, String(o.metadata.resourceVersion))))
      throw conflictError(t.info, t.name!);
    if (t.info.resource === 'services' && t.info.group === '')
      await this.ctx.services.release(this.ctx.etcd, o);
    if (t.info.resource === 'nodes') {
      for (const kv of await this.ctx.etcd.list('/registry/pods/')) {
        if ((JSON.parse(kv.value) as { spec?: { nodeName?: string } }).spec?.nodeName === t.name) {
          await this.ctx.etcd.delete(kv.key);
        }
      }
    }
    return o;
  }

  /** POST serviceaccounts/NAME/token: the TokenRequest API (pkg/registry/core/serviceaccount/storage/token.go). */
  async tokenRequest(user: User, t: Target, body: unknown): Promise<Obj> {
    if (!this.ctx.signingKey)
      throw new HttpError(404, 'NotFound', 'the server could not find the requested resource');
    const account = await this.load(keyOf(t));
    if (!account) throw new HttpError(404, 'NotFound', `serviceaccounts "${t.name}" not found`);
    const tr = (body ?? {}) as {
      spec?: { audiences?: string[]; expirationSeconds?: number; boundObjectRef?: Record<string, string> };
    };
    const spec = tr.spec ?? {};
    const seconds = spec.expirationSeconds ?? 3600;
    if (seconds < MIN_TOKEN_SECONDS) {
      throw invalidError(
        'TokenRequest.authentication.k8s.io',
        t.name!,
        'spec.expirationSeconds',
        `Invalid value: ${seconds}: may not specify a duration less than 10 minutes`,
      );
    }
    await this.admit(user, {
      operation: 'create',
      info: t.info,
      ...ns(t),
      name: t.name!,
      sub: 'token',
      object: tr as Obj,
    });
    const ref = spec.boundObjectRef;
    let pod: { name: string; uid: string } | undefined;
    let node: { name: string; uid: string } | undefined;
    if (ref) {
      if (ref.kind !== 'Pod')
        throw new HttpError(400, 'BadRequest', `cannot bind token to object of type ${ref.kind}`);
      const p = await this.load(`/registry/pods/${t.namespace}/${ref.name}`);
      if (!p) throw new HttpError(404, 'NotFound', `pods "${ref.name}" not found`);
      if (ref.uid && ref.uid !== p.metadata.uid)
        throw new HttpError(
          409,
          'Conflict',
          `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
        );
      pod = { name: String(p.metadata.name), uid: String(p.metadata.uid) };
      const nodeName = (p.spec as { nodeName?: string } | undefined)?.nodeName;
      const n = nodeName ? await this.load(`/registry/minions/${nodeName}`) : undefined;
      if (n) node = { name: String(n.metadata.name), uid: String(n.metadata.uid) };
    }
    const { token, expires } = signServiceAccountToken(this.ctx.signingKey, {
      issuer: this.ctx.sa.issuers[0]!,
      audiences: spec.audiences?.length ? spec.audiences : this.ctx.sa.audiences,
      namespace: t.namespace!,
      serviceAccount: { name: t.name!, uid: String(account.metadata.uid) },
      ...(pod ? { pod } : {}),
      ...(node ? { node } : {}),
      expirationSeconds: seconds,
    });
    return {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: { name: t.name!, namespace: t.namespace!, creationTimestamp: null },
      spec: {
        ...spec,
        expirationSeconds: seconds,
        audiences: spec.audiences?.length ? spec.audiences : this.ctx.sa.audiences,
      },
      status: { token, expirationTimestamp: expires.toISOString().replace(/\.\d+Z$/, 'Z') },
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://x');
    const path = url.pathname.replace(/\/$/, '') || '/';
    const user = await authenticate(req, this.ctx.etcd, this.ctx.sa);
    if (user === 'unauthorized') return sendStatus(res, 401, 'Unauthorized', 'Unauthorized');
    const method = req.method ?? 'GET';
    const t = parseTarget(path);
    const watch = ['1', 'true'].includes(url.searchParams.get('watch') ?? '');
    const attrs = attributesOf(user, method, path, t, watch, url.searchParams.get('fieldSelector'));
    const decision = await authorize(this.ctx.authorizationModes, attrs, this.ctx.etcd, this.ctx.rbac);
    if (!decision.allowed) {
      const why = forbiddenMessage(attrs) + (decision.reason ? `: ${decision.reason}` : '');
      throw forbiddenError(t?.info, attrs.name || undefined, why);
    }

    if (['/healthz', '/livez', '/readyz'].includes(path)) {
      const ok = await this.ctx.etcd.health(this.ctx.etcd.endpoints[0]!);
      res.writeHead(ok ? 200 : 500, { 'Content-Type': 'text/plain' });
      res.end(ok ? 'ok' : '[-]etcd failed: reason withheld\nhealthz check failed');
      return;
    }
    if (path === '/version') {
      const v = this.ctx.version;
      return json(res, 200, {
        major: String(v.major),
        minor: String(v.minor),
        gitVersion: v.text,
        gitCommit: 'standin',
        gitTreeState: 'clean',
        buildDate: '2026-01-01T00:00:00Z',
        goVersion: 'standin',
        compiler: 'gc',
        platform: 'linux/amd64',
      });
    }
    const found = discovery(path);
    if (found) return json(res, 200, found);
    if (!t) return sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');
    const ct = String(req.headers['content-type'] ?? 'application/json');
    if (method === 'GET' && !t.name) {
      const prefix = `/registry/${t.info.prefix}/${t.info.namespaced && t.namespace ? `${t.namespace}/` : ''}`;
      const matches = (o: Obj) =>
        labelMatch(o, url.searchParams.get('labelSelector')) &&
        fieldMatch(o, url.searchParams.get('fieldSelector'));
      if (watch) {
        return serveWatch(req, res, {
          etcd: this.ctx.etcd,
          prefix,
          resourceVersion: url.searchParams.get('resourceVersion'),
          timeoutSeconds: Number(
            url.searchParams.get('timeoutSeconds') ?? 1800 + Math.floor(Math.random() * 1800),
          ),
          matches,
        });
      }
      const { kvs, revision } = await this.ctx.etcd.range(prefix);
      const items = kvs
        .map((kv) => {
          const o = JSON.parse(kv.value) as Obj;
          o.metadata.resourceVersion = kv.modRevision;
          return o;
        })
        .filter(matches);
      return json(res, 200, {
        apiVersion: t.info.group ? `${t.info.group}/${t.info.version}` : t.info.version,
        kind: `${t.info.kind || 'Object'}List`,
        metadata: { resourceVersion: revision },
        items,
      });
    }
    if (method === 'GET' && watch) {
      return sendStatus(
        res,
        501,
        'NotImplemented',
        '[stand-in] watching one object by name is not implemented; watch the collection with fieldSelector=metadata.name=NAME',
      );
    }
    if (method === 'GET') {
      const o = await this.load(keyOf(t));
      if (!o) return sendStatus(res, 404, 'NotFound', `${groupResource(t.info)} "${t.name}" not found`);
      return json(res, 200, o);
    }
    const body = method === 'DELETE' ? '' : await readBody(req);
    if (method === 'POST' && t.sub === 'eviction' && t.info.resource === 'pods') {
      await this.admit(user, { operation: 'create', info: t.info, ...ns(t), name: t.name!, sub: 'eviction' });
      if (!(await this.ctx.etcd.delete(keyOf(t))))
        return sendStatus(res, 404, 'NotFound', `pods "${t.name}" not found`);
      return json(res, 201, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
    }
    if (
      method === 'POST' &&
      t.sub === 'token' &&
      t.info.resource === 'serviceaccounts' &&
      t.info.group === ''
    ) {
      return json(res, 201, await this.tokenRequest(user, t, parseBody(body, ct)));
    }
    if (method === 'POST') {
      if (t.name)
        return sendStatus(
          res,
          405,
          'MethodNotAllowed',
          'the server does not allow this method on the requested resource',
        );
      return json(res, 201, await this.create(user, t, parseBody(body, ct)));
    }
    if (method === 'DELETE') return json(res, 200, await this.remove(user, t));
    if (method === 'PUT') return json(res, 200, await this.update(user, t, parseBody(body, ct)));
    if (method === 'PATCH') {
      const [code, o] = await this.patch(user, t, ct, body, url.searchParams.get('fieldManager'));
      return json(res, code, o);
    }
    return sendStatus(
      res,
      405,
      'MethodNotAllowed',
      'the server does not allow this method on the requested resource',
    );
  }
}

const ns = (t: Target) => (t.namespace ? { namespace: t.namespace } : {});

/** A Service keeps its allocated clusterIP across updates; changing it is refused as the real validation does. */
function keepClusterIP(o: Obj, existing: Obj): void {
  const have = (existing.spec ?? {}) as { clusterIP?: string; clusterIPs?: string[] };
  const spec = (o.spec ?? {}) as { clusterIP?: string; clusterIPs?: string[] };
  o.spec = spec;
  if (spec.clusterIP && have.clusterIP && spec.clusterIP !== have.clusterIP) {
    throw invalidError(
      'Service',
      String(o.metadata.name),
      'spec.clusterIPs[0]',
      `Invalid value: "${spec.clusterIP}": may not change once set`,
    );
  }
  if (have.clusterIP) {
    spec.clusterIP = have.clusterIP;
    spec.clusterIPs = have.clusterIPs ?? [have.clusterIP];
  }
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function readKeys(flagName: string, paths: string[]): KeyObject[] {
  return paths.map((p) => {
    const pem = readOrDie(flagName, p);
    try {
      return createPublicKey(pem);
    } catch (e) {
      return fail(`failed to parse service-account issuer public key file ${p}: ${(e as Error).message}`);
    }
  });
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
    'requestheader-client-ca-file',
    'proxy-client-cert-file',
    'proxy-client-key-file',
    'kubelet-client-certificate',
    'kubelet-client-key',
  ] as const) {
    const v = parsed.values.get(f);
    for (const p of Array.isArray(v) ? v : typeof v === 'string' ? [v] : []) readOrDie(f, p);
  }
  if (!new X509Certificate(tlsCert).checkPrivateKey(createPrivateKey(tlsKey))) {
    fail('tls: private key does not match public key');
  }
  // pkg/controlplane/apiserver/options: --service-account-issuer and the signing key go together
  const issuers = list(parsed, 'service-account-issuer');
  const signingKeyFile = str(parsed, 'service-account-signing-key-file');
  if (issuers.length === 0 && signingKeyFile) fail('service-account-issuer is a required flag');
  if (issuers.length > 0 && !signingKeyFile)
    fail('service-account-signing-key-file is a required flag when service-account-issuer is set');
  const keyFiles = list(parsed, 'service-account-key-file');
  const signingKey = signingKeyFile
    ? readOrDie('service-account-signing-key-file', signingKeyFile)
    : undefined;
  const publicKeys = readKeys(
    'service-account-key-file',
    keyFiles.length ? keyFiles : signingKeyFile ? [signingKeyFile] : [],
  );
  const modes = list(parsed, 'authorization-mode');
  for (const m of modes) {
    if (!AUTHORIZATION_MODES.includes(m)) fail(`Error: authorization-mode "${m}" is not a valid mode`);
  }
  if (str(parsed, 'authorization-config')) fail('[stand-in] --authorization-config is not implemented');
  const servers = parsed.values.get('etcd-servers');
  if (!Array.isArray(servers) || servers.length === 0) fail('--etcd-servers must be specified');
  const advertise =
    str(parsed, 'advertise-address') ?? fail('--advertise-address is required by the stand-in');
  const port = Number(str(parsed, 'secure-port') ?? 6443);
  let services: ServiceRange;
  try {
    services = new ServiceRange(str(parsed, 'service-cluster-ip-range') ?? '10.0.0.0/24');
  } catch (e) {
    fail((e as Error).message);
  }
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
    services,
    authorizationModes: modes.length ? modes : ['AlwaysAllow'],
    rbac: new RbacAuthorizer(etcd),
    nodeRestriction: list(parsed, 'enable-admission-plugins').includes('NodeRestriction'),
    sa: {
      anonymous: parsed.values.get('anonymous-auth') !== false,
      publicKeys,
      issuers,
      audiences: list(parsed, 'api-audiences').length ? list(parsed, 'api-audiences') : issuers.slice(0, 1),
    },
    ...(signingKey ? { signingKey } : {}),
  };
  const api = new Api(ctx);
  await bootstrapObjects(ctx);
  const stamp = (o: Obj, existing?: Obj): Obj => {
    o.metadata.uid = existing?.metadata.uid ?? randomUUID();
    o.metadata.creationTimestamp = existing?.metadata.creationTimestamp ?? now();
    return o;
  };
  const renew = async () => {
    try {
      await etcd.put(`/registry/masterleases/${advertise}`, JSON.stringify({ renewed: Date.now() }));
      await reconcileKubernetesEndpoints(etcd, port, stamp);
    } catch {
      // etcd hiccups show up as a stale lease, exactly what the real reconciler would publish.
    }
  };
  await renew();
  setInterval(renew, 5000).unref();
  startCompactor(etcd, durationMs(str(parsed, 'etcd-compaction-interval') ?? '5m'));
  const server = createServer(
    { cert: tlsCert, key: tlsKey, ca: clientCa, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      api.handle(req, res).catch((e: unknown) => {
        if (res.headersSent) return res.end();
        if (e instanceof HttpError) sendStatus(res, e.code, e.reason, e.message);
        else sendStatus(res, 500, 'InternalError', e instanceof Error ? e.message : String(e));
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

/**
 * etcd3/compact.go: every interval, compact to the revision seen one interval earlier, so a
 * resourceVersion older than that answers 410 Expired. 0 turns it off, as in the real flag.
 */
function startCompactor(etcd: Etcd, intervalMs: number): void {
  if (intervalMs <= 0) return;
  let last: string | undefined;
  setInterval(async () => {
    try {
      const current = (await etcd.range('/compact_rev_key')).revision;
      if (last) await etcd.compact(last);
      last = current;
    } catch {
      // another apiserver compacted first ("required revision has been compacted"), or etcd is away
    }
  }, intervalMs).unref();
}

/**
 * Objects every apiserver creates at start: the system namespaces, the kubernetes Service with the
 * first IP of the range, and the bootstrap RBAC policy (missing objects only).
 */
async function bootstrapObjects(ctx: Ctx): Promise<void> {
  const create = (key: string, o: Obj) =>
    ctx.etcd.putIf(
      key,
      JSON.stringify({ ...o, metadata: { ...o.metadata, uid: randomUUID(), creationTimestamp: now() } }),
      '0',
    );
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    await create(`/registry/namespaces/${ns}`, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns },
      status: { phase: 'Active' },
    });
  }
  const present = new Set<string>();
  for (const plural of Object.values(RBAC_RESOURCES)) {
    for (const kv of await ctx.etcd.list(`/registry/${plural}/`)) present.add(kv.key);
  }
  for (const o of bootstrapPolicy()) {
    if (!present.has(rbacKey(o))) await create(rbacKey(o), o as unknown as Obj);
  }
  const svcKey = '/registry/services/specs/default/kubernetes';
  if (!(await ctx.etcd.get(svcKey))) {
    const svc: Obj = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'kubernetes',
        namespace: 'default',
        labels: { component: 'apiserver', provider: 'kubernetes' },
      },
      spec: {
        clusterIP: ctx.services.first(),
        ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: ctx.port }],
        type: 'ClusterIP',
      },
    };
    try {
      await ctx.services.allocate(ctx.etcd, svc);
    } catch {
      // an earlier start of this or another apiserver holds the IP already
    }
    await create(svcKey, svc);
  }
}

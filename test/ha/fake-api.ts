import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTlsFiles } from '../../lab/mirror/tls.js';
import { UPDATER } from '../../src/ha/updater/names.js';

/**
 * A loopback HTTPS stand-in for the few API calls the updater makes, strict where the real API is
 * strict: bearer token, optimistic concurrency (409 on a stale resourceVersion), watch resumption
 * from a resourceVersion with 410 Gone once that version is compacted, and the name fieldSelector
 * that RBAC needs for a list by resourceName. Every write is recorded with the writer's user agent
 * and the lease holder at that moment, so a test can check that only the leader ever writes.
 */

type Obj = {
  metadata: { name: string; namespace: string; resourceVersion?: string; [k: string]: unknown };
} & Record<string, unknown>;

export interface Write {
  path: string;
  agent: string;
  holder: string;
  status: number;
  at: number;
}

interface Watcher {
  res: ServerResponse;
}

const SLICES = '/apis/discovery.k8s.io/v1/namespaces';
export const SOURCE_PATH = `${SLICES}/${UPDATER.source.namespace}/endpointslices/${UPDATER.source.name}`;
export const TARGET_PATH = `${SLICES}/${UPDATER.namespace}/endpointslices/${UPDATER.slice}`;
export const LEASE_PATH = `/apis/coordination.k8s.io/v1/namespaces/${UPDATER.namespace}/leases/${UPDATER.lease}`;
const SOURCE_COLLECTION = `${SLICES}/${UPDATER.source.namespace}/endpointslices`;

function slice(namespace: string, name: string, service: string, addresses: string[], rv: number): Obj {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name,
      namespace,
      resourceVersion: String(rv),
      labels: { 'kubernetes.io/service-name': service },
    },
    addressType: 'IPv4',
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
    ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
  };
}

export class FakeApi {
  readonly writes: Write[] = [];
  readonly saDir: string;
  private rv = 1;
  private readonly objects = new Map<string, Obj>();
  private readonly history: { rv: number; type: string; object: Obj }[] = [];
  private compactedThrough = 0;
  private readonly watchers = new Set<Watcher>();
  /** Path -> the user agent whose next PUT conflicts ('' for any writer). */
  private readonly conflicts = new Map<string, string>();
  private server: Server | undefined;
  port = 0;
  watchRequests = 0;
  /** Requests refused for a bad token since the last rotation. */
  unauthorized = 0;

  private constructor(
    private readonly dir: string,
    private token: string,
  ) {
    this.saDir = join(dir, 'sa');
  }

  static async start(opts: { masters: string[]; initial?: string[] }): Promise<FakeApi> {
    const dir = await mkdtemp(join(tmpdir(), 'kubeon-fake-api-'));
    const token = `fake-${Math.random().toString(36).slice(2)}`;
    const api = new FakeApi(dir, token);
    const tls = await ensureTlsFiles(join(dir, 'tls'));
    await mkdir(api.saDir);
    await writeFile(join(api.saDir, 'token'), token, { mode: 0o600 });
    await writeFile(join(api.saDir, 'ca.crt'), await readFile(tls.caFile));
    await writeFile(join(api.saDir, 'namespace'), UPDATER.namespace);
    api.objects.set(
      SOURCE_PATH,
      slice(UPDATER.source.namespace, UPDATER.source.name, 'kubernetes', opts.masters, api.bump()),
    );
    const target = slice(
      UPDATER.namespace,
      UPDATER.slice,
      UPDATER.service,
      opts.initial ?? opts.masters,
      api.bump(),
    );
    target.metadata.labels = {
      ...(target.metadata.labels as object),
      'endpointslice.kubernetes.io/managed-by': UPDATER.managedBy,
    };
    api.objects.set(TARGET_PATH, target);
    api.objects.set(LEASE_PATH, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: UPDATER.lease, namespace: UPDATER.namespace, resourceVersion: String(api.bump()) },
      spec: {},
    });
    const server = createServer(
      { key: await readFile(tls.keyFile), cert: await readFile(tls.certFile) },
      (req, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (c: string) => {
          body += c;
        });
        req.on('end', () => api.handle(req.method ?? '', req.url ?? '', req.headers, body, res));
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    api.server = server;
    api.port = (server.address() as AddressInfo).port;
    return api;
  }

  /** Environment that makes the bundled controller talk to this fake as if it ran in a pod. */
  env(podName: string): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(this.port),
      KUBEON_UPDATER_SA_DIR: this.saDir,
      POD_NAME: podName,
    };
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) w.res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    await rm(this.dir, { recursive: true, force: true });
  }

  private bump(): number {
    this.rv += 1;
    return this.rv;
  }

  get(path: string): Obj {
    return structuredClone(this.objects.get(path)!);
  }

  holder(): string {
    return (this.objects.get(LEASE_PATH)!.spec as { holderIdentity?: string | null }).holderIdentity ?? '';
  }

  /** The apiservers' endpoint reconciler at work: the `default/kubernetes` slice now lists `addresses`. */
  setMasters(addresses: string[]): void {
    const next = slice(UPDATER.source.namespace, UPDATER.source.name, 'kubernetes', addresses, this.bump());
    this.store(SOURCE_PATH, next, 'MODIFIED');
  }

  /** Forgets every event so far, as etcd compaction does: watches from an older version get 410. */
  compact(): void {
    this.compactedThrough = this.bump();
    this.history.length = 0;
  }

  /** Ends every open watch with the ERROR event an apiserver sends when its watch cache is behind. */
  expireWatches(): void {
    for (const w of this.watchers) {
      w.res.end(
        `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } })}\n`,
      );
    }
    this.watchers.clear();
  }

  /** Cuts every open watch connection without a word, as a dying apiserver does. */
  dropWatches(): void {
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
  }

  /** The kubelet's token rotation: a new token in the file, the old one refused from now on. */
  async rotateToken(): Promise<void> {
    this.token = `fake-${Math.random().toString(36).slice(2)}`;
    await writeFile(join(this.saDir, 'token'), this.token, { mode: 0o600 });
    this.unauthorized = 0;
  }

  /**
   * The next PUT to `path` (by `agent`, when given) finds the object changed under it (another
   * writer won): 409.
   */
  conflictOnce(path: string, agent = ''): void {
    this.conflicts.set(path, agent);
  }

  private store(path: string, obj: Obj, type: string): void {
    this.objects.set(path, obj);
    if (path !== SOURCE_PATH) return;
    this.history.push({ rv: Number(obj.metadata.resourceVersion), type, object: obj });
    for (const w of this.watchers) w.res.write(`${JSON.stringify({ type, object: obj })}\n`);
  }

  // Handlers return `undefined` so that `return this.reply(...)` ends a branch in one line.
  private reply(res: ServerResponse, status: number, body: unknown): undefined {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
    return undefined;
  }

  private status(res: ServerResponse, code: number, reason: string): undefined {
    return this.reply(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, code });
  }

  private handle(
    method: string,
    url: string,
    headers: Record<string, string | string[] | undefined>,
    body: string,
    res: ServerResponse,
  ): undefined {
    if (headers.authorization !== `Bearer ${this.token}`) {
      this.unauthorized += 1;
      return this.status(res, 401, 'Unauthorized');
    }
    const u = new URL(url, 'https://fake');
    if (u.pathname === SOURCE_COLLECTION && method === 'GET') {
      if (u.searchParams.get('fieldSelector') !== `metadata.name=${UPDATER.source.name}`) {
        return this.status(res, 403, 'Forbidden');
      }
      if (u.searchParams.get('watch') === '1') return this.watch(u, res);
      const item = this.objects.get(SOURCE_PATH);
      return this.reply(res, 200, {
        kind: 'EndpointSliceList',
        metadata: { resourceVersion: String(this.rv) },
        items: item ? [item] : [],
      });
    }
    if (u.pathname !== TARGET_PATH && u.pathname !== LEASE_PATH) return this.status(res, 403, 'Forbidden');
    const current = this.objects.get(u.pathname)!;
    if (method === 'GET') return this.reply(res, 200, current);
    if (method !== 'PUT') return this.status(res, 405, 'MethodNotAllowed');
    const next = JSON.parse(body) as Obj;
    const agent = String(headers['user-agent'] ?? '');
    const conflictFor = this.conflicts.get(u.pathname);
    if (conflictFor !== undefined && (conflictFor === '' || conflictFor === agent)) {
      this.conflicts.delete(u.pathname);
      current.metadata.resourceVersion = String(this.bump());
    }
    let code = 200;
    if (
      next.metadata.name !== current.metadata.name ||
      next.metadata.namespace !== current.metadata.namespace
    ) {
      code = 400;
    } else if (next.metadata.resourceVersion !== current.metadata.resourceVersion) {
      code = 409;
    }
    this.writes.push({ path: u.pathname, agent, holder: this.holder(), status: code, at: Date.now() });
    if (code === 409) return this.status(res, 409, 'Conflict');
    if (code !== 200) return this.status(res, code, 'BadRequest');
    next.metadata.resourceVersion = String(this.bump());
    this.store(u.pathname, next, 'MODIFIED');
    return this.reply(res, 200, next);
  }

  private watch(u: URL, res: ServerResponse): undefined {
    this.watchRequests += 1;
    const from = Number(u.searchParams.get('resourceVersion'));
    res.writeHead(200, { 'content-type': 'application/json' });
    if (from < this.compactedThrough) {
      res.end(
        `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } })}\n`,
      );
      return;
    }
    for (const e of this.history) {
      if (e.rv > from) res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
    }
    const w = { res };
    this.watchers.add(w);
    res.on('close', () => this.watchers.delete(w));
    return undefined;
  }
}

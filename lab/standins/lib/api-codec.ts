/**
 * Request plumbing of the apiserver stand-in: discovery documents, URL to resource, selectors, body
 * decoding and the merge/JSON patch formats.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { HttpError, type Obj, type Target } from './api-types.js';
import { RESOURCES, type ResourceInfo, resolve } from './resources.js';

/** The discovery documents clients read to map kinds to resources (client-go, client-node). */
export function discovery(path: string): Record<string, unknown> | undefined {
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
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
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

export function parseTarget(path: string): Target | undefined {
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

export function keyOf(t: Target, name = t.name): string {
  return `/registry/${t.info.prefix}/${t.info.namespaced ? `${t.namespace}/` : ''}${name ?? ''}`;
}

export function deepMerge(base: unknown, patch: unknown): unknown {
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

export function labelMatch(obj: Obj, selector: string | null): boolean {
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

export function fieldMatch(obj: Obj, selector: string | null): boolean {
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

/**
 * The name a list or watch is narrowed to, as the request-info resolver takes it for authorization
 * (k8s.io/apiserver pkg/endpoints/request/requestinfo.go): an exact `metadata.name=X` (or `==`)
 * term of the field selector, when X is a valid path segment name.
 */
export function selectorName(selector: string | null): string {
  for (const term of (selector ?? '').split(',')) {
    const m = /^metadata\.name(==|=)(.*)$/.exec(term.trim());
    if (m && !['', '.', '..'].includes(m[2]!) && !/[/%]/.test(m[2]!)) return m[2]!;
  }
  return '';
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function parseBody(text: string, contentType: string): unknown {
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

export function applyJsonPatch(doc: unknown, ops: { op: string; path: string; value?: unknown }[]): unknown {
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

/**
 * RBAC evaluated from the stored Roles, ClusterRoles, RoleBindings and ClusterRoleBindings, with the
 * matching rules of plugin/pkg/auth/authorizer/rbac/rbac.go and pkg/apis/rbac/v1/evaluation_helpers.go:
 * ClusterRoleBindings first, then the RoleBindings of the request's namespace; a binding whose role
 * is missing is skipped and named in the reason ("RBAC: clusterrole... not found").
 */
import type { User } from './api-types.js';
import type { Etcd } from './etcd.js';

export interface Attributes {
  user: User;
  verb: string;
  /** false for /healthz, /version, /api and the like. */
  resourceRequest: boolean;
  path: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

interface Binding {
  metadata: { name: string; namespace?: string };
  roleRef: { kind: string; name: string };
  subjects?: Subject[];
}

interface Role {
  metadata: { name: string; namespace?: string };
  rules?: PolicyRule[];
}

export interface Decision {
  allowed: boolean;
  reason: string;
}

const has = (list: string[] | undefined, v: string) => !!list && (list.includes('*') || list.includes(v));

function resourceMatches(rule: PolicyRule, combined: string, sub: string): boolean {
  return (rule.resources ?? []).some((r) => r === '*' || r === combined || (sub !== '' && r === `*/${sub}`));
}

function urlMatches(rule: PolicyRule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some(
    (u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))),
  );
}

export function ruleAllows(a: Attributes, rule: PolicyRule): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (!a.resourceRequest) return urlMatches(rule, a.path);
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return (
    has(rule.apiGroups, a.apiGroup) &&
    resourceMatches(rule, combined, a.subresource) &&
    (!rule.resourceNames?.length || rule.resourceNames.includes(a.name))
  );
}

export const rulesAllow = (a: Attributes, rules: PolicyRule[]) => rules.some((r) => ruleAllows(a, r));

function appliesTo(u: User, s: Subject, bindingNamespace: string): boolean {
  if (s.kind === 'User') return u.name === s.name;
  if (s.kind === 'Group') return u.groups.includes(s.name);
  if (s.kind === 'ServiceAccount')
    return u.name === `system:serviceaccount:${s.namespace || bindingNamespace}:${s.name}`;
  return false;
}

interface Policy {
  clusterRoles: Role[];
  crbs: Binding[];
  /** Roles and RoleBindings of the request's namespace. */
  roles: Role[];
  rbs: Binding[];
}

function evaluate(p: Policy, a: Attributes): Decision {
  const errors: string[] = [];
  const visit = (b: Binding, ns: string): boolean => {
    if (!(b.subjects ?? []).some((s) => appliesTo(a.user, s, ns))) return false;
    const cluster = b.roleRef.kind === 'ClusterRole';
    const role = (cluster ? p.clusterRoles : p.roles).find((r) => r.metadata.name === b.roleRef.name);
    if (!role) {
      errors.push(
        cluster
          ? `clusterrole.rbac.authorization.k8s.io "${b.roleRef.name}" not found`
          : `role.rbac.authorization.k8s.io "${b.roleRef.name}" not found`,
      );
      return false;
    }
    return rulesAllow(a, role.rules ?? []);
  };
  if (p.crbs.some((b) => visit(b, '')) || p.rbs.some((b) => visit(b, a.namespace)))
    return { allowed: true, reason: '' };
  const reason = errors.length === 0 ? '' : errors.length === 1 ? errors[0]! : `[${errors.join(', ')}]`;
  return { allowed: false, reason: reason && `RBAC: ${reason}` };
}

const PREFIXES = ['clusterroles', 'clusterrolebindings', 'roles', 'rolebindings'].map(
  (r) => `/registry/${r}/`,
);

/**
 * The RBAC authorizer. Like the real one it decides from an in-memory copy kept current by a
 * watch (the real one uses informers), so an allowed request costs no etcd read. A denial is
 * confirmed against etcd before it is answered, so a binding created a moment ago is never
 * refused because the copy lags behind.
 */
export class RbacAuthorizer {
  private objects: Map<string, Role & Binding> | undefined;
  private loading: Promise<void> | undefined;

  constructor(private readonly etcd: Etcd) {}

  private sync(): Promise<void> {
    this.loading ??= (async () => {
      const objects = new Map<string, Role & Binding>();
      const revisions: string[] = [];
      for (const prefix of PREFIXES) {
        const { kvs, revision } = await this.etcd.range(prefix);
        for (const kv of kvs) objects.set(kv.key, JSON.parse(kv.value) as Role & Binding);
        revisions.push(revision);
      }
      PREFIXES.forEach((prefix, i) => {
        this.etcd.watch(prefix, String(BigInt(revisions[i]!) + 1n), {
          onEvent: (e) => {
            if (e.type === 'DELETE') objects.delete(e.key);
            else objects.set(e.key, JSON.parse(e.value) as Role & Binding);
          },
          onCompacted: () => undefined,
          // a broken watch drops the copy; the next request lists and watches again
          onEnd: () => {
            if (this.objects === objects) {
              this.objects = undefined;
              this.loading = undefined;
            }
          },
        });
      });
      this.objects = objects;
    })().catch((e: unknown) => {
      this.loading = undefined;
      throw e;
    });
    return this.loading;
  }

  private cached(namespace: string): Policy {
    const all = [...(this.objects ?? new Map()).entries()];
    const under = (prefix: string) => all.filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
    return {
      clusterRoles: under('/registry/clusterroles/'),
      crbs: under('/registry/clusterrolebindings/'),
      roles: namespace ? under(`/registry/roles/${namespace}/`) : [],
      rbs: namespace ? under(`/registry/rolebindings/${namespace}/`) : [],
    };
  }

  private async fresh(namespace: string): Promise<Policy> {
    const load = async <T>(prefix: string) =>
      (await this.etcd.list(prefix)).map((kv) => JSON.parse(kv.value) as T);
    const [clusterRoles, crbs, roles, rbs] = await Promise.all([
      load<Role>('/registry/clusterroles/'),
      load<Binding>('/registry/clusterrolebindings/'),
      namespace ? load<Role>(`/registry/roles/${namespace}/`) : Promise.resolve([]),
      namespace ? load<Binding>(`/registry/rolebindings/${namespace}/`) : Promise.resolve([]),
    ]);
    return { clusterRoles, crbs, roles, rbs };
  }

  async authorize(a: Attributes): Promise<Decision> {
    try {
      await this.sync();
      const d = evaluate(this.cached(a.namespace), a);
      if (d.allowed) return d;
    } catch {
      // no copy yet (etcd away): decide from a fresh read below
    }
    return evaluate(await this.fresh(a.namespace), a);
  }
}

/** responsewriters.forbiddenMessage: what follows "is forbidden: " in a 403. */
export function forbiddenMessage(a: Attributes): string {
  if (!a.resourceRequest) return `User "${a.user.name}" cannot ${a.verb} path "${a.path}"`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return `User "${a.user.name}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" ${scope}`;
}

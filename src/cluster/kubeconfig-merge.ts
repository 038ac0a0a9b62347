import YAML from 'yaml';
import { badInput } from '../core/errors.js';

/**
 * Merges a cluster's kubeconfig into the user's (~/.kube/config) as context `kubeon-<name>`, keeping
 * every other cluster, user and context the user has. Entries of the same kubeon names are replaced,
 * so running `use` twice changes nothing. Pure: text in, text out.
 */
interface Named {
  name: string;
  [k: string]: unknown;
}

interface KubeConfig {
  apiVersion?: string;
  kind?: string;
  clusters?: Named[];
  users?: Named[];
  contexts?: Named[];
  'current-context'?: string;
  [k: string]: unknown;
}

function parse(text: string | undefined, what: string): KubeConfig {
  if (text === undefined || text.trim() === '') return {};
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw badInput(
      `${what} is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
      `fix or move ${what} aside`,
    );
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw badInput(`${what} is not a kubeconfig`, `fix or move ${what} aside`);
  return doc as KubeConfig;
}

function upsert(list: Named[] | undefined, entry: Named): Named[] {
  const out = (list ?? []).filter((e) => e.name !== entry.name);
  out.push(entry);
  return out;
}

export function contextName(cluster: string): string {
  return `kubeon-${cluster}`;
}

export function mergeKubeconfig(
  existing: string | undefined,
  incoming: string,
  cluster: string,
  userPath = '~/.kube/config',
): string {
  const base = parse(existing, userPath);
  const src = parse(incoming, `the kubeconfig of cluster ${cluster}`);
  const srcCtxName = src['current-context'] ?? src.contexts?.[0]?.name;
  const srcCtx = src.contexts?.find((c) => c.name === srcCtxName);
  const ctx = (srcCtx?.context ?? {}) as { cluster?: string; user?: string; namespace?: string };
  const srcCluster = src.clusters?.find((c) => c.name === ctx.cluster) ?? src.clusters?.[0];
  const srcUser = src.users?.find((u) => u.name === ctx.user) ?? src.users?.[0];
  if (!srcCluster || !srcUser) {
    throw badInput(
      `the kubeconfig of cluster ${cluster} has no cluster or user entry`,
      `re-create it with kubeon certs ${cluster} renew`,
    );
  }
  const name = contextName(cluster);
  const userName = `${name}-admin`;
  const out: KubeConfig = { ...base, apiVersion: base.apiVersion ?? 'v1', kind: base.kind ?? 'Config' };
  out.clusters = upsert(base.clusters, { name, cluster: srcCluster.cluster });
  out.users = upsert(base.users, { name: userName, user: srcUser.user });
  out.contexts = upsert(base.contexts, {
    name,
    context: { cluster: name, user: userName, ...(ctx.namespace ? { namespace: ctx.namespace } : {}) },
  });
  out['current-context'] = name;
  if (!('preferences' in out)) out.preferences = {};
  return YAML.stringify(out);
}

/** The user's kubeconfig without kubeon's entries for `cluster`; unchanged text when it has none. */
export function removeKubeconfigContext(
  existing: string,
  cluster: string,
  userPath = '~/.kube/config',
): string {
  const base = parse(existing, userPath);
  const name = contextName(cluster);
  const has = (l: Named[] | undefined, n: string) => (l ?? []).some((e) => e.name === n);
  if (!has(base.contexts, name) && !has(base.clusters, name) && !has(base.users, `${name}-admin`))
    return existing;
  const out: KubeConfig = { ...base };
  out.clusters = (base.clusters ?? []).filter((e) => e.name !== name);
  out.users = (base.users ?? []).filter((e) => e.name !== `${name}-admin`);
  out.contexts = (base.contexts ?? []).filter((e) => e.name !== name);
  if (out['current-context'] === name) out['current-context'] = '';
  return YAML.stringify(out);
}

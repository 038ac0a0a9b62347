import { SECRET_KEYS } from './redact.js';
import type { ClusterSpec, NodeSpec } from './spec.js';

/**
 * Where `given` (a create command run again) asks for something else than `stored` (what the
 * first attempt recorded), as `path: stored -> given`; undefined when they ask for the same cluster.
 * Node names the first contact filled in count as given, since the user never chose them.
 * A secret's values are never shown, only its path.
 */
export function specDifference(given: ClusterSpec, stored: ClusterSpec): string | undefined {
  const named = (list: NodeSpec[], from: NodeSpec[]): NodeSpec[] =>
    list.map((n) => {
      const seen = from.find((s) => s.ip === n.ip);
      return n.name === undefined && seen?.name !== undefined ? { ...n, name: seen.name } : n;
    });
  const filled: ClusterSpec = {
    ...given,
    masters: named(given.masters, stored.masters),
    workers: named(given.workers, stored.workers),
  };
  return firstDifference(stored, filled, '');
}

function firstDifference(a: unknown, b: unknown, path: string): string | undefined {
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (isObject(a) && isObject(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const at = path ? `${path}.${k}` : k;
      if (SECRET_KEYS.has(k)) {
        if (a[k] !== b[k]) return `${at} differs`;
        continue;
      }
      const d = firstDifference(a[k], b[k], at);
      if (d) return d;
    }
    return undefined;
  }
  return a === b ? undefined : `${path}: ${show(a)} -> ${show(b)}`;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const show = (v: unknown): string => (v === undefined ? '(none)' : JSON.stringify(v));

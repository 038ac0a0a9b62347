import type { ClusterSpec } from './spec.js';

/** Spec fields that hold a secret value: never printed, in a redacted copy or in an error. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['password', 'privateKeyPassphrase', 'sudoPassword']);

/** A copy of the spec safe to print or log: every stored secret becomes "***". */
export function redactSpec(spec: ClusterSpec): ClusterSpec {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v).map(([k, val]) => [
          k,
          SECRET_KEYS.has(k) && typeof val === 'string' ? '***' : walk(val),
        ]),
      );
    }
    return v;
  };
  return walk(spec) as ClusterSpec;
}

/**
 * kubeadm reports semantic config problems as apimachinery field errors
 * (k8s.io/apimachinery/pkg/util/validation/field): `path: Invalid value: <value>: detail`, joined
 * into one aggregate (`[a, b]` when there are several). Values print as Go does: strings quoted,
 * numbers and bools bare, slices and maps with %#v.
 */
export type GoValue = string | number | boolean | string[] | Record<string, boolean>;

function goValue(v: GoValue): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[]string{${v.map((s) => JSON.stringify(s)).join(', ')}}`;
  const entries = Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1));
  return `map[string]bool{${entries.map(([k, b]) => `${JSON.stringify(k)}:${b}`).join(', ')}}`;
}

export function invalid(path: string, value: GoValue, detail: string): string {
  return `${path}: Invalid value: ${goValue(value)}: ${detail}`;
}

export function required(path: string, detail: string): string {
  return `${path}: Required value: ${detail}`;
}

/** utilerrors.NewAggregate(...).Error(): one message as is, several in brackets, duplicates once. */
export function aggregate(errs: string[]): string {
  const unique = [...new Set(errs)];
  return unique.length === 1 ? unique[0]! : `[${unique.join(', ')}]`;
}

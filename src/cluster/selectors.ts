import { badInput } from '../core/errors.js';
import { didYouMean, plural } from '../core/suggest.js';
import { validateClusterName } from './name.js';
import { ipFamily, ipToBigInt } from './net.js';
import type { ClusterNode } from './nodes.js';

/**
 * Node selectors: `NAME@SEL` (or `@SEL` for the current cluster), where SEL is a comma list of
 *   all | masters (cp, cp*, master) | workers (w, w*, worker) | first (cp1) | cpN | wN
 *   | a node name | an address | name=a,b | ip=x,y
 * cpN and wN count from 1 in spec order. Bare words after `name=`/`ip=` continue that list, so
 * `name=a,b,workers` is {a, b} plus all workers.
 */
export type SelectorTerm =
  | { kind: 'all' }
  | { kind: 'masters' }
  | { kind: 'workers' }
  | { kind: 'first' }
  | { kind: 'index'; role: 'master' | 'worker'; n: number; token: string }
  | { kind: 'name'; values: string[] }
  | { kind: 'ip'; values: string[] };

export interface Target {
  cluster: string;
  selector: string;
  terms: SelectorTerm[];
}

const KEYWORDS: Record<string, SelectorTerm['kind']> = {
  all: 'all',
  '*': 'all',
  masters: 'masters',
  master: 'masters',
  cp: 'masters',
  'cp*': 'masters',
  'control-plane': 'masters',
  workers: 'workers',
  worker: 'workers',
  w: 'workers',
  'w*': 'workers',
  first: 'first',
  cp1: 'first',
};

const HINT = 'use all, masters, workers, cp2, w7, a node name or address, name=a,b or ip=x,y';
const INDEX = /^(cp|master|w|worker)(\d+)$/;

export function parseSelector(selector: string): SelectorTerm[] {
  const tokens = selector.split(',').map((t) => t.trim());
  const terms: SelectorTerm[] = [];
  let open: { kind: 'name' | 'ip'; values: string[] } | undefined;
  for (const token of tokens) {
    if (token === '') throw badInput(`empty element in selector "${selector}"`, HINT);
    const eq = token.indexOf('=');
    if (eq >= 0) {
      const key = token.slice(0, eq);
      const value = token.slice(eq + 1);
      if (key !== 'name' && key !== 'ip')
        throw badInput(`unknown selector key "${key}" in "${selector}"`, HINT);
      if (value === '') throw badInput(`selector "${token}" has no value`, HINT);
      open = { kind: key, values: [value] };
      terms.push(open);
      continue;
    }
    const kw = KEYWORDS[token.toLowerCase()];
    if (kw) {
      open = undefined;
      terms.push({ kind: kw } as SelectorTerm);
      continue;
    }
    if (open) {
      open.values.push(token);
      continue;
    }
    const index = INDEX.exec(token.toLowerCase());
    if (index) {
      const n = Number(index[2]);
      if (n < 1)
        throw badInput(
          `"${token}" in selector "${selector}" counts from 1`,
          'write cp1 for the first master',
        );
      terms.push({ kind: 'index', role: index[1]!.startsWith('w') ? 'worker' : 'master', n, token });
      continue;
    }
    // A bare word is a node name, a bare address an address; both are checked against the cluster.
    terms.push(ipFamily(token) ? { kind: 'ip', values: [token] } : { kind: 'name', values: [token] });
  }
  for (const t of terms) {
    if (t.kind === 'ip') {
      for (const v of t.values) {
        if (ipFamily(v) === 0) throw badInput(`"${v}" in selector "${selector}" is not an IP address`, HINT);
      }
    }
  }
  return terms;
}

/** Splits `NAME@SEL`; a bare `NAME` targets every node, a bare `@SEL` the current cluster. */
export function parseTarget(text: string, current?: string): Target {
  const at = text.indexOf('@');
  const cluster = at < 0 ? text : text.slice(0, at) || (current ?? '');
  const selector = at < 0 ? 'all' : text.slice(at + 1);
  if (cluster === '')
    throw badInput(
      `"${text}" names no cluster and no cluster is current`,
      'write CLUSTER@SELECTOR, e.g. prod@masters, or pick a current cluster with kubeon use NAME',
    );
  validateClusterName(cluster);
  if (selector === '') throw badInput(`"${text}" has an empty selector`, HINT);
  return { cluster, selector, terms: parseSelector(selector) };
}

function sameIp(a: string, b: string): boolean {
  const fa = ipFamily(a);
  return fa !== 0 && fa === ipFamily(b) && ipToBigInt(a) === ipToBigInt(b);
}

/** Resolves terms to nodes in cluster order, without duplicates; empty or unknown names are errors. */
export function selectNodes(
  nodes: readonly ClusterNode[],
  terms: readonly SelectorTerm[],
  selector: string,
): ClusterNode[] {
  const picked = new Set<ClusterNode>();
  for (const t of terms) {
    switch (t.kind) {
      case 'all':
        for (const n of nodes) picked.add(n);
        break;
      case 'masters':
        for (const n of nodes) if (n.role === 'master') picked.add(n);
        break;
      case 'workers':
        for (const n of nodes) if (n.role === 'worker') picked.add(n);
        break;
      case 'first': {
        const first = nodes.find((n) => n.role === 'master' && n.index === 0);
        if (first) picked.add(first);
        break;
      }
      case 'index': {
        const n = nodes.filter((x) => x.role === t.role)[t.n - 1];
        if (!n) {
          const count = nodes.filter((x) => x.role === t.role).length;
          throw badInput(
            `"${t.token}" in selector "${selector}": the cluster has ${plural(count, t.role)}`,
            `count from 1 to ${count}${count ? '' : `, or select other nodes`}`,
          );
        }
        picked.add(n);
        break;
      }
      case 'name':
        for (const v of t.values) {
          const n = nodes.find((x) => x.name === v);
          if (!n) {
            const names = nodes.map((x) => x.name).filter((x): x is string => x !== undefined);
            throw badInput(
              `no node named "${v}" and no such selector (in "${selector}")`,
              `${didYouMean(v, [...Object.keys(KEYWORDS).filter((k) => !k.includes('*')), ...names])}${HINT}; node names: kubeon view config`,
            );
          }
          picked.add(n);
        }
        break;
      case 'ip':
        for (const v of t.values) {
          const n = nodes.find((x) => sameIp(x.ip, v));
          if (!n)
            throw badInput(
              `no node with IP ${v} (selector "${selector}")`,
              'see the node addresses with kubeon view config',
            );
          picked.add(n);
        }
        break;
    }
  }
  const out = nodes.filter((n) => picked.has(n));
  if (out.length === 0) throw badInput(`selector "${selector}" matches no node`, HINT);
  return out;
}

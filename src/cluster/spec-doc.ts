import { badInput } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import { clusterJsonSchema } from './spec.js';
import { SSH_SETTINGS } from './spec-names.js';

/**
 * The cluster.yaml reference as Markdown, generated from the schema so the README cannot drift from
 * what kubeon accepts. SSH settings appear once: every level (defaults, role, node) takes them.
 */
interface SchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  anyOf?: SchemaNode[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
}

const SSH_FIELDS = new Set<string>(SSH_SETTINGS);

function typeOf(n: SchemaNode): string {
  if (n.anyOf) return n.anyOf.map(typeOf).join(' or ');
  if (n.format === 'ipv4') return 'IPv4 address';
  if (n.format === 'ipv6') return 'IPv6 address';
  if (n.enum) return n.enum.map((e) => `\`${String(e)}\``).join(' \\| ');
  if (n.const !== undefined) return `\`${String(n.const)}\``;
  if (n.type === 'array') return `list of ${n.items ? typeOf(n.items) : 'any'}`;
  if (n.type === 'object' && n.additionalProperties && typeof n.additionalProperties === 'object')
    return 'map of string';
  return Array.isArray(n.type) ? n.type.join(' \\| ') : (n.type ?? 'any');
}

function defaultOf(n: SchemaNode): string {
  if (n.default === undefined || (typeof n.default === 'object' && n.default !== null)) {
    return Array.isArray(n.default) && n.default.length ? `\`${JSON.stringify(n.default)}\`` : '';
  }
  return `\`${String(n.default)}\``;
}

export function clusterYamlReference(): string {
  const rows: string[] = ['| Field | Type | Default | Description |', '|---|---|---|---|'];
  const sshRows: string[] = [];
  const walk = (node: SchemaNode, path: string) => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const p = path ? `${path}.${key}` : key;
      const target = child.type === 'array' && child.items?.properties ? child.items : child;
      const isSshHolder = Boolean(target.properties?.user);
      const row = `| \`${child.type === 'array' ? `${p}[]` : p}\` | ${target.properties ? (child.type === 'array' ? 'list' : 'object') : typeOf(child)} | ${defaultOf(child)} | ${[child.description, isSshHolder ? 'Takes the SSH settings below.' : ''].filter(Boolean).join('. ')} |`;
      rows.push(row);
      if (target.properties) {
        const sub: SchemaNode = { properties: {} };
        for (const [k, v] of Object.entries(target.properties)) {
          if (isSshHolder && SSH_FIELDS.has(k)) {
            if (!sshRows.some((r) => r.startsWith(`| \`${k}\``)))
              sshRows.push(`| \`${k}\` | ${typeOf(v)} | | ${v.description ?? ''} |`);
          } else sub.properties![k] = v;
        }
        walk(sub, child.type === 'array' ? `${p}[]` : p);
      }
    }
  };
  walk(clusterJsonSchema() as SchemaNode, '');
  return [
    ...rows,
    '',
    'SSH settings (in `ssh.defaults`, `ssh.masters`, `ssh.workers`, `ssh.bastion` and on each node; the most specific wins):',
    '',
    '| Field | Type | Default | Description |',
    '|---|---|---|---|',
    ...sshRows,
  ].join('\n');
}

/** Walks `a.b[].c` (or `a.b.c`: list items are entered on their own) down the JSON Schema. */
function schemaAt(path: string): { node: SchemaNode; description: string | undefined } {
  let node = clusterJsonSchema() as SchemaNode;
  const parts = path.split('.').filter(Boolean);
  for (const [i, raw] of parts.entries()) {
    const key = raw.replace(/\[\d*\]$/, '');
    if (node.type === 'array' && node.items) node = node.items;
    const next = node.properties?.[key];
    if (!next) {
      const known = Object.keys(node.properties ?? {});
      const at = parts.slice(0, i).join('.');
      throw badInput(
        `cluster.yaml has no field "${[at, key].filter(Boolean).join('.')}"`,
        `${didYouMean(key, known)}fields${at ? ` of ${at}` : ''}: ${known.join(', ')}`,
      );
    }
    node = next;
  }
  const description = node.description;
  if (node.type === 'array' && node.items?.properties) node = node.items;
  return { node, description };
}

/** The fields a YAML mapping at `path` may hold (list indexes in the path are ignored). */
export function fieldsAt(path: readonly (string | number)[]): string[] {
  const { node } = schemaAt(path.filter((p) => typeof p === 'string').join('.'));
  return Object.keys(node.properties ?? {});
}

export interface FieldDoc {
  path: string;
  type: string;
  default: string;
  description: string;
  fields: string[];
}

/** What `kubeon explain PATH` prints: type, default, description and sub-fields, from the schema. */
export function explainField(path: string): FieldDoc {
  const { node, description } = schemaAt(path);
  const bounds =
    node.minimum !== undefined && node.maximum !== undefined
      ? ` from ${node.minimum} to ${node.maximum}`
      : '';
  return {
    path: path || '(cluster.yaml)',
    type: `${node.properties ? 'object' : typeOf(node).replaceAll('\\|', '|').replaceAll('`', '')}${bounds}`,
    default: defaultOf(node).replaceAll('`', ''),
    description: [
      description,
      node.properties?.user ? 'Takes the SSH settings (user, port, password, ...)' : '',
    ]
      .filter(Boolean)
      .join('. '),
    fields: Object.keys(node.properties ?? {}),
  };
}

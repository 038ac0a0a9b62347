import { clusterJsonSchema, SSH_SETTINGS } from './spec.js';

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
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
}

const SSH_FIELDS = new Set<string>(SSH_SETTINGS);

function typeOf(n: SchemaNode): string {
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

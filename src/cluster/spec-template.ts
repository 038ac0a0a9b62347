import { clusterJsonSchema } from './spec.js';

/**
 * The commented cluster.yaml `kubeon config init` writes, like `kk create config` or `k0sctl init`.
 * Sections and their comments come from the schema, so the template cannot drift from what create
 * accepts. Addresses are from the documentation range 192.0.2.0/24: replace them.
 */
interface Prop {
  description?: string;
  default?: unknown;
  properties?: Record<string, Prop>;
}

const SECTIONS = ['controlPlane', 'network', 'kubelet', 'runtime', 'artifacts', 'pki'];

function scalar(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => scalar(x)).join(', ')}]`;
  return typeof v === 'string' && (v === '' || /[:#{}[\],&*!|>'"%@`]/.test(v))
    ? JSON.stringify(v)
    : String(v);
}

export interface TemplateOptions {
  name: string;
  version: string;
  masters: number;
  workers: number;
  schemaPath: string;
}

export function clusterTemplate(o: TemplateOptions): string {
  const schema = clusterJsonSchema() as { properties: Record<string, Prop> };
  const node = (i: number, first: number, role: string) =>
    `  - ip: 192.0.2.${first + i}\n    name: ${role}-${i + 1}`;
  const lines = [
    `# yaml-language-server: $schema=${o.schemaPath}`,
    '# kubeon cluster spec. Edit the addresses (and anything else), then: kubeon create -f cluster.yaml',
    '# What a field means, its type and default: kubeon explain FIELD (e.g. kubeon explain network.cni)',
    'apiVersion: kubeon.io/v1alpha1',
    'kind: Cluster',
    `name: ${o.name}`,
    '# Any patch release of a supported minor; kubeon view support lists them',
    `version: ${o.version}`,
    'ssh:',
    '  defaults:',
    '    user: root',
    '    # The password is read from this variable at run time and never stored; or use',
    '    # privateKeyFile: ~/.ssh/id_ed25519',
    '    passwordFrom: env:KUBEON_PASSWORD',
    `# ${schema.properties.masters?.description ?? 'Control-plane nodes'}`,
    'masters:',
    ...Array.from({ length: o.masters }, (_, i) => node(i, 11, 'master')),
    `# ${schema.properties.workers?.description ?? 'Worker nodes'}`,
    ...(o.workers
      ? [
          'workers:',
          ...Array.from({ length: o.workers }, (_, i) =>
            node(i, 21 + 10 * Math.floor((o.masters - 1) / 10), 'worker'),
          ),
        ]
      : ['workers: []']),
    '',
    '# Everything below shows the defaults: delete what you do not change.',
  ];
  for (const section of SECTIONS) {
    const props = schema.properties[section]?.properties ?? {};
    lines.push(`${section}:`);
    for (const [key, p] of Object.entries(props)) {
      if (p.description) lines.push(`  # ${p.description}`);
      lines.push(p.default === undefined ? `  # ${key}:` : `  ${key}: ${scalar(p.default)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

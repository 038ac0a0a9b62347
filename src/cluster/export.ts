import type { ClusterSpec, SshAuth } from './spec.js';

const SECRETS = [
  ['password', 'passwordFrom', 'PASSWORD'],
  ['privateKeyPassphrase', 'privateKeyPassphraseFrom', 'KEY_PASSPHRASE'],
  ['sudoPassword', 'sudoPasswordFrom', 'SUDO_PASSWORD'],
] as const;

export interface ExportedSpec {
  spec: ClusterSpec;
  /** Variables the exported spec reads its secrets from, with where each was. */
  variables: { name: string; field: string }[];
}

/**
 * A spec `create -f` accepts again: every stored secret becomes a `…From: env:VAR` reference (the
 * value itself never leaves the store), one variable per place, e.g. KUBEON_MASTERS_1_PASSWORD.
 */
export function exportSpec(spec: ClusterSpec): ExportedSpec {
  const out = structuredClone(spec);
  const variables: ExportedSpec['variables'] = [];
  const strip = (auth: SshAuth | undefined, field: string, prefix: string) => {
    if (!auth) return;
    for (const [value, from, suffix] of SECRETS) {
      if (auth[value] === undefined) continue;
      const name = `${prefix}${suffix}`;
      delete auth[value];
      auth[from] = `env:${name}`;
      variables.push({ name, field: `${field}.${from}` });
    }
  };
  strip(out.ssh.defaults, 'ssh.defaults', 'KUBEON_');
  strip(out.ssh.masters, 'ssh.masters', 'KUBEON_MASTERS_');
  strip(out.ssh.workers, 'ssh.workers', 'KUBEON_WORKERS_');
  strip(out.ssh.bastion, 'ssh.bastion', 'KUBEON_BASTION_');
  for (const [list, nodes] of [
    ['masters', out.masters],
    ['workers', out.workers],
  ] as const)
    nodes.forEach((n, i) => {
      strip(n, `${list}[${i}]`, `KUBEON_${list.toUpperCase()}_${i + 1}_`);
    });
  return { spec: out, variables };
}

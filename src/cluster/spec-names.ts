/**
 * The spec's enumerations and SSH setting names, apart from its schema: flags and node layering
 * need them on every start, while the schema (spec.ts) loads zod, which only validation needs.
 */

export const API_VERSION = 'kubeon.io/v1alpha1';

export const LB_MODES = ['haproxy', 'updater', 'external'] as const;
export const CNIS = ['calico', 'cilium', 'none'] as const;
export const PROXY_MODES = ['iptables', 'ipvs'] as const;
export const CRIS = ['containerd'] as const;
export const KEY_ALGORITHMS = ['RSA-2048', 'ECDSA-P256'] as const;

/** Every SSH setting name, in the schema's order (a unit test holds the two together). */
export const SSH_SETTINGS = [
  'user',
  'port',
  'password',
  'passwordFrom',
  'privateKeyFile',
  'privateKeyPassphrase',
  'privateKeyPassphraseFrom',
  'sudoPassword',
  'sudoPasswordFrom',
] as const;

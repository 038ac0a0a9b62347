import { checkVersionSupported } from '../../src/artifacts/catalog.js';
import type { Host, OsFamily } from '../../src/cluster/host.js';
import { clusterNodes } from '../../src/cluster/nodes.js';
import { type ClusterSpec, type ClusterSpecInput, ClusterSpecSchema } from '../../src/cluster/spec.js';
import { nodeComponents, type RenderInput } from '../../src/render/inputs.js';

/** kubeadm's pause tag per minor (PauseVersion in cmd/kubeadm/app/constants of each branch). */
const PAUSE: Record<string, string> = { '1.30': '3.9', '1.31': '3.10', '1.37': '3.10.1' };

/**
 * The interesting cases: 1.30 (kubeadm v1beta3, containerd 1.7), 1.31 (v1beta4, containerd 1.7),
 * 1.37 (v1beta4, containerd 2.x). Each varies other inputs too, so every branch of the renderers
 * shows in some golden file: cilium and a custom image repository on 1.31, the cn mirrors and IPVS
 * on 1.37.
 */
export const CASES = {
  '1.30': { version: 'v1.30.14', extra: {} },
  '1.31': {
    version: 'v1.31.14',
    extra: {
      network: { cni: 'cilium' },
      artifacts: { imageRepo: ['harbor.lab.internal/k8s'] },
      pki: { keyAlgorithm: 'ECDSA-P256' },
    },
  },
  '1.37': {
    version: 'v1.37.2',
    extra: {
      network: { proxyMode: 'ipvs' },
      artifacts: { mirrors: ['cn'] },
      controlPlane: { certSANs: ['api.lab.internal'] },
    },
  },
} as const satisfies Record<string, { version: string; extra: Partial<ClusterSpecInput> }>;

export type CaseName = keyof typeof CASES;
export const CASE_NAMES = Object.keys(CASES) as CaseName[];
export const FAMILIES: OsFamily[] = ['debian', 'rhel'];

export function specFor(c: CaseName): ClusterSpec {
  const { version, extra } = CASES[c];
  return ClusterSpecSchema.parse({
    name: 'prod',
    version,
    masters: [
      { ip: '10.77.0.11', name: 'm1' },
      { ip: '10.77.0.12', name: 'm2' },
      { ip: '10.77.0.13', name: 'm3' },
    ],
    workers: [
      {
        ip: '10.77.0.21',
        name: 'w1',
        labels: { 'node-role.kubernetes.io/worker': '', 'example.com/rack': 'r1' },
      },
      { ip: '10.77.0.22', name: 'w2' },
    ],
    ...extra,
  });
}

/** A rendering input for one node of the fixture cluster. */
export function inputFor(c: CaseName, family: OsFamily, nodeName: string): RenderInput {
  const spec = specFor(c);
  const node = clusterNodes(spec).find((n) => n.name === nodeName);
  if (!node) throw new Error(`no node ${nodeName}`);
  const version = checkVersionSupported(CASES[c].version);
  const master = node.role === 'master';
  const host: Host = {
    node: { ...node, name: nodeName },
    target: { name: nodeName, host: node.ip, port: 22, user: 'root' },
    facts: {
      hostname: nodeName,
      arch: 'amd64',
      os:
        family === 'rhel'
          ? { id: 'rocky', versionId: '9.4', family, pretty: 'Rocky Linux 9.4' }
          : { id: 'debian', versionId: '12', family, pretty: 'Debian GNU/Linux 12 (bookworm)' },
      kernel: '6.1.0-18-amd64',
      init: 'systemd',
      packageManager: family === 'rhel' ? 'dnf' : 'apt',
      cpus: 2,
      memoryMiB: 4096,
      swapOn: false,
      clockMs: 0,
      machineId: `${nodeName}-machine-id`,
      kube: { etcKubernetes: false },
    },
  };
  return {
    spec,
    host,
    version: version.version,
    components: nodeComponents(spec, version, { pause: PAUSE[c]! }),
    endpoint: {
      name: spec.controlPlane.endpoint,
      port: spec.controlPlane.port,
      resolveTo: master ? node.ip : '127.0.0.1',
    },
    masters: spec.masters.map((m) => ({ name: m.name!, ip: m.ip })),
  };
}

/** Deterministic stand-ins for the secrets the core draws from a CSPRNG. */
export const SECRETS = {
  token: 'abcdef.0123456789abcdef',
  certificateKey: 'e6a2eb8581237ab72a4f494f30285ec12a9694d750b9785706a83bfcbbbd2204',
  caCertHash: 'sha256:7c1e1d0b2b4e0e6f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081',
};

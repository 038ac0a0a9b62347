import { z } from 'zod';
import { API_VERSION, CNIS, CRIS, KEY_ALGORITHMS, LB_MODES, PROXY_MODES } from './spec-names.js';

/**
 * The cluster specification: what the user asked for, from flags and/or cluster.yaml.
 * The schema checks shape (and rejects unknown fields, so a typo never silently does nothing);
 * `validate.ts` checks meaning (addresses, names, overlaps) with errors that name the bad value.
 */

const port = z
  .number()
  .int()
  .min(1, 'must be a port from 1 to 65535')
  .max(65535, 'must be a port from 1 to 65535');

/** An IPv4 or IPv6 address; the JSON Schema carries the formats so editors check them too. */
const ipAddress = z.union([z.ipv4(), z.ipv6()], { error: 'must be an IPv4 or IPv6 address' });

const hours = z.string().regex(/^[1-9]\d*h$/, 'must be a whole number of hours, like 876000h');

const secretFrom = z
  .string()
  .regex(/^env:[A-Za-z_][A-Za-z0-9_]*$/, 'must be env:VARIABLE_NAME')
  .describe('Read the secret from an environment variable at run time, e.g. env:KUBEON_PASSWORD');

/** SSH login settings; every field is optional so node, role and global levels can be layered. */
export const SshAuthSchema = z
  .object({
    user: z
      .string()
      .min(1)
      .optional()
      .describe('Login user (default root). A non-root user must be able to sudo.'),
    port: port.optional().describe('SSH port (default 22)'),
    password: z.string().optional().describe('Login password (stored only in the 0600 cluster.yaml)'),
    passwordFrom: secretFrom.optional(),
    privateKeyFile: z.string().min(1).optional().describe('Path of a private key on the control machine'),
    privateKeyPassphrase: z.string().optional().describe('Passphrase of the private key'),
    privateKeyPassphraseFrom: secretFrom.optional(),
    sudoPassword: z.string().optional().describe('Password for sudo (default: the login password)'),
    sudoPasswordFrom: secretFrom.optional(),
  })
  .strict();
export type SshAuth = z.infer<typeof SshAuthSchema>;

export const NodeSchema = SshAuthSchema.extend({
  ip: ipAddress.describe('IPv4 or IPv6 address kubeon connects to and the node advertises'),
  name: z
    .string()
    .optional()
    .describe('Kubernetes node name (RFC 1123, lower case). Default: the node hostname at first contact'),
  labels: z.record(z.string(), z.string()).optional().describe('Kubernetes labels applied to the node'),
}).strict();
export type NodeSpec = z.infer<typeof NodeSchema>;

export const BastionSchema = SshAuthSchema.extend({
  host: z.string().min(1).describe('Jump host address'),
}).strict();
export type BastionSpec = z.infer<typeof BastionSchema>;

export const ClusterSpecSchema = z
  .object({
    apiVersion: z.literal(API_VERSION).default(API_VERSION),
    kind: z.literal('Cluster').default('Cluster'),
    name: z
      .string()
      .regex(
        /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
        'must be a DNS-1123 label (lower-case letters, digits, -)',
      )
      .describe('Cluster name (DNS-1123 label)'),
    version: z
      .string()
      .regex(/^v?\d+\.\d+\.\d+$/, 'must be a Kubernetes release like v1.31.2')
      .describe('Kubernetes version, vX.Y.Z'),
    ssh: z
      .object({
        defaults: SshAuthSchema.default({}).describe('Applies to every node'),
        masters: SshAuthSchema.default({}).describe('Applies to masters, over defaults'),
        workers: SshAuthSchema.default({}).describe('Applies to workers, over defaults'),
        bastion: BastionSchema.optional().describe('Jump host every connection goes through'),
      })
      .strict()
      .describe('SSH login settings, layered: node over role over defaults')
      .default({ defaults: {}, masters: {}, workers: {} }),
    masters: z.array(NodeSchema).describe('Control-plane nodes (stacked etcd); an odd count is best'),
    workers: z.array(NodeSchema).default([]).describe('Worker nodes'),
    controlPlane: z
      .object({
        endpoint: z
          .string()
          .default('apiserver.cluster.local')
          .describe('Name of the control-plane endpoint, resolved by /etc/hosts on every node'),
        mode: z
          .enum(LB_MODES)
          .default('haproxy')
          .describe(
            'haproxy: a local haproxy static pod on every worker; updater: a Service IP kept by a controller; external: your LB at lbIp',
          ),
        lbIp: ipAddress.optional().describe('External load balancer address (sets mode external)'),
        port: port
          .default(6443)
          .describe('Port of the control-plane endpoint (other than 6443 only with an external LB)'),
        serviceIP: ipAddress
          .optional()
          .describe(
            'updater mode: fixed ClusterIP of Service kube-system/apiserver (default: service CIDR base + 2, e.g. 10.96.0.2); must lie in the first 16-256 addresses of the service CIDR',
          ),
        certSANs: z.array(z.string()).default([]).describe('Extra names/IPs in the apiserver certificate'),
      })
      .strict()
      .default({ endpoint: 'apiserver.cluster.local', mode: 'haproxy', port: 6443, certSANs: [] }),
    network: z
      .object({
        serviceCIDR: z
          .string()
          .default('10.96.0.0/12')
          .describe('Service CIDR; its first address is the kubernetes Service IP'),
        podCIDR: z
          .string()
          .default('10.244.0.0/16')
          .describe('Pod CIDR; must not overlap services or node addresses'),
        dnsDomain: z.string().default('cluster.local').describe('Cluster DNS domain'),
        cni: z.enum(CNIS).default('calico').describe('Network plugin'),
        cniManifest: z
          .string()
          .min(1)
          .optional()
          .describe(
            'cilium only: the rendered Cilium chart (helm template output), a file on the control machine',
          ),
        proxyMode: z
          .enum(PROXY_MODES)
          .default('iptables')
          .describe('kube-proxy mode (ipvs needs the ip_vs modules)'),
        nodePortRange: z
          .string()
          .regex(/^\d+-\d+$/, 'must be LOW-HIGH, like 30000-32767')
          .default('30000-32767')
          .describe('NodePort range, LOW-HIGH'),
      })
      .strict()
      .default({
        serviceCIDR: '10.96.0.0/12',
        podCIDR: '10.244.0.0/16',
        dnsDomain: 'cluster.local',
        cni: 'calico',
        proxyMode: 'iptables',
        nodePortRange: '30000-32767',
      }),
    kubelet: z
      .object({
        maxPods: z
          .number()
          .int()
          .min(1, 'must be from 1 to 10000')
          .max(10000, 'must be from 1 to 10000')
          .default(110)
          .describe('Pods per node (kubelet maxPods)'),
      })
      .strict()
      .default({ maxPods: 110 }),
    runtime: z
      .object({ cri: z.enum(CRIS).default('containerd').describe('Container runtime') })
      .strict()
      .default({ cri: 'containerd' }),
    artifacts: z
      .object({
        mirrors: z
          .array(z.string())
          .default(['global'])
          .describe('Ordered list: global, cn, or base URLs of prefix mirrors'),
        imageRepo: z.array(z.string()).default([]).describe('Image repositories to try, in order'),
        offline: z.boolean().default(false).describe('Ship container images from the control machine'),
      })
      .strict()
      .default({ mirrors: ['global'], imageRepo: [], offline: false }),
    pki: z
      .object({
        certValidity: hours.default('876000h').describe('Validity of leaf certificates (100 years)'),
        caValidity: hours.default('876000h').describe('Validity of the CAs'),
        keyAlgorithm: z
          .enum(KEY_ALGORITHMS)
          .default('RSA-2048')
          .describe('Key type, as kubeadm encryptionAlgorithm'),
      })
      .strict()
      .default({ certValidity: '876000h', caValidity: '876000h', keyAlgorithm: 'RSA-2048' }),
  })
  .strict();

export type ClusterSpec = z.infer<typeof ClusterSpecSchema>;
export type ClusterSpecInput = z.input<typeof ClusterSpecSchema>;

export type Role = 'master' | 'worker';

/** JSON Schema for editors (yaml-language-server) validating cluster.yaml. */
export function clusterJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ClusterSpecSchema, { io: 'input' }) as Record<string, unknown>;
}

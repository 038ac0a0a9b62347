import type { z } from 'zod';
import { badInput, type KubeonError } from '../core/errors.js';
import { type Cidr, cidrContains, cidrsOverlap, ipFamily, parseCidr } from './net.js';
import { SECRET_KEYS } from './redact.js';
import {
  type ClusterSpec,
  type ClusterSpecInput,
  ClusterSpecSchema,
  type NodeSpec,
  type SshAuth,
} from './spec.js';

/**
 * Meaning checks on a cluster spec. Each failure is a one-line KubeonError (exit 2) that names the bad
 * value and says how to fix it; nothing is contacted. Warnings are returned, not thrown.
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const VERSION = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
const SSH_USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const GO_DURATION = /^([1-9]\d*)h$/;
const URL_MIRROR = /^https?:\/\/[^\s/]+(\/\S*)?$/;

export function validateClusterName(name: string): string {
  if (name.length > 63 || !DNS1123_LABEL.test(name)) {
    throw badInput(
      `cluster name "${name}" is not a DNS-1123 label`,
      'use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
    );
  }
  return name;
}

/** Accepts "1.31.2" or "v1.31.2"; returns "v1.31.2". */
export function normalizeVersion(version: string): string {
  const m = VERSION.exec(version.trim());
  if (!m) {
    throw badInput(
      `Kubernetes version "${version}" is not of the form vX.Y.Z`,
      'give a release such as v1.31.2',
    );
  }
  return `v${m[1]}.${m[2]}.${m[3]}`;
}

export function validateNodeName(name: string, where: string): void {
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    throw badInput(
      `node name "${name}" (${where}) is not a lower-case RFC 1123 name`,
      'use lower-case letters, digits, "-" and "."; e.g. master-1',
    );
  }
}

export function validateIp(ip: string, where: string): 4 | 6 {
  const family = ipFamily(ip);
  if (family === 0) {
    throw badInput(
      `"${ip}" (${where}) is not an IPv4 or IPv6 address`,
      'give the address as e.g. 192.0.2.10 or 2001:db8::10',
    );
  }
  if (ip === '0.0.0.0' || ip === '::' || ip === '255.255.255.255') {
    throw badInput(`"${ip}" (${where}) cannot be a node address`, 'give the address the node is reached at');
  }
  return family;
}

function validatePort(port: number, where: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw badInput(`port ${port} (${where}) is out of range`, 'use a port between 1 and 65535');
  }
}

function validateCidr(text: string, where: string): Cidr {
  const c = parseCidr(text);
  if (!c)
    throw badInput(`"${text}" (${where}) is not a CIDR`, 'write it as address/prefix, e.g. 10.96.0.0/12');
  if (!c.aligned) {
    throw badInput(`"${text}" (${where}) has host bits set`, `use the network address ${c.network}`);
  }
  return c;
}

function validateSsh(auth: SshAuth, where: string): void {
  if (auth.port !== undefined) validatePort(auth.port, `${where}.port`);
  if (auth.user !== undefined && !SSH_USER.test(auth.user)) {
    throw badInput(
      `SSH user "${auth.user}" (${where}.user) is not a valid user name`,
      'use a plain login name such as root or ops',
    );
  }
  if (auth.password !== undefined && auth.passwordFrom !== undefined) {
    throw badInput(`${where} has both password and passwordFrom`, 'keep only one of them');
  }
}

function validateDuration(text: string, where: string): void {
  if (!GO_DURATION.test(text)) {
    throw badInput(
      `validity "${text}" (${where}) is not a whole number of hours`,
      'write it like 876000h (100 years)',
    );
  }
}

export function validateMirror(m: string, where: string): void {
  if (m === 'global' || m === 'cn' || URL_MIRROR.test(m)) return;
  throw badInput(
    `mirror "${m}" (${where}) is not global, cn or an http(s) URL`,
    'use --mirror cn, or --mirror https://host/prefix',
  );
}

/** Turns the first schema problem into the one-line error users see. */
export function schemaError(error: z.ZodError, source: string, input?: unknown): KubeonError {
  const issue = error.issues[0]!;
  let value: unknown = input;
  for (const key of issue.path)
    value =
      value && typeof value === 'object'
        ? (value as Record<PropertyKey, unknown>)[key as PropertyKey]
        : undefined;
  const secret = SECRET_KEYS.has(String(issue.path.at(-1)));
  const shown =
    value === undefined || typeof value === 'object' || secret ? '' : ` (got ${JSON.stringify(value)})`;
  const path = issue.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.join(', ');
    return badInput(
      `${source}: unknown field ${keys}${path ? ` in ${path}` : ''}`,
      'remove it or fix its spelling (see README "cluster.yaml reference")',
    );
  }
  return badInput(
    `${source}: ${path || '(top level)'}: ${issue.message}${shown}`,
    'see README "cluster.yaml reference"',
  );
}

export interface Validated {
  spec: ClusterSpec;
  warnings: string[];
}

/** Parses raw input (already merged from file and flags) and checks every rule. */
export function validateSpec(input: ClusterSpecInput | unknown, source = 'cluster spec'): Validated {
  const parsed = ClusterSpecSchema.safeParse(input);
  if (!parsed.success) throw schemaError(parsed.error, source, input);
  const spec = parsed.data;
  const warnings: string[] = [];

  validateClusterName(spec.name);
  spec.version = normalizeVersion(spec.version);

  if (spec.masters.length === 0) {
    throw badInput('the cluster has no master', 'give at least one with -m IP (or masters: in cluster.yaml)');
  }
  if (spec.masters.length % 2 === 0) {
    warnings.push(
      `${spec.masters.length} masters: etcd tolerates no more failures than with ${spec.masters.length - 1}; an odd count is recommended`,
    );
  }

  validateSsh(spec.ssh.defaults, 'ssh.defaults');
  validateSsh(spec.ssh.masters, 'ssh.masters');
  validateSsh(spec.ssh.workers, 'ssh.workers');
  if (spec.ssh.bastion) {
    validateSsh(spec.ssh.bastion, 'ssh.bastion');
  }

  const byIp = new Map<string, string>();
  const byName = new Map<string, string>();
  const check = (n: NodeSpec, where: string) => {
    validateIp(n.ip, `${where}.ip`);
    validateSsh(n, where);
    const key = ipFamily(n.ip) === 6 ? n.ip.toLowerCase() : n.ip;
    const prev = byIp.get(key);
    if (prev)
      throw badInput(
        `duplicate IP ${n.ip}: ${prev} and ${where}`,
        'each node needs its own address; remove the repeated one',
      );
    byIp.set(key, where);
    if (n.name !== undefined) {
      validateNodeName(n.name, `${where}.name`);
      const prevName = byName.get(n.name);
      if (prevName)
        throw badInput(
          `duplicate node name "${n.name}": ${prevName} and ${where}`,
          'give every node a different name',
        );
      byName.set(n.name, where);
    }
    for (const [k, v] of Object.entries(n.labels ?? {})) validateLabel(k, v, `${where}.labels`);
  };
  for (const [i, n] of spec.masters.entries()) check(n, `masters[${i}]`);
  for (const [i, n] of spec.workers.entries()) check(n, `workers[${i}]`);

  const cp = spec.controlPlane;
  validatePort(cp.port, 'controlPlane.port (--lb-port)');
  if (cp.endpoint.length > 253 || !DNS1123_SUBDOMAIN.test(cp.endpoint) || ipFamily(cp.endpoint) !== 0) {
    throw badInput(
      `control-plane endpoint "${cp.endpoint}" is not a DNS name`,
      'give a name such as apiserver.cluster.local (--lb-domain); put an address in --lb-ip',
    );
  }
  if (cp.lbIp !== undefined) {
    validateIp(cp.lbIp, 'controlPlane.lbIp (--lb-ip)');
    if (cp.mode !== 'external') {
      throw badInput(
        `--lb-ip ${cp.lbIp} is set but the HA mode is ${cp.mode}`,
        'drop --lb-mode, or use --lb-mode external with --lb-ip',
      );
    }
  } else if (cp.mode === 'external') {
    throw badInput(
      'HA mode external needs the load balancer address',
      'give --lb-ip ADDRESS (and --lb-port if not 6443)',
    );
  }
  for (const san of cp.certSANs) {
    if (
      ipFamily(san) === 0 &&
      !/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(san)
    ) {
      throw badInput(
        `certificate SAN "${san}" is neither an IP nor a DNS name`,
        'give names like api.example.com or addresses',
      );
    }
  }

  const net = spec.network;
  const svc = validateCidr(net.serviceCIDR, 'network.serviceCIDR (--svc-cidr)');
  const pod = validateCidr(net.podCIDR, 'network.podCIDR (--pod-cidr)');
  if (svc.family === 4 && svc.bits < 12) {
    throw badInput(
      `service CIDR ${net.serviceCIDR} is larger than kube-apiserver allows`,
      'use a prefix of /12 or longer, e.g. 10.96.0.0/12',
    );
  }
  if (svc.family === 6 && svc.bits < 108) {
    throw badInput(
      `service CIDR ${net.serviceCIDR} is larger than kube-apiserver allows`,
      'use an IPv6 prefix of /108 or longer',
    );
  }
  if (cidrsOverlap(svc, pod)) {
    throw badInput(
      `service CIDR ${net.serviceCIDR} overlaps pod CIDR ${net.podCIDR}`,
      'choose ranges that do not overlap, e.g. --svc-cidr 10.96.0.0/12 --pod-cidr 10.244.0.0/16',
    );
  }
  for (const [ip, where] of byIp) {
    for (const [c, flag] of [
      [svc, '--svc-cidr'],
      [pod, '--pod-cidr'],
    ] as const) {
      if (cidrContains(c, ip)) {
        throw badInput(
          `node address ${ip} (${where}) lies inside ${flag} ${c.text}`,
          `choose a ${flag} range that does not contain node addresses`,
        );
      }
    }
  }
  if (net.dnsDomain.length > 253 || !DNS1123_SUBDOMAIN.test(net.dnsDomain)) {
    throw badInput(`DNS domain "${net.dnsDomain}" is not a DNS name`, 'use e.g. cluster.local');
  }
  const range = /^(\d+)-(\d+)$/.exec(net.nodePortRange);
  const lo = Number(range?.[1]);
  const hi = Number(range?.[2]);
  if (!range || lo < 1 || hi > 65535 || lo >= hi) {
    throw badInput(
      `NodePort range "${net.nodePortRange}" is not LOW-HIGH within 1-65535`,
      'use e.g. 30000-32767',
    );
  }
  if (net.proxyMode === 'ipvs') {
    warnings.push('kube-proxy IPVS mode needs the ip_vs kernel modules on every node');
  }

  if (spec.kubelet.maxPods < 1 || spec.kubelet.maxPods > 10000) {
    throw badInput(
      `max pods ${spec.kubelet.maxPods} is out of range`,
      'use a number between 1 and 10000 (kubelet default 110)',
    );
  }
  for (const [i, m] of spec.artifacts.mirrors.entries()) validateMirror(m, `artifacts.mirrors[${i}]`);
  validateDuration(spec.pki.certValidity, 'pki.certValidity');
  validateDuration(spec.pki.caValidity, 'pki.caValidity');

  return { spec, warnings };
}

const LABEL_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

function validateLabel(key: string, value: string, where: string): void {
  if (!LABEL_NAME.test(key))
    throw badInput(
      `label key "${key}" (${where}) is not a valid Kubernetes label name`,
      'use e.g. node-role/gpu or zone',
    );
  if (!LABEL_VALUE.test(value))
    throw badInput(
      `label value "${value}" (${where}) is not a valid Kubernetes label value`,
      'use at most 63 letters, digits, "-", "_" and "."',
    );
}

import type { z } from 'zod';
import { badInput, type KubeonError } from '../core/errors.js';
import { didYouMean, plural } from '../core/suggest.js';
import { updaterServiceIp } from '../ha/updater/service-ip.js';
import { validateClusterName } from './name.js';
import { type Cidr, cidrContains, cidrsOverlap, ipFamily, parseCidr } from './net.js';
import { SECRET_KEYS } from './redact.js';
import {
  type ClusterSpec,
  type ClusterSpecInput,
  ClusterSpecSchema,
  type NodeSpec,
  type SshAuth,
} from './spec.js';
import { fieldsAt } from './spec-doc.js';

/**
 * Meaning checks on a cluster spec. Each failure is a one-line KubeonError (exit 2) that names the bad
 * value and says how to fix it; nothing is contacted. Warnings are returned, not thrown.
 */

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const VERSION = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
const SSH_USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const URL_MIRROR = /^https?:\/\/[^\s/]+(\/\S*)?$/;

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

function validateCidr(text: string, path: string, origin: SpecOrigin): Cidr {
  const c = parseCidr(text);
  if (!c)
    throw origin.fail(
      path,
      `"${text}" (${origin.where(path)}) is not a CIDR`,
      'write it as address/prefix, e.g. 10.96.0.0/12',
    );
  if (!c.aligned) {
    throw origin.fail(
      path,
      `"${text}" (${origin.where(path)}) has host bits set`,
      `use the network address ${c.network}`,
    );
  }
  return c;
}

function validateSsh(auth: SshAuth, path: string, origin: SpecOrigin): void {
  if (auth.user !== undefined && !SSH_USER.test(auth.user)) {
    throw origin.fail(
      `${path}.user`,
      `SSH user "${auth.user}" (${origin.where(`${path}.user`)}) is not a valid user name`,
      'use a plain login name such as root or ops',
    );
  }
  if (auth.password !== undefined && auth.passwordFrom !== undefined) {
    throw origin.fail(
      `${path}.passwordFrom`,
      `${path} has both password and passwordFrom`,
      'keep only one of them',
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

/** `masters[0].ip` -> `masters.ip`: the path `kubeon explain` takes. */
export function explainPath(path: string): string {
  return path.replace(/\[\d+\]/g, '');
}

/** `masters[0].ip` from a zod issue path. */
function pathText(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
}

/**
 * Names where a value came from: the flag that set it, else the file and field, else the field.
 * Every fix points to `kubeon explain FIELD`, which the binary's users have (unlike the README).
 */
export class SpecOrigin {
  constructor(
    readonly source = 'cluster spec',
    readonly flags: ReadonlyMap<string, string> = new Map(),
  ) {}

  where(path: string): string {
    const flag = this.flags.get(path);
    if (flag) return flag;
    return this.source === 'cluster spec' || this.source === 'command line'
      ? path
      : `${this.source}: ${path}`;
  }

  fail(path: string, message: string, fix: string): KubeonError {
    const field = explainPath(path);
    return badInput(message, `${fix}; see kubeon explain${field ? ` ${field}` : ''}`);
  }
}

/** Turns the first schema problem into the one-line error users see. */
export function schemaError(error: z.ZodError, source: string | SpecOrigin, input?: unknown): KubeonError {
  const origin = typeof source === 'string' ? new SpecOrigin(source) : source;
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
  const path = pathText(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const known = fieldsAt(issue.path as (string | number)[]);
    const field = path ? `${path}.${key}` : key;
    const where = origin.source === 'cluster spec' ? '' : `${origin.source}: `;
    return badInput(
      `${where}unknown field ${field}`,
      `${didYouMean(key, known)}fields here: ${known.join(', ')}; see kubeon explain${path ? ` ${explainPath(path)}` : ''}`,
    );
  }
  return origin.fail(
    path,
    `${origin.where(path || '(top level)')}: ${issue.message}${shown}`,
    'fix the value',
  );
}

export interface Validated {
  spec: ClusterSpec;
  warnings: string[];
}

/**
 * Parses raw input (already merged from file and flags) and checks every rule. `source` names the
 * file (or "command line"); `flags` maps field paths to the flag that set them, so an error names
 * what the user typed.
 */
export function validateSpec(
  input: ClusterSpecInput | unknown,
  source = 'cluster spec',
  flags: ReadonlyMap<string, string> = new Map(),
): Validated {
  const origin = new SpecOrigin(source, flags);
  const at = (path: string) => origin.where(path);
  const parsed = ClusterSpecSchema.safeParse(input);
  if (!parsed.success) throw schemaError(parsed.error, origin, input);
  const spec = parsed.data;
  const warnings: string[] = [];

  validateClusterName(spec.name);
  spec.version = normalizeVersion(spec.version);

  if (spec.masters.length === 0) {
    throw badInput('the cluster has no master', 'give at least one with -m IP (or masters: in cluster.yaml)');
  }
  if (spec.masters.length % 2 === 0) {
    warnings.push(
      `${plural(spec.masters.length, 'master')}: etcd tolerates no more failures than with ${spec.masters.length - 1}; an odd count is recommended`,
    );
  }

  for (const level of ['defaults', 'masters', 'workers', 'bastion'] as const) {
    const auth = spec.ssh[level];
    if (auth) validateSsh(auth, `ssh.${level}`, origin);
  }

  const byIp = new Map<string, string>();
  const byName = new Map<string, string>();
  const check = (n: NodeSpec, path: string) => {
    validateIp(n.ip, at(`${path}.ip`));
    validateSsh(n, path, origin);
    const key = ipFamily(n.ip) === 6 ? n.ip.toLowerCase() : n.ip;
    const prev = byIp.get(key);
    if (prev)
      throw badInput(
        `duplicate IP ${n.ip}: ${prev} and ${path}`,
        'each node needs its own address; remove the repeated one',
      );
    byIp.set(key, path);
    if (n.name !== undefined) {
      validateNodeName(n.name, at(`${path}.name`));
      const prevName = byName.get(n.name);
      if (prevName)
        throw badInput(
          `duplicate node name "${n.name}": ${prevName} and ${path}`,
          'give every node a different name',
        );
      byName.set(n.name, path);
    }
    for (const [k, v] of Object.entries(n.labels ?? {})) validateLabel(k, v, at(`${path}.labels`));
  };
  for (const [i, n] of spec.masters.entries()) check(n, `masters[${i}]`);
  for (const [i, n] of spec.workers.entries()) check(n, `workers[${i}]`);

  const cp = spec.controlPlane;
  if (cp.endpoint.length > 253 || !DNS1123_SUBDOMAIN.test(cp.endpoint) || ipFamily(cp.endpoint) !== 0) {
    throw origin.fail(
      'controlPlane.endpoint',
      `control-plane endpoint "${cp.endpoint}" (${at('controlPlane.endpoint')}) is not a DNS name`,
      'give a name such as apiserver.cluster.local; put an address in controlPlane.lbIp (--lb-ip)',
    );
  }
  if (cp.lbIp !== undefined) {
    validateIp(cp.lbIp, at('controlPlane.lbIp'));
    if (cp.mode !== 'external') {
      throw origin.fail(
        'controlPlane.mode',
        `${at('controlPlane.lbIp')} ${cp.lbIp} is set but the HA mode (${at('controlPlane.mode')}) is ${cp.mode}`,
        'drop the mode, or set it to external with the load balancer address',
      );
    }
  } else if (cp.mode === 'external') {
    throw origin.fail(
      'controlPlane.lbIp',
      `HA mode external (${at('controlPlane.mode')}) needs the load balancer address`,
      'give --lb-ip ADDRESS (controlPlane.lbIp) and --lb-port if not 6443',
    );
  }
  if (cp.port !== 6443 && cp.mode !== 'external') {
    throw origin.fail(
      'controlPlane.port',
      `control-plane port ${cp.port} (${at('controlPlane.port')}) is only for an external load balancer: in ${cp.mode} mode workers reach the apiservers on 6443`,
      'drop --lb-port, or give --lb-ip ADDRESS of a load balancer listening on that port',
    );
  }
  for (const san of cp.certSANs) {
    if (
      ipFamily(san) === 0 &&
      !/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(san)
    ) {
      throw origin.fail(
        'controlPlane.certSANs',
        `certificate SAN "${san}" (${at('controlPlane.certSANs')}) is neither an IP nor a DNS name`,
        'give names like api.example.com or addresses',
      );
    }
  }

  const net = spec.network;
  const svc = validateCidr(net.serviceCIDR, 'network.serviceCIDR', origin);
  const pod = validateCidr(net.podCIDR, 'network.podCIDR', origin);
  if (cp.serviceIP !== undefined) {
    if (cp.mode !== 'updater') {
      throw origin.fail(
        'controlPlane.serviceIP',
        `${at('controlPlane.serviceIP')} ${cp.serviceIP} is set but the HA mode (${at('controlPlane.mode')}) is ${cp.mode}`,
        'drop it, or set the mode to updater (--lb-mode updater)',
      );
    }
    updaterServiceIp(spec.network.serviceCIDR, cp.serviceIP);
  }
  if ((svc.family === 4 && svc.bits < 12) || (svc.family === 6 && svc.bits < 108)) {
    throw origin.fail(
      'network.serviceCIDR',
      `service CIDR ${net.serviceCIDR} (${at('network.serviceCIDR')}) is larger than kube-apiserver allows`,
      svc.family === 4
        ? 'use a prefix of /12 or longer, e.g. 10.96.0.0/12'
        : 'use an IPv6 prefix of /108 or longer',
    );
  }
  if (cidrsOverlap(svc, pod)) {
    throw origin.fail(
      'network.podCIDR',
      `service CIDR ${net.serviceCIDR} overlaps pod CIDR ${net.podCIDR}`,
      'choose ranges that do not overlap, e.g. --svc-cidr 10.96.0.0/12 --pod-cidr 10.244.0.0/16',
    );
  }
  for (const [ip, where] of byIp) {
    for (const [c, path, flag] of [
      [svc, 'network.serviceCIDR', '--svc-cidr'],
      [pod, 'network.podCIDR', '--pod-cidr'],
    ] as const) {
      if (cidrContains(c, ip)) {
        throw origin.fail(
          path,
          `node address ${ip} (${at(`${where}.ip`)}) lies inside ${flag} ${c.text} (${path})`,
          `choose a ${flag} range that does not contain node addresses`,
        );
      }
    }
  }
  if (net.dnsDomain.length > 253 || !DNS1123_SUBDOMAIN.test(net.dnsDomain)) {
    throw origin.fail(
      'network.dnsDomain',
      `DNS domain "${net.dnsDomain}" (${at('network.dnsDomain')}) is not a DNS name`,
      'use e.g. cluster.local',
    );
  }
  const range = /^(\d+)-(\d+)$/.exec(net.nodePortRange);
  const lo = Number(range?.[1]);
  const hi = Number(range?.[2]);
  if (!range || lo < 1 || hi > 65535 || lo >= hi) {
    throw origin.fail(
      'network.nodePortRange',
      `NodePort range "${net.nodePortRange}" (${at('network.nodePortRange')}) is not LOW-HIGH within 1-65535`,
      'use e.g. 30000-32767',
    );
  }
  if (net.proxyMode === 'ipvs') {
    warnings.push('kube-proxy IPVS mode needs the ip_vs kernel modules on every node');
  }
  for (const [i, m] of spec.artifacts.mirrors.entries()) validateMirror(m, at(`artifacts.mirrors[${i}]`));

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

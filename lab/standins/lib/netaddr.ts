/**
 * The address and name parsers kubeadm's validation relies on, with Go's semantics:
 * net.ParseCIDR / netutils.ParseCIDRSloppy, net.SplitHostPort, and the RFC 1123 checks of
 * k8s.io/apimachinery/pkg/util/validation.
 */
import { isIP } from 'node:net';

export interface Cidr {
  family: 4 | 6;
  ones: number;
  bits: 32 | 128;
  /** the network address (host bits cleared), as a number */
  network: bigint;
}

function v4ToBig(ip: string): bigint {
  return ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function v6ToBig(ip: string): bigint {
  let text = ip;
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4tail) {
    const n = v4ToBig(v4tail[1]!);
    text = `${text.slice(0, -v4tail[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

/** netutils.ParseIPSloppy: an IPv4 address (leading zeros allowed) or an IPv6 address. */
export function ipFamily(text: string): 4 | 6 | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text))
    return text.split('.').every((p) => Number(p) <= 255) ? 4 : undefined;
  return isIP(text) === 6 ? 6 : undefined;
}

export function parseCidr(text: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const family = ipFamily(m[1]!);
  if (!family) return undefined;
  const bits = family === 4 ? 32 : 128;
  const ones = Number(m[2]);
  if (ones > bits) return undefined;
  const addr = family === 4 ? v4ToBig(m[1]!) : v6ToBig(m[1]!);
  const hostBits = BigInt(bits - ones);
  return { family, ones, bits, network: (addr >> hostBits) << hostBits };
}

/** How *net.IPNet prints: the masked network and the prefix length. */
export function cidrString(c: Cidr): string {
  if (c.family === 4) {
    const b = [24n, 16n, 8n, 0n].map((s) => Number((c.network >> s) & 0xffn));
    return `${b.join('.')}/${c.ones}`;
  }
  const groups = Array.from({ length: 8 }, (_, i) => Number((c.network >> BigInt(112 - i * 16)) & 0xffffn));
  // RFC 5952: the longest run of two or more zero groups becomes "::"
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  const text =
    best.at < 0
      ? hex.join(':')
      : `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
  return `${text}/${c.ones}`;
}

/** netutils.RangeSize: how many addresses a subnet holds (0 for /31, /32, /127, /128). */
export function rangeSize(c: Cidr): bigint {
  const host = c.bits - c.ones;
  if ((c.bits === 32 && host >= 31) || (c.bits === 128 && host >= 127)) return 0n;
  if (host >= 63) return 2n ** 63n - 1n;
  return 1n << BigInt(host);
}

/** Go's net.SplitHostPort, with its error texts. */
export function splitHostPort(hostport: string): { host: string; port: string } | { error: string } {
  const fail = (why: string) => ({ error: `address ${hostport}: ${why}` });
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    if (end < 0) return fail("missing ']' in address");
    const rest = hostport.slice(end + 1);
    if (rest === '') return fail('missing port in address');
    if (!rest.startsWith(':')) return fail('missing port in address');
    if (rest.slice(1).includes(':')) return fail('too many colons');
    return { host: hostport.slice(1, end), port: rest.slice(1) };
  }
  const i = hostport.lastIndexOf(':');
  if (i < 0) return fail('missing port in address');
  const host = hostport.slice(0, i);
  if (host.includes(':')) return fail('too many colons');
  if (host.includes('[') || host.includes(']')) return fail("unexpected '[' in address");
  return { host, port: hostport.slice(i + 1) };
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** validation.IsDNS1123Subdomain. */
export function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push('must be no more than 253 characters');
  if (!DNS1123_SUBDOMAIN.test(value)) {
    errs.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
  }
  return errs;
}

/** validation.IsWildcardDNS1123Subdomain. */
export function wildcardDns1123Errors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push('must be no more than 253 characters');
  if (!value.startsWith('*.') || !DNS1123_SUBDOMAIN.test(value.slice(2))) {
    errs.push(
      "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
  }
  return errs;
}

/**
 * kubeadmutil.ParseHostPort: `host[:port]` where host is an IP or an RFC 1123 subdomain and port
 * is 1-65535; a scheme or a path is not a host.
 */
export function parseHostPort(hostport: string): { host: string; port: string } | { error: string } {
  const split = splitHostPort(hostport);
  const { host, port } = 'error' in split ? { host: hostport, port: '' } : split;
  if (port !== '' && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    return {
      error: `hostport ${hostport}: port ${port} must be a valid number between 1 and 65535, inclusive`,
    };
  }
  if (ipFamily(host) || dns1123SubdomainErrors(host).length === 0) return { host, port };
  return {
    error: `hostport ${hostport}: host '${host}' must be a valid IP address or a valid RFC-1123 DNS subdomain`,
  };
}

import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Address arithmetic used by validation, PKI (first service IP) and HA rendering. */

export interface Cidr {
  text: string;
  family: 4 | 6;
  start: bigint;
  end: bigint;
  bits: number;
}

function toBigInt(addr: ipaddr.IPv4 | ipaddr.IPv6): bigint {
  return addr.toByteArray().reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
}

export function fromBigInt(value: bigint, family: 4 | 6): string {
  const len = family === 4 ? 4 : 16;
  const bytes: number[] = [];
  let v = value;
  for (let i = 0; i < len; i++) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

export function ipFamily(ip: string): 0 | 4 | 6 {
  return isIP(ip) as 0 | 4 | 6;
}

export function ipToBigInt(ip: string): bigint {
  return toBigInt(ipaddr.parse(ip));
}

/** Parses "a.b.c.d/n"; returns undefined for bad syntax. `aligned` is false when host bits are set. */
export function parseCidr(text: string): (Cidr & { aligned: boolean; network: string }) | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = text.slice(0, slash);
  const family = ipFamily(ip);
  if (family === 0 || !/^\d{1,3}$/.test(text.slice(slash + 1))) return undefined;
  const bits = Number(text.slice(slash + 1));
  const width = family === 4 ? 32 : 128;
  if (bits > width) return undefined;
  const value = toBigInt(ipaddr.parse(ip));
  const hostBits = BigInt(width - bits);
  const start = (value >> hostBits) << hostBits;
  const end = start + (1n << hostBits) - 1n;
  return {
    text,
    family,
    start,
    end,
    bits,
    aligned: start === value,
    network: `${fromBigInt(start, family)}/${bits}`,
  };
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.start <= b.end && b.start <= a.end;
}

export function cidrContains(c: Cidr, ip: string): boolean {
  const family = ipFamily(ip);
  if (family !== c.family) return false;
  const v = ipToBigInt(ip);
  return v >= c.start && v <= c.end;
}

/** The n-th address of a CIDR: n=1 is the kubernetes Service IP, n=10 is kubeadm's DNS Service IP. */
export function nthAddress(c: Cidr, n: number): string {
  return fromBigInt(c.start + BigInt(n), c.family);
}

/**
 * ClusterIP allocation for Services from --service-cluster-ip-range, as
 * pkg/registry/core/service/ipallocator does with the MultiCIDRServiceAllocator (one IPAddress
 * object per allocated IP, created only if absent, so two apiservers cannot hand out the same IP):
 * a fixed spec.clusterIP must lie in the range and be free, otherwise 422 with the real message;
 * without one, a free IP is picked at random, from the upper part of the range first
 * (ServiceIPStaticSubrange), never the network or broadcast address.
 */
import { randomInt } from 'node:crypto';
import { HttpError, type Obj } from './api-types.js';
import type { Etcd } from './etcd.js';

const KEY = '/registry/ipaddresses/';

function toInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return undefined;
  return ((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!;
}

const toIp = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

export class ServiceRange {
  readonly base: number;
  readonly size: number;

  constructor(readonly cidr: string) {
    const [net, bits] = cidr.split(',')[0]!.split('/');
    const base = toInt(net ?? '');
    const prefix = Number(bits);
    if (base === undefined || !(prefix >= 8 && prefix <= 30))
      throw new Error(
        `[stand-in] --service-cluster-ip-range ${cidr}: only a single IPv4 CIDR is implemented`,
      );
    this.size = 2 ** (32 - prefix);
    this.base = base - (base % this.size);
  }

  /** The first usable address: the default/kubernetes Service's. */
  first(): string {
    return toIp(this.base + 1);
  }

  private contains(n: number): boolean {
    return n > this.base && n < this.base + this.size - 1;
  }

  private invalid(svc: Obj, ip: string, why: string): HttpError {
    return new HttpError(
      422,
      'Invalid',
      `Service "${String(svc.metadata.name)}" is invalid: spec.clusterIPs: Invalid value: []string{"${ip}"}: failed to allocate IP ${ip}: ${why}`,
    );
  }

  private async claim(etcd: Etcd, ip: string, svc: Obj): Promise<boolean> {
    const record = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IPAddress',
      metadata: { name: ip, labels: { 'ipaddress.kubernetes.io/managed-by': 'ipallocator.k8s.io' } },
      spec: {
        parentRef: {
          group: '',
          resource: 'services',
          namespace: String(svc.metadata.namespace),
          name: String(svc.metadata.name),
        },
      },
    };
    return (await etcd.putIf(`${KEY}${ip}`, JSON.stringify(record), '0')) !== undefined;
  }

  /** Sets spec.clusterIP(s) of a new ClusterIP/NodePort/LoadBalancer Service, or throws 422. */
  async allocate(etcd: Etcd, svc: Obj): Promise<void> {
    const spec = (svc.spec ?? {}) as Record<string, unknown>;
    svc.spec = spec;
    if (spec.type === 'ExternalName' || spec.clusterIP === 'None') return;
    const wanted = (spec.clusterIP as string | undefined) || (spec.clusterIPs as string[] | undefined)?.[0];
    let ip: string;
    if (wanted) {
      const n = toInt(wanted);
      if (n === undefined)
        throw new HttpError(
          422,
          'Invalid',
          `Service "${String(svc.metadata.name)}" is invalid: spec.clusterIPs[0]: Invalid value: "${wanted}": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`,
        );
      if (!this.contains(n))
        throw this.invalid(
          svc,
          wanted,
          `provided IP is not in the valid range. The range of valid IPs is ${this.cidr}`,
        );
      if (!(await this.claim(etcd, wanted, svc)))
        throw this.invalid(svc, wanted, 'provided IP is already allocated');
      ip = wanted;
    } else {
      ip = await this.next(etcd, svc);
    }
    spec.clusterIP = ip;
    spec.clusterIPs = [ip];
    spec.ipFamilies = ['IPv4'];
    spec.ipFamilyPolicy = spec.ipFamilyPolicy ?? 'SingleStack';
    spec.type = spec.type ?? 'ClusterIP';
  }

  private async next(etcd: Etcd, svc: Obj): Promise<string> {
    const usable = this.size - 2;
    // the static band: min(max(16, size/16), 256) addresses at the bottom, used only when the rest is full
    const band = Math.min(Math.max(16, Math.floor(this.size / 16)), 256);
    const taken = new Set((await etcd.list(KEY)).map((kv) => toInt(kv.key.slice(KEY.length))));
    const free = (lo: number, hi: number) => {
      const pick: number[] = [];
      for (let tries = 0; tries < 64 && pick.length === 0; tries++) {
        const n = this.base + lo + randomInt(hi - lo);
        if (!taken.has(n)) pick.push(n);
      }
      for (let n = this.base + lo; pick.length === 0 && n < this.base + hi; n++)
        if (!taken.has(n)) pick.push(n);
      return pick[0];
    };
    for (const [lo, hi] of usable > band
      ? [
          [band + 1, usable + 1],
          [1, band + 1],
        ]
      : [[1, usable + 1]]) {
      for (let n = free(lo!, hi!); n !== undefined; n = free(lo!, hi!)) {
        if (await this.claim(etcd, toIp(n), svc)) return toIp(n);
        taken.add(n);
      }
    }
    throw new HttpError(
      500,
      'InternalError',
      'Internal error occurred: failed to allocate a serviceIP: range is full',
    );
  }

  async release(etcd: Etcd, svc: Obj): Promise<void> {
    const ip = ((svc.spec ?? {}) as { clusterIP?: string }).clusterIP;
    if (ip && ip !== 'None') await etcd.delete(`${KEY}${ip}`);
  }
}

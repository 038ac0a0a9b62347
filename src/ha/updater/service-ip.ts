import { cidrContains, ipFamily, ipToBigInt, nthAddress, parseCidr } from '../../cluster/net.js';
import { badInput } from '../../core/errors.js';

/**
 * The fixed ClusterIP of Service kube-system/apiserver. Default: the service CIDR's base + 2, next to
 * the kubernetes Service (+1) and clear of kube-dns (+10, kubeadm's choice). It must sit in the
 * CIDR's static band (KEP-3070: the first min(max(16, size/16), 256) addresses), which the apiserver
 * hands out dynamically only when the rest of the range is full, so no other Service can have taken
 * it by the time kubeon creates this one.
 */
export const DEFAULT_OFFSET = 2;
const RESERVED: Record<number, string> = {
  0: 'the network address',
  1: 'the kubernetes Service IP',
  10: "kube-dns's Service IP",
};

function staticBand(size: bigint): bigint {
  const sixteenth = size / 16n;
  const wanted = sixteenth > 16n ? sixteenth : 16n;
  return wanted < 256n ? wanted : 256n;
}

export function updaterServiceIp(serviceCIDR: string, requested?: string): string {
  const cidr = parseCidr(serviceCIDR);
  if (!cidr) throw badInput(`service CIDR "${serviceCIDR}" is not a CIDR`, 'write it as 10.96.0.0/12');
  if (requested === undefined) return nthAddress(cidr, DEFAULT_OFFSET);
  const fix = `use an address among the first ${staticBand(cidr.end - cidr.start + 1n)} of ${serviceCIDR}, e.g. ${nthAddress(cidr, DEFAULT_OFFSET)} (the default)`;
  if (ipFamily(requested) === 0)
    throw badInput(`updater Service IP "${requested}" is not an IP address`, fix);
  if (!cidrContains(cidr, requested)) {
    throw badInput(`updater Service IP ${requested} is outside the service CIDR ${serviceCIDR}`, fix);
  }
  const offset = ipToBigInt(requested) - cidr.start;
  const taken = RESERVED[Number(offset)];
  if (offset < 16n && taken) throw badInput(`updater Service IP ${requested} is ${taken}`, fix);
  if (offset > staticBand(cidr.end - cidr.start + 1n)) {
    throw badInput(
      `updater Service IP ${requested} is outside the static band of ${serviceCIDR}, where another Service may take it first`,
      fix,
    );
  }
  return requested;
}

/**
 * Field validation for the kinds a controller writes and the stand-in checks, with the messages
 * of field.ErrorList aggregated by errors.NewInvalid: EndpointSlices
 * (pkg/apis/discovery/validation/validation.go) and Leases (pkg/apis/coordination/validation).
 */
import { HttpError, type Obj } from './api-types.js';
import type { ResourceInfo } from './resources.js';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];
const MAX_ENDPOINTS = 1000;
const MAX_ADDRESSES = 100;

function endpointSliceErrors(o: Obj, old: Obj | undefined): string[] {
  const errs: string[] = [];
  const addressType = o.addressType as string | undefined;
  if (!ADDRESS_TYPES.includes(addressType ?? '')) {
    errs.push(
      `addressType: Unsupported value: "${addressType ?? ''}": supported values: ${ADDRESS_TYPES.map((t) => `"${t}"`).join(', ')}`,
    );
  }
  const endpoints = (o.endpoints ?? []) as { addresses?: string[] }[];
  if (endpoints.length > MAX_ENDPOINTS) {
    errs.push(`endpoints: Too many: ${endpoints.length}: must have at most ${MAX_ENDPOINTS} items`);
    return errs;
  }
  endpoints.forEach((e, i) => {
    const path = `endpoints[${i}].addresses`;
    const addresses = e.addresses ?? [];
    if (addresses.length === 0) errs.push(`${path}: Required value: must contain at least 1 address`);
    else if (addresses.length > MAX_ADDRESSES)
      errs.push(`${path}: Too many: ${addresses.length}: must have at most ${MAX_ADDRESSES} items`);
    if (addressType === 'IPv4') {
      addresses.forEach((a, j) => {
        if (!IPV4.test(a)) errs.push(`${path}[${j}]: Invalid value: "${a}": must be a valid IPv4 address`);
      });
    }
  });
  if (old && old.addressType !== addressType) {
    errs.push(`addressType: Invalid value: "${addressType ?? ''}": field is immutable`);
  }
  return errs;
}

function leaseErrors(o: Obj): string[] {
  const spec = (o.spec ?? {}) as { leaseDurationSeconds?: number; leaseTransitions?: number };
  const errs: string[] = [];
  if (spec.leaseDurationSeconds !== undefined && spec.leaseDurationSeconds <= 0)
    errs.push(
      `spec.leaseDurationSeconds: Invalid value: ${spec.leaseDurationSeconds}: must be greater than 0`,
    );
  if (spec.leaseTransitions !== undefined && spec.leaseTransitions < 0)
    errs.push(
      `spec.leaseTransitions: Invalid value: ${spec.leaseTransitions}: must be greater than or equal to 0`,
    );
  return errs;
}

/** Throws 422 Invalid when `o` (replacing `old`, if given) breaks its kind's validation. */
export function validate(info: ResourceInfo, o: Obj, old?: Obj): void {
  const errs =
    info.group === 'discovery.k8s.io' && info.resource === 'endpointslices'
      ? endpointSliceErrors(o, old)
      : info.group === 'coordination.k8s.io' && info.resource === 'leases'
        ? leaseErrors(o)
        : [];
  if (errs.length === 0) return;
  const detail = errs.length === 1 ? errs[0] : `[${errs.join(', ')}]`;
  throw new HttpError(
    422,
    'Invalid',
    `${info.kind}.${info.group} "${String(o.metadata.name)}" is invalid: ${detail}`,
  );
}

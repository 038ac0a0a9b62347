/**
 * What the updater's EndpointSlice should hold, as pure functions of the `default/kubernetes` slice
 * (which the apiservers themselves keep equal to the live apiservers) and the slice as it stands.
 */

export interface EndpointSlice {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    [key: string]: unknown;
  };
  addressType: string;
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean | null } }[] | null;
  ports?: { name?: string; port?: number; protocol?: string }[] | null;
}

/** The ready apiserver addresses, sorted, so two slices compare by content and not by order. */
export function liveAddresses(slice: EndpointSlice): string[] {
  const out = new Set<string>();
  for (const e of slice.endpoints ?? []) {
    // An unset `ready` means ready (EndpointConditions: "nil should be interpreted as true").
    if (e.conditions?.ready === false) continue;
    for (const a of e.addresses) out.add(a);
  }
  return [...out].sort();
}

/** The apiservers' secure port as the kubernetes slice carries it (6443 with kubeadm's defaults). */
function sourcePort(source: EndpointSlice): number | undefined {
  const ports = source.ports ?? [];
  return (ports.find((p) => p.name === 'https') ?? ports[0])?.port;
}

export interface SliceOwner {
  serviceName: string;
  managedBy: string;
  portName: string;
}

export interface SliceChange {
  next: EndpointSlice;
  from: string[];
  to: string[];
}

/**
 * The update that makes `target` mirror `source`, or undefined when nothing must change. A source
 * with no ready address (or of another address family, since addressType is immutable) is not
 * mirrored: stale addresses serve workers better than an empty Service.
 */
export function planSliceUpdate(
  source: EndpointSlice,
  target: EndpointSlice,
  owner: SliceOwner,
): SliceChange | { skip: string } | undefined {
  const to = liveAddresses(source);
  const port = sourcePort(source);
  if (to.length === 0) return { skip: 'the kubernetes slice has no ready address' };
  if (port === undefined) return { skip: 'the kubernetes slice has no port' };
  if (source.addressType !== target.addressType) {
    return { skip: `address type ${source.addressType} differs from the Service's ${target.addressType}` };
  }
  const from = liveAddresses(target);
  const labels = {
    ...target.metadata.labels,
    'kubernetes.io/service-name': owner.serviceName,
    'endpointslice.kubernetes.io/managed-by': owner.managedBy,
  };
  const ports = [{ name: owner.portName, port, protocol: 'TCP' }];
  const have = target.ports ?? [];
  const same =
    from.join(',') === to.join(',') &&
    (target.endpoints ?? []).length === to.length &&
    have.length === 1 &&
    have[0]!.name === owner.portName &&
    have[0]!.port === port &&
    have[0]!.protocol === 'TCP' &&
    target.metadata.labels?.['kubernetes.io/service-name'] === owner.serviceName &&
    target.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] === owner.managedBy;
  if (same) return undefined;
  return {
    from,
    to,
    next: {
      ...target,
      metadata: { ...target.metadata, labels },
      endpoints: to.map((a) => ({ addresses: [a], conditions: { ready: true } })),
      ports,
    },
  };
}

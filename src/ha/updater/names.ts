/**
 * Names shared by the manifests kubeon applies and the controller that runs from them: the RBAC rules
 * name these exact objects, so the two must never drift apart.
 */
export const UPDATER = {
  namespace: 'kube-system',
  /** The selector-less Service whose fixed ClusterIP workers use as the control-plane endpoint. */
  service: 'apiserver',
  /** Its one EndpointSlice, shipped by kubeon and only ever updated by the controller. */
  slice: 'apiserver',
  lease: 'kubeon-apiserver-updater',
  serviceAccount: 'kubeon-apiserver-updater',
  deployment: 'kubeon-apiserver-updater',
  configMap: 'kubeon-apiserver-updater',
  /** Key of the bundled controller inside the ConfigMap, and so the file name in the pod. */
  scriptKey: 'controller.js',
  /** `endpointslice.kubernetes.io/managed-by` value: keeps the EndpointSlice controllers off our slice. */
  managedBy: 'kubeon.io/apiserver-updater',
  /** The apiserver keeps this slice equal to the live apiservers (its endpoint reconciler). */
  source: { namespace: 'default', name: 'kubernetes' },
  portName: 'https',
} as const;

/**
 * Leader election, as client-go's defaults scaled to a small controller: a candidate takes over once
 * the lease has not changed for `leaseSeconds` of its own clock; the leader renews every `renewMs`
 * and steps down when it could not renew for `renewDeadlineMs`, which is shorter than the lease, so
 * it stops writing before anyone else may start. A candidate polls every `retryMs`, so it sees a
 * renewal up to retryMs late and notices the expiry up to retryMs late: after a leader dies without
 * releasing, takeover comes leaseSeconds to leaseSeconds + 2 x retryMs after its last renewal, which
 * was 0 to renewMs before its death (10-19 s, typically about 15 s). A clean SIGTERM releases the
 * lease and the other replica takes over within retryMs.
 */
export const LEADER_TIMING = {
  leaseSeconds: 15,
  renewMs: 5_000,
  retryMs: 2_000,
  renewDeadlineMs: 10_000,
} as const;

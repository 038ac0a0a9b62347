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
 * Leader election, as client-go's leaderelection with shorter numbers. A candidate takes over once the
 * lease has not changed for `leaseSeconds` of its own clock; it polls every `retryMs`, so it sees a
 * renewal up to retryMs late and the expiry up to retryMs late. The leader renews every `renewMs`,
 * retries every retryMs after a failed renewal, and stops writing once it has not renewed for
 * `renewDeadlineMs`, which is shorter than the lease, so it stops before anyone else may start.
 *
 * After a leader dies without releasing, takeover comes leaseSeconds to leaseSeconds + 2 x retryMs
 * after its last renewal, which was 0 to renewMs before its death: 8 to 14 s after the death, inside
 * the 15 s goal (client-go's 15 s lease would give up to 19 s). A clean SIGTERM releases the
 * lease and the other replica takes over within retryMs.
 */
export const LEADER_TIMING = {
  leaseSeconds: 12,
  renewMs: 4_000,
  retryMs: 1_000,
  renewDeadlineMs: 8_000,
} as const;

/**
 * The phase trees of `kubeadm init` and `kubeadm join` per minor, and --skip-phases resolved as
 * kubeadm's workflow runner does (cmd/kubeadm/app/cmd/phases/workflow/runner.go,
 * computePhaseRunFlags): every name must be a phase of the workflow, hidden ones included, and
 * skipping a phase skips the phases nested under it.
 *
 * Trees from cmd/kubeadm/app/cmd/phases/{init,join}: `all` is the run-all-siblings helper some
 * parents carry; kubelet-finalize's sub-phase is experimental-cert-rotation in 1.30 and
 * enable-client-cert-rotation from 1.31; join gained the hidden wait-control-plane in 1.30 and the
 * hidden etcd-join and kubelet-wait-bootstrap (ControlPlaneKubeletLocalMode) in 1.31;
 * control-plane-join/update-status is gone from 1.31.
 */
type Tree = [string, string[]?][];

function initTree(minor: number): Tree {
  return [
    ['preflight'],
    [
      'certs',
      [
        'all',
        'ca',
        'apiserver',
        'apiserver-kubelet-client',
        'front-proxy-ca',
        'front-proxy-client',
        'etcd-ca',
        'etcd-server',
        'etcd-peer',
        'etcd-healthcheck-client',
        'apiserver-etcd-client',
        'sa',
      ],
    ],
    ['kubeconfig', ['all', 'admin', 'super-admin', 'kubelet', 'controller-manager', 'scheduler']],
    ['etcd', ['local']],
    ['control-plane', ['all', 'apiserver', 'controller-manager', 'scheduler']],
    ['kubelet-start'],
    ['wait-control-plane'],
    ['upload-config', ['all', 'kubeadm', 'kubelet']],
    ['upload-certs'],
    ['mark-control-plane'],
    ['bootstrap-token'],
    ['kubelet-finalize', ['all', minor >= 31 ? 'enable-client-cert-rotation' : 'experimental-cert-rotation']],
    ['addon', ['all', 'coredns', 'kube-proxy']],
    ['show-join-command'],
  ];
}

function joinTree(minor: number): Tree {
  return [
    ['preflight'],
    ['control-plane-prepare', ['all', 'download-certs', 'certs', 'kubeconfig', 'control-plane']],
    ['check-etcd'],
    ['kubelet-start'],
    ...(minor >= 31 ? ([['etcd-join'], ['kubelet-wait-bootstrap']] as Tree) : []),
    ['wait-control-plane'],
    ['control-plane-join', ['all', 'etcd', ...(minor < 31 ? ['update-status'] : []), 'mark-control-plane']],
  ];
}

export function phaseNames(kind: 'init' | 'join', minor: number): string[] {
  const tree = kind === 'init' ? initTree(minor) : joinTree(minor);
  return tree.flatMap(([name, children]) => [name, ...(children ?? []).map((c) => `${name}/${c}`)]);
}

/** The set of skipped phases, or kubeadm's error for a name the workflow does not have. */
export function resolveSkips(kind: 'init' | 'join', minor: number, skip: string[]): Set<string> {
  const names = phaseNames(kind, minor);
  const out = new Set<string>();
  for (const s of skip) {
    if (!names.includes(s)) throw new Error(`invalid phase name: ${s}`);
    for (const n of names) if (n === s || n.startsWith(`${s}/`)) out.add(n);
  }
  return out;
}

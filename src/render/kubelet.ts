import type { OsFamily } from '../cluster/host.js';
import { raw, type Script, sh } from '../fleet/script.js';
import { guardedStep, type NodeFile, putFiles } from './files.js';
import type { RenderInput } from './inputs.js';
import { osFamily } from './os.js';

/**
 * kubelet, kubeadm and kubectl from the bundle, with the kubelet unit and kubeadm drop-in as
 * Kubernetes' own deb/rpm packages ship them (kubernetes/release, cmd/krel/templates/latest).
 */

export const KUBELET_UNIT_PATH = '/etc/systemd/system/kubelet.service';
export const KUBEADM_DROPIN_PATH = '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf';

export const KUBELET_UNIT = `[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`;

/** The user's override file: /etc/default on deb systems, /etc/sysconfig on rpm systems. */
export function kubeletDefaultsFile(family: OsFamily): string {
  return family === 'rhel' ? '/etc/sysconfig/kubelet' : '/etc/default/kubelet';
}

export function kubeadmDropIn(family: OsFamily): string {
  return `# Note: This dropin only works with kubeadm and kubelet v1.11+
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# This is a file that "kubeadm init" and "kubeadm join" generates at runtime, populating the KUBELET_KUBEADM_ARGS variable dynamically
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# This is a file that the user can use for overrides of the kubelet args as a last resort. Preferably, the user should use
# the .NodeRegistration.KubeletExtraArgs object in the configuration files instead. KUBELET_EXTRA_ARGS should be sourced from this file.
EnvironmentFile=-${kubeletDefaultsFile(family)}
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`;
}

export function kubeletFiles(input: RenderInput): NodeFile[] {
  return [
    { path: KUBELET_UNIT_PATH, mode: 0o644, content: KUBELET_UNIT },
    { path: KUBEADM_DROPIN_PATH, mode: 0o644, content: kubeadmDropIn(osFamily(input)) },
  ];
}

/** The Kubernetes binaries a node gets: kubectl only on masters, as the bundle carries it. */
export function kubeBinaries(input: Pick<RenderInput, 'host'>): string[] {
  return input.host.node.role === 'master' ? ['kubeadm', 'kubelet', 'kubectl'] : ['kubeadm', 'kubelet'];
}

export function kubeInstallScript(input: RenderInput): Script {
  const bins = kubeBinaries(input);
  const body = [
    sh`b=${input.components.bundleDir}`,
    sh`for f in ${bins}; do`,
    raw('  [ -f "$b/$f" ] || { echo "$b/$f is missing: the artifact bundle did not arrive" >&2; exit 1; }'),
    raw('  install -m 0755 "$b/$f" "/usr/bin/$f"'),
    raw('done'),
    ...putFiles(kubeletFiles(input)),
    raw('systemctl daemon-reload'),
    // Enabled, not started: kubeadm init/join starts the kubelet once its configuration exists.
    raw('systemctl enable kubelet'),
  ];
  return guardedStep(
    'kube',
    'install kubelet, kubeadm and kubectl',
    body,
    sh`( for f in ${bins}; do [ -x "/usr/bin/$f" ] || exit 1; done )`,
  );
}

exec </dev/null
stamp=/etc/kubeon/done/kube
if [ "$(cat -- "$stamp" 2>/dev/null)" = 10b6c8e0d2874e38f5f2a0130225a9a0455767e6c309876c46568484ce7599dd ] && ( for f in kubeadm kubelet; do [ -x "/usr/bin/$f" ] || exit 1; done ); then echo 'kube: already done'; exit 0; fi
b=/opt/kubeon/v1.30.14
for f in kubeadm kubelet; do
  [ -f "$b/$f" ] || { echo "$b/$f is missing: the artifact bundle did not arrive" >&2; exit 1; }
  install -m 0755 "$b/$f" "/usr/bin/$f"
done
put() {
  mkdir -p -- "$(dirname -- "$1")"
  printf '%s' "$3" > "$1.kubeon-tmp"
  chmod -- "$2" "$1.kubeon-tmp"
  if cmp -s -- "$1.kubeon-tmp" "$1"; then rm -f -- "$1.kubeon-tmp"; chmod -- "$2" "$1"; return 0; fi
  mv -f -- "$1.kubeon-tmp" "$1"
  echo "wrote $1"
}
put /etc/systemd/system/kubelet.service 0644 '[Unit]
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
'
put /etc/systemd/system/kubelet.service.d/10-kubeadm.conf 0644 '# Note: This dropin only works with kubeadm and kubelet v1.11+
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# This is a file that "kubeadm init" and "kubeadm join" generates at runtime, populating the KUBELET_KUBEADM_ARGS variable dynamically
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# This is a file that the user can use for overrides of the kubelet args as a last resort. Preferably, the user should use
# the .NodeRegistration.KubeletExtraArgs object in the configuration files instead. KUBELET_EXTRA_ARGS should be sourced from this file.
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
'
systemctl daemon-reload
systemctl enable kubelet
mkdir -p -- "$(dirname -- "$stamp")"
printf '%s
' 10b6c8e0d2874e38f5f2a0130225a9a0455767e6c309876c46568484ce7599dd > "$stamp"

exec </dev/null
if [ ! -f /etc/kubernetes/manifests/etcd.yaml ] && [ ! -f /etc/kubernetes/manifests.kubeon-etcd-restore/etcd.yaml ]; then echo 'no etcd static pod manifest: this master runs no stacked etcd' >&2; exit 3; fi
if command -v etcdutl >/dev/null 2>&1; then echo tool=etcdutl
elif command -v etcdctl >/dev/null 2>&1; then echo tool=etcdctl
else echo 'neither etcdutl nor etcdctl is on PATH: copy etcdutl from the etcd release the cluster runs into /usr/local/bin' >&2; exit 4; fi

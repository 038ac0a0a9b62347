exec </dev/null
set -- member list -w table
tls="--endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key"
if command -v etcdctl >/dev/null 2>&1; then ETCDCTL_API=3 exec etcdctl $tls "$@"; fi
id=$(crictl ps -q --name '^etcd$' --state running 2>/dev/null | head -n 1) || id=
if [ -z "$id" ]; then echo 'no etcdctl on this master and no running etcd container to run it in' >&2; exit 127; fi
exec crictl exec "$id" etcdctl $tls "$@"

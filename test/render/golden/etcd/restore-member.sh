exec </dev/null
data=$(sed -n 's/^ *- --data-dir=//p' /etc/kubernetes/manifests.kubeon-etcd-restore/etcd.yaml | head -n 1)
data=${data:-/var/lib/etcd}
new="$data.kubeon-restore"; old="$data.before-restore-"20261203T175137Z
rm -rf -- "$new"
if command -v etcdutl >/dev/null 2>&1; then tool=etcdutl; else tool=etcdctl; fi
ETCDCTL_API=3 "$tool" snapshot restore /var/lib/kubeon/etcd-restore/snapshot.db --name m2 --initial-cluster 'm1=https://10.0.0.1:2380,m2=https://[fd00::2]:2380' --initial-advertise-peer-urls 'https://[fd00::2]:2380' --data-dir "$new"
if [ -e "$data" ] && [ ! -e "$old" ]; then mv -- "$data" "$old"; else rm -rf -- "$data"; fi
mv -- "$new" "$data"
echo "old=$old"

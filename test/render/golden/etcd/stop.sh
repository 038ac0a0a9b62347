exec </dev/null
mkdir -p -m 0700 -- /etc/kubernetes/manifests.kubeon-etcd-restore
for p in etcd kube-apiserver kube-controller-manager kube-scheduler; do if [ -f /etc/kubernetes/manifests/"$p".yaml ]; then mv -f -- /etc/kubernetes/manifests/"$p".yaml /etc/kubernetes/manifests.kubeon-etcd-restore/; fi; done
up() { (exec 3<>/dev/tcp/127.0.0.1/2379) 2>/dev/null; }
i=0
while up; do
  if [ "$i" -ge 120 ]; then echo "etcd still answers on 127.0.0.1:2379 after 120 s" >&2; exit 5; fi
  sleep 1; i=$((i+1))
done

exec </dev/null
if [ -d /etc/kubernetes/manifests.kubeon-etcd-restore ]; then
  for f in /etc/kubernetes/manifests.kubeon-etcd-restore/*.yaml; do if [ -f "$f" ]; then mv -f -- "$f" /etc/kubernetes/manifests/; fi; done
  rmdir -- /etc/kubernetes/manifests.kubeon-etcd-restore
fi
rm -rf -- /var/lib/kubeon/etcd-restore

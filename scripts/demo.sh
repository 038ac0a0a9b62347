#!/usr/bin/env bash
# The embedded default: a 3-master + 2-worker lab of real-systemd hosts on this machine, a loopback
# mirror in upstream URL layout, and kubeon driving them. Run as root on Debian 12: npm run demo
# Leaves the lab up for exploring; `npm run demo -- down` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."

LAB_ID=demo
export KUBEON_HOME=${KUBEON_HOME:-/var/tmp/kubeon-demo/home}
VERSION=${KUBEON_DEMO_VERSION:-v1.31.14}
lab() { npx --no-install tsx lab/cli.ts "$@"; }
kubeon() {
  printf '\n\033[1m$ kubeon %s\033[0m\n' "$*" >&2
  node dist/kubeon.js "$@"
}

if [[ ${1:-} == down ]]; then
  bash scripts/bootstrap.sh
  lab mirror registry stop || true
  lab mirror stop || true
  lab down --id "$LAB_ID"
  rm -rf "$KUBEON_HOME"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "the demo builds network namespaces and systemd-nspawn hosts: run it as root" >&2
  exit 1
fi

bash scripts/bootstrap.sh
npm run --silent build

echo "== lab: 5 system hosts (systemd-nspawn, real sshd/systemd; the first run builds the Debian rootfs)" >&2
lab up --id "$LAB_ID" --system 5 >/dev/null
status=$(lab status --id "$LAB_ID" --json)
field() { node -e "const l=JSON.parse(process.argv[1]); console.log($2)" "$status"; }
mapfile -t IPS < <(field "$status" 'l.hosts.map((h) => h.ip).join("\n")')
KEY=$(field "$status" 'l.hosts[0].keyPath')

echo "== loopback mirror (upstream URL layout; Kubernetes binaries are stand-ins)" >&2
MIRROR_JSON=$(lab mirror start --bind "lab:$LAB_ID" --json)
MIRROR=$(node -e "
  const m = JSON.parse(process.argv[1]); const u = (m.urls || [m.url]).find((x) => !x.includes('127.0.0.1')) || m.url; console.log(u);
" "$MIRROR_JSON")
# The stand-ins are not upstream's bytes: their digests come from the lab's own list, never from the mirror.
KUBEON_TRUSTED_DIGESTS=$(node -e "console.log(JSON.parse(process.argv[1]).trustedDigests)" "$MIRROR_JSON")
export KUBEON_TRUSTED_DIGESTS

rm -rf "$KUBEON_HOME"
kubeon view support --mirror "$MIRROR"
kubeon download "$VERSION" --mirror "$MIRROR"
kubeon download "$VERSION" --mirror "$MIRROR" -o json | node -e "
  let s=''; process.stdin.on('data', (d) => (s += d)).on('end', () => {
    const r = JSON.parse(s); const c = r.files.filter((f) => f.source === 'cached').length;
    console.error('second download: ' + c + '/' + r.files.length + ' files from the cache, nothing transferred');
  });"
# Lab addresses (10.X.200.0/24) can fall inside kubeadm's default Service range.
NET=(--svc-cidr 172.20.0.0/16 --pod-cidr 172.21.0.0/16)
# The lab is sealed: the calico manifest is served by the mirror as upstream's raw.githubusercontent.com would.
CALICO=$(node -e "console.log(require('./src/artifacts/catalog.json').minors['${VERSION#v}'.split('.').slice(0,2).join('.')].calico)")
MIRROR_ROOT=$(lab mirror status --json | node -e "let s='';process.stdin.on('data',(d)=>(s+=d)).on('end',()=>console.log(JSON.parse(s).root))")
mkdir -p "$MIRROR_ROOT/raw.githubusercontent.com/projectcalico/calico/$CALICO/manifests"
npx --no-install tsx -e "import('./test/create/support.ts').then((m) => process.stdout.write(m.calicoManifest('$CALICO')))" \
  >"$MIRROR_ROOT/raw.githubusercontent.com/projectcalico/calico/$CALICO/manifests/calico.yaml"
# The lab's nodes have no registry to pull from: images go the offline way, pulled here from a real
# registry on loopback, shipped with the bundle and imported into containerd on each node.
REGISTRY_JSON=$(lab mirror registry start --kube "$VERSION" --json)
REGISTRY=$(node -e "console.log(new URL(JSON.parse(process.argv[1]).url).host)" "$REGISTRY_JSON")
IMAGES=(--offline --image-repo "$REGISTRY")
kubeon create demo "$VERSION" \
  -m "${IPS[0]}" -m "${IPS[1]}" -m "${IPS[2]}" -w "${IPS[3]}" -w "${IPS[4]}" \
  --default-pk-file "$KEY" --mirror "$MIRROR" "${NET[@]}" "${IMAGES[@]}" --dry-run
kubeon create demo "$VERSION" \
  -m "${IPS[0]}" -m "${IPS[1]}" -m "${IPS[2]}" -w "${IPS[3]}" -w "${IPS[4]}" \
  --default-pk-file "$KEY" --mirror "$MIRROR" "${NET[@]}" "${IMAGES[@]}"
kubeon list
kubeon exec demo@masters -- kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes
kubectl --kubeconfig "$KUBEON_HOME/clusters/demo/kubeconfig" get --raw /api/v1/nodes | node -e "
  let s=''; process.stdin.on('data', (d) => (s += d)).on('end', () => {
    for (const n of JSON.parse(s).items) {
      const r = n.status.conditions.find((c) => c.type === 'Ready');
      console.error(n.metadata.name + ' Ready=' + (r && r.status));
    }
  });"
kubeon exec demo@workers -- sh -c "sed -n '/# BEGIN kubeon demo/,/# END kubeon demo/p' /etc/hosts"

cat >&2 <<EOF

== What this showed
- 5 hosts with real systemd, OpenSSH (default MaxStartups/MaxSessions) and private /etc, /var, /opt.
- kubeon fetched and sha256-verified the artifacts of $VERSION from the loopback mirror into its
  content-addressed cache, then a second run transferred nothing.
- kubeon created the cluster: facts and preflight on every node, artifacts shipped by fan-out, OS and
  runtime prepared, kubeon's 100-year PKI placed, kubeadm init on the first master, the other masters
  joined one at a time, workers joined behind their local haproxy static pod (/etc/hosts -> 127.0.0.1),
  calico applied, every node Ready, and the control machine's kubeconfig written.
- Stand-ins: the Kubernetes binaries served by the mirror (kubeadm, kubelet, kubectl, containerd...)
  are the lab's strict stand-ins (lab/standins/README.md); everything else is real.
- Not yet: the updater and external HA modes, cilium (create refuses them with a clear message).

Explore: KUBEON_HOME=$KUBEON_HOME node dist/kubeon.js exec demo@masters -- ip -br addr
         kubectl --kubeconfig $KUBEON_HOME/clusters/demo/kubeconfig get --raw /api/v1/nodes
Destroy: KUBEON_HOME=$KUBEON_HOME node dist/kubeon.js destroy demo --yes
Remove:  npm run demo -- down
EOF

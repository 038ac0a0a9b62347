exec </dev/null
stamp=/etc/kubeon/done/os
if [ "$(cat -- "$stamp" 2>/dev/null)" = 72c22492ccb9cbc14b30c3404198f659097184e85eca877982468def025f7cbd ] && [ "$(wc -l < /proc/swaps)" -le 1 ] && [ "$(sysctl -n net.ipv4.ip_forward 2>/dev/null)" = 1 ]; then echo 'os: already done'; exit 0; fi
warn() { echo "kubeon: warning: $*" >&2; }
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
restore=/etc/kubeon/restore
mkdir -p -- "$restore"
if [ ! -e /etc/kubeon/restore/preexisting ]; then
  for d in /etc/kubernetes /var/lib/kubelet /var/lib/etcd /var/lib/containerd /run/containerd /etc/containerd /etc/cni /opt/cni /var/lib/cni /var/lib/calico /run/calico /var/run/cilium /var/log/pods /var/log/containers; do if [ -e "$d" ]; then echo "$d"; fi; done > /etc/kubeon/restore/preexisting
fi
put() {
  mkdir -p -- "$(dirname -- "$1")"
  printf '%s' "$3" > "$1.kubeon-tmp"
  chmod -- "$2" "$1.kubeon-tmp"
  if cmp -s -- "$1.kubeon-tmp" "$1"; then rm -f -- "$1.kubeon-tmp"; chmod -- "$2" "$1"; return 0; fi
  mv -f -- "$1.kubeon-tmp" "$1"
  echo "wrote $1"
}
put /etc/kubeon/cluster 0644 'prod
'
put /etc/modules-load.d/kubeon.conf 0644 '# Written by kubeon for cluster prod; kubeon destroy removes this file.
overlay
br_netfilter
ip_vs
ip_vs_rr
ip_vs_wrr
ip_vs_sh
nf_conntrack
'
put /etc/sysctl.d/90-kubeon.conf 0644 '# Written by kubeon for cluster prod; kubeon destroy removes this file.
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward = 1
net.ipv6.conf.all.forwarding = 1
fs.inotify.max_user_watches = 524288
fs.inotify.max_user_instances = 8192
'
put /etc/security/limits.d/90-kubeon.conf 0644 '# Written by kubeon for cluster prod; kubeon destroy removes this file.
* soft nofile 1048576
* hard nofile 1048576
root soft nofile 1048576
root hard nofile 1048576
'
want_name=m1
if [ "$(uname -n)" != "$want_name" ]; then
  hostnamectl set-hostname "$want_name" 2>/dev/null || { printf '%s' "$want_name" > /proc/sys/kernel/hostname; printf '%s\n' "$want_name" > /etc/hostname; }
fi
swapoff -a
mark='#kubeon-swap# '
if [ -f /etc/fstab ] && grep -Eq '^[^#[:space:]][^[:space:]]*[[:space:]]+[^[:space:]]+[[:space:]]+swap([[:space:]]|$)' /etc/fstab; then
  sed -i -E "s@^([^#[:space:]][^[:space:]]*[[:space:]]+[^[:space:]]+[[:space:]]+swap([[:space:]].*)?)\$@$mark\1@" /etc/fstab
fi
loaded() {
  [ -d "/sys/module/$1" ] && return 0
  [ "$1" = br_netfilter ] && [ -d /proc/sys/net/bridge ] && return 0
  [ "$1" = overlay ] && grep -qw overlay /proc/filesystems && return 0
  return 1
}
for m in overlay br_netfilter ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh nf_conntrack; do
  loaded "$m" || modprobe -- "$m" || { echo "kernel module $m is missing and cannot be loaded" >&2; exit 1; }
done
sysctl -p /etc/sysctl.d/90-kubeon.conf >/dev/null 2>"$work/sysctl.err" || warn "some settings of /etc/sysctl.d/90-kubeon.conf did not apply: $(tr '
' ' ' < "$work/sysctl.err")"
for k in net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables; do
  [ "$(sysctl -n "$k" 2>/dev/null)" = 1 ] || { echo "sysctl $k is not 1 after applying the settings" >&2; exit 1; }
done
pm=dnf; command -v dnf >/dev/null 2>&1 || pm=yum; install_pkgs() { timeout 300 "$pm" install -y --setopt=retries=1 "$@"; }
missing=""
command -v conntrack >/dev/null 2>&1 || missing="$missing conntrack-tools"
command -v socat >/dev/null 2>&1 || missing="$missing socat"
command -v ipset >/dev/null 2>&1 || missing="$missing ipset"
command -v ebtables >/dev/null 2>&1 || missing="$missing ebtables"
command -v ethtool >/dev/null 2>&1 || missing="$missing ethtool"
command -v iptables >/dev/null 2>&1 || missing="$missing iptables"
command -v ipvsadm >/dev/null 2>&1 || missing="$missing ipvsadm"
if [ -n "$missing" ]; then
  # shellcheck disable=SC2086
  install_pkgs $missing >"$work/pkg.log" 2>&1 || warn "packages not installed:$missing ($(tail -n 1 "$work/pkg.log"))"
fi
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet firewalld 2>/dev/null; then
  systemctl disable --now firewalld && touch "$restore/firewalld"
fi
if command -v ufw >/dev/null 2>&1 && ufw status 2>/dev/null | grep -q "Status: active"; then
  ufw disable && touch "$restore/ufw"
fi
if command -v getenforce >/dev/null 2>&1 && [ "$(getenforce)" = Enforcing ]; then
  setenforce 0 && touch "$restore/selinux-enforcing"
fi
if [ -f /etc/selinux/config ] && grep -q "^SELINUX=enforcing" /etc/selinux/config; then
  sed -i "s/^SELINUX=enforcing/SELINUX=permissive/" /etc/selinux/config && touch "$restore/selinux-config"
fi
if command -v timedatectl >/dev/null 2>&1; then
  timedatectl set-ntp true 2>/dev/null || warn "could not enable time synchronisation (timedatectl set-ntp true)"
else
  warn "no timedatectl: make sure the clock is synchronised"
fi
mkdir -p -- "$(dirname -- "$stamp")"
printf '%s
' 72c22492ccb9cbc14b30c3404198f659097184e85eca877982468def025f7cbd > "$stamp"

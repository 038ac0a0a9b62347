#!/bin/bash
# Run by haproxy-failover.test.ts inside `unshare -n`: DIR holds haproxy.cfg, MASTERS the backend addresses.
set -euo pipefail
cd "$DIR"
ip link set lo up
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem -out c.pem -days 1 -subj /CN=apiserver 2>/dev/null
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for ip in $MASTERS; do
  ip addr add "$ip/32" dev lo
  openssl s_server -quiet -www -accept "$ip:6443" -cert c.pem -key k.pem >/dev/null 2>&1 &
  pids+=($!)
done
# The static pod's command, its config path moved to the one written here.
# shellcheck disable=SC2086
$HAPROXY_COMMAND >haproxy.log 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8404/healthz)" = 200 ] && break
  sleep 0.1
done
echo "health=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8404/healthz)"
sleep 3
echo "proxied=$(curl -sk -o /dev/null -w '%{http_code}' https://127.0.0.1:6443/readyz)"
before=$(wc -l < haproxy.log)
since() { tail -n "+$((before + 1))" haproxy.log; }
start=$(date +%s%N)
kill "${pids[0]}"
for _ in $(seq 1 100); do
  since | grep -q 'kube-apiserver/m1 is DOWN' && break
  sleep 0.1
done
echo "down_after_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
echo "m1_down=$(since | grep -c 'kube-apiserver/m1 is DOWN' || true)"
echo "others_down=$(since | grep -c 'kube-apiserver/m[23] is DOWN' || true)"
ok=0
for _ in $(seq 1 6); do
  [ "$(curl -sk -o /dev/null -w '%{http_code}' https://127.0.0.1:6443/readyz)" = 200 ] && ok=$((ok + 1))
done
echo "after=$ok/6"

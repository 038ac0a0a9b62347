#!/usr/bin/env bash
# Rendered by kubeon for cluster prod: at boot, before the kubelet, points apiserver.cluster.local
# at the apiserver Service IP if it answers, else at the first live master until it does.
set -uo pipefail

ENDPOINT=apiserver.cluster.local
SERVICE_IP=10.96.0.2
PORT=6443
MASTERS=(10.0.0.11 10.0.0.12 10.0.0.13)
POLL_SECONDS=5
WAIT_SECONDS=3600
WAIT_UNIT=kubeon-apiserver-wait-prod.service
BEGIN='# BEGIN kubeon prod'
END='# END kubeon prod'

HOSTS_FILE=/etc/hosts
LOCK_FILE=/run/lock/kubeon-apiserver-hosts.lock
SELF=$(readlink -f -- "${BASH_SOURCE[0]}")

log() { printf 'kubeon-apiserver-startup: %s\n' "$*" >&2; }

# An IPv6 address needs brackets in a URL.
url_host() {
  if [[ $1 == *:* ]]; then printf '[%s]' "$1"; else printf '%s' "$1"; fi
}

# Does ADDR answer /healthz on PORT? With curl: a 2xx "ok" within 2 s (any certificate: this only
# picks an address; the kubelet verifies the apiserver's certificate). Without curl: a TCP connect.
healthy() {
  local body
  if command -v curl >/dev/null 2>&1; then
    body=$(curl -ksf --connect-timeout 1 --max-time 2 "https://$(url_host "$1"):$PORT/healthz" 2>/dev/null) || return 1
    [[ $body == ok ]]
  else
    # shellcheck disable=SC2016 # expanded by the inner bash, from its arguments
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$PORT" 2>/dev/null
  fi
}

# The address in the block, if there is one.
current() {
  awk -v b="$BEGIN" -v e="$END" '$0 == b { inb = 1; next } $0 == e { inb = 0; next } inb { print $1; exit }' "$HOSTS_FILE"
}

# Replaces the block (or appends it) in a copy, then renames the copy over the file. Lines between
# an unclosed BEGIN and the end of the file are kept: a damaged block never costs other entries.
point_at() {
  local addr=$1 tmp
  exec 9>"$LOCK_FILE"
  flock -w 10 9 || { log "cannot lock $LOCK_FILE"; return 1; }
  if [[ $(current) == "$addr" ]]; then
    exec 9>&-
    return 0
  fi
  tmp=$(mktemp "$HOSTS_FILE.kubeon.XXXXXX") || return 1
  {
    awk -v b="$BEGIN" -v e="$END" '
      $0 == b { inb = 1; held = ""; next }
      inb && $0 == e { inb = 0; next }
      inb { held = held $0 "\n"; next }
      { print }
      END { if (inb) printf "%s", held }' "$HOSTS_FILE"
    printf '%s\n%s %s\n%s\n' "$BEGIN" "$addr" "$ENDPOINT" "$END"
  } >"$tmp"
  chmod 0644 "$tmp"
  if ! mv -f -- "$tmp" "$HOSTS_FILE" 2>/dev/null; then
    # A bind-mounted /etc/hosts (containers) cannot be renamed over: rewrite it in place.
    cat -- "$tmp" >"$HOSTS_FILE"
    rm -f -- "$tmp"
  fi
  # Under SELinux the renamed copy would keep the label of a new file in /etc.
  if command -v restorecon >/dev/null 2>&1; then restorecon -- "$HOSTS_FILE" || true; fi
  exec 9>&-
  log "$ENDPOINT -> $addr"
}

# Points the name at the first master that answers, in order.
use_live_master() {
  local m
  for m in "${MASTERS[@]}"; do
    if healthy "$m"; then
      point_at "$m"
      return
    fi
  done
  return 1
}

# Runs in its own transient unit: waits for the Service IP, keeping the name on a live master.
wait_for_service() {
  local deadline=$((SECONDS + WAIT_SECONDS)) now
  while ((SECONDS < deadline)); do
    sleep "$POLL_SECONDS"
    if healthy "$SERVICE_IP"; then
      point_at "$SERVICE_IP"
      log "the Service IP answers; done"
      return 0
    fi
    now=$(current)
    if [[ -z $now ]] || ! healthy "$now"; then
      use_live_master || log "no master answers; keeping ${now:-no entry}"
    fi
  done
  log "the Service IP did not answer within $WAIT_SECONDS s; keeping $(current)"
  return 1
}

at_boot() {
  if healthy "$SERVICE_IP"; then
    point_at "$SERVICE_IP"
    return 0
  fi
  local round
  for round in 1 2 3; do
    use_live_master && break
    log "no master answers (round $round)"
    sleep 1
  done
  # Never more than one waiter: a second boot-script run leaves a running one alone.
  if systemctl is-active --quiet "$WAIT_UNIT"; then
    return 0
  fi
  systemctl reset-failed "$WAIT_UNIT" >/dev/null 2>&1 || true
  systemd-run --quiet --no-block --collect --unit="$WAIT_UNIT" \
    --description="kubeon: wait for the apiserver Service IP" "$SELF" --wait
}

case ${1:-} in
  '') at_boot ;;
  --wait) wait_for_service ;;
  *)
    log "usage: $SELF [--wait]"
    exit 2
    ;;
esac

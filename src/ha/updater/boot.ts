import { type ShellFragment, sh } from '../../fleet/script.js';

/**
 * The worker side of the updater mode. Workers reach the control plane through the updater Service's
 * fixed ClusterIP, but that address only works once kube-proxy runs, which needs the kubelet, which
 * needs the control plane: so at boot, before the kubelet, a oneshot unit points the endpoint name at
 * the first live master, then a transient unit waits for the Service IP and switches back to it.
 * The name lives in a marked block of /etc/hosts that is replaced whole, never edited by pattern.
 */

export const BOOT_SCRIPT_PATH = '/opt/kubeon/apiserver-startup.sh';
export const BOOT_UNIT = 'kubeon-apiserver-startup.service';
export const BOOT_UNIT_PATH = `/etc/systemd/system/${BOOT_UNIT}`;

export interface BootScriptInput {
  /** Cluster name: it marks the hosts block, so two clusters' blocks never touch. */
  cluster: string;
  /** The control-plane endpoint name, e.g. apiserver.cluster.local. */
  endpoint: string;
  serviceIp: string;
  /** Masters in order of preference. */
  masters: readonly string[];
  port: number;
  /** How often the background waiter probes (default 5 s). */
  pollSeconds?: number;
  /** How long it waits for the Service IP before giving up, keeping a live master (default 1 h). */
  waitSeconds?: number;
}

/**
 * The marker lines of the cluster's hosts block: the same block create writes (src/render/hosts.ts),
 * so a worker has one entry for the endpoint, whoever wrote it last, and destroy removes it.
 */
export function hostsMarkers(cluster: string): { begin: string; end: string } {
  return { begin: `# BEGIN kubeon ${cluster}`, end: `# END kubeon ${cluster}` };
}

/** The transient unit the boot script starts to wait for the Service IP. */
export function waitUnit(cluster: string): string {
  return `kubeon-apiserver-wait-${cluster}.service`;
}

// The logic, fixed text (`\${` is bash's `${`); only the header carries inputs, all quoted by `sh`.
const BODY = `
HOSTS_FILE=/etc/hosts
LOCK_FILE=/run/lock/kubeon-apiserver-hosts.lock
SELF=$(readlink -f -- "\${BASH_SOURCE[0]}")

log() { printf 'kubeon-apiserver-startup: %s\\n' "$*" >&2; }

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
      inb { held = held $0 "\\n"; next }
      { print }
      END { if (inb) printf "%s", held }' "$HOSTS_FILE"
    printf '%s\\n%s %s\\n%s\\n' "$BEGIN" "$addr" "$ENDPOINT" "$END"
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
  for m in "\${MASTERS[@]}"; do
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
      use_live_master || log "no master answers; keeping \${now:-no entry}"
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
  systemd-run --quiet --no-block --collect --unit="$WAIT_UNIT" \\
    --description="kubeon: wait for the apiserver Service IP" "$SELF" --wait
}

case \${1:-} in
  '') at_boot ;;
  --wait) wait_for_service ;;
  *)
    log "usage: $SELF [--wait]"
    exit 2
    ;;
esac
`;

export function renderBootScript(i: BootScriptInput): string {
  const { begin, end } = hostsMarkers(i.cluster);
  const header = sh`#!/usr/bin/env bash
# Rendered by kubeon for cluster ${i.cluster}: at boot, before the kubelet, points ${i.endpoint}
# at the apiserver Service IP if it answers, else at the first live master until it does.
set -uo pipefail

ENDPOINT=${i.endpoint}
SERVICE_IP=${i.serviceIp}
PORT=${i.port}
MASTERS=(${i.masters})
POLL_SECONDS=${i.pollSeconds ?? 5}
WAIT_SECONDS=${i.waitSeconds ?? 3600}
WAIT_UNIT=${waitUnit(i.cluster)}
BEGIN=${begin}
END=${end}`;
  return `${header.text}\n${BODY}`;
}

/**
 * The oneshot that runs the script before the kubelet on every boot. Unlike the original: ordered
 * before kubelet.service (there is no kubelet.target), `Type=oneshot` (the script does not fork; the
 * waiting is a separate transient unit), and wanted by kubelet.service too, so starting the kubelet
 * by hand also runs it first.
 */
export function renderBootUnit(): string {
  return `[Unit]
Description=kubeon: point the control-plane endpoint at a live apiserver before the kubelet starts
ConditionPathExists=${BOOT_SCRIPT_PATH}
Wants=network-online.target
After=network-online.target
Before=kubelet.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=${BOOT_SCRIPT_PATH}
TimeoutStartSec=60

[Install]
WantedBy=multi-user.target kubelet.service
`;
}

/** Stops the waiter and the boot unit and removes their files (destroy, or a cluster down to one master). */
export function bootRemoveLines(cluster: string): ShellFragment[] {
  return [
    sh`systemctl stop ${waitUnit(cluster)} 2>/dev/null || true`,
    sh`systemctl disable --now ${BOOT_UNIT} 2>/dev/null || true`,
    sh`rm -f -- ${BOOT_SCRIPT_PATH} ${BOOT_UNIT_PATH}`,
  ];
}

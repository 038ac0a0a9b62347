#!/usr/bin/env bash
# Installs what kubeon's lab, tests and demo need on a fresh Debian machine (idempotent).
# System packages: real OpenSSH, haproxy, etcd, openssl, systemd-nspawn, baselines (pssh, ansible),
# containerd + shellcheck, which the renderer tests run the rendered files through (test/render),
# and zsh + fish, whose completion tests run the generated scripts.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  openssh-server openssh-client sudo iproute2 bridge-utils iptables kmod procps psmisc
  haproxy etcd-server etcd-client openssl curl ca-certificates
  debootstrap systemd-container docker-registry
  pssh ansible
  containerd shellcheck
  zsh fish
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "kubeon bootstrap: need root to install: ${missing[*]} (run with sudo)" >&2
    exit 1
  fi
  echo "kubeon bootstrap: installing ${missing[*]}" >&2
  apt-get update -qq
  # policy-rc.d keeps the packages' own services (sshd, haproxy, etcd, registry) from starting on the machine
  # during this install only: left in place it would stop every later package's service from starting.
  policy=${KUBEON_POLICY_RC_D:-/usr/sbin/policy-rc.d}
  if [[ ! -e $policy ]]; then
    trap 'rm -f -- "$policy"' EXIT
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

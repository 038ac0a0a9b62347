#!/usr/bin/env bash
# The whole test suite: unit, integration (real sshd/haproxy/etcd/openssl) and lab tests.
# Lab tests need root (namespaces, bridges, systemd-nspawn); CI runs as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec npx vitest run --project unit --project lab "$@"

#!/usr/bin/env bash
# Builds the Debian bookworm rootfs that system hosts boot from.
# Usage: rootfs.sh TARGET PACKAGE...
# TARGET must be a fresh directory; the caller renames it into the cache only when this script
# succeeds, so an interrupted build is never mistaken for a finished one.
set -euo pipefail
target=$1
shift
packages=$(IFS=,; echo "$*")

debootstrap --variant=minbase --include="$packages" bookworm "$target" >&2

# kubeon (and the Kubernetes stand-ins) run etcd and haproxy as static pods, so the packaged
# services must not start on their own at boot.
systemctl --root="$target" disable etcd.service haproxy.service >&2
# Consoles, timers and periodic jobs cost memory and boot time on every host and serve no test.
systemctl --root="$target" mask \
  console-getty.service container-getty@.service getty.target \
  apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
  e2scrub_all.timer e2scrub_reap.service fstrim.timer >&2

# Each host gets its own host keys and machine id in its overlay.
rm -f "$target"/etc/ssh/ssh_host_*
: >"$target/etc/machine-id"
rm -rf "$target"/var/cache/apt/archives/*.deb "$target"/var/lib/apt/lists/*

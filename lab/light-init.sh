#!/bin/sh
# PID 1 of a light host until it execs sshd. Runs in the host's fresh mount, UTS, IPC and PID
# namespaces (its own /proc is already mounted) and its network namespace.
# Usage: light-init.sh HOSTNAME HOSTDIR
# Four process starts in all (ip, umount, mount, sshd): the fstab does every mount in one `mount -a`.
set -e
echo "$1" >/proc/sys/kernel/hostname
ip -b "$2/ip.batch"
# The mount namespace started as a copy of the machine's: its /run/netns mounts would keep every
# other lab's network namespaces alive for as long as this host lives.
umount -l /run/netns
# Last, because the fstab hides the lab state directory, where the ip batch and fstab live.
mount -a -T "$2/fstab"
# sshd as PID 1 reaps orphans, and when it dies the kernel ends every process of the host.
exec /usr/sbin/sshd -D -e

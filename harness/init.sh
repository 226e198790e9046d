#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of a vmtest.sh guest.  The root file system is the host's /, read
# only, over virtio-9p.  Mount what the tests need, make the build folder
# writable at its host path, run $VMTEST_OUT/cmd, save its status and the
# kernel log there, and power off.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp TERM=${TERM:-linux} LANG=C.UTF-8

param() {
	local w
	for w in $(cat /proc/cmdline); do
		case "$w" in "$1="*) echo "${w#*=}"; return ;; esac
	done
}

mnt() {	# mnt TYPE SOURCE DIR [OPTIONS]
	mountpoint -q "$3" && return 0
	mount -t "$1" ${4:+-o "$4"} "$2" "$3" || echo "vmtest-init: cannot mount $3" >&2
}

mount -t proc proc /proc
mnt sysfs sys /sys
mnt devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm 2>/dev/null
mnt devpts devpts /dev/pts
mnt tmpfs shm /dev/shm
mnt tmpfs run /run mode=755
# Keep a view of the host's / for paths the tmpfs on /tmp is about to hide
# (a checkout under /tmp, say).
mkdir -p /run/host && mount --bind / /run/host
mnt tmpfs tmp /tmp mode=1777
mnt bpf bpffs /sys/fs/bpf
mnt debugfs debugfs /sys/kernel/debug
mnt tracefs tracefs /sys/kernel/tracing
mnt cgroup2 cgroup2 /sys/fs/cgroup

VMTEST_ROOT=$(param vmtest.root)
VMTEST_BUILD=$(param vmtest.build)
VMTEST_OUT=$(param vmtest.out)
VMTEST_CWD=$(param vmtest.cwd)
export VMTEST_ROOT VMTEST_BUILD VMTEST_OUT
for d in "$VMTEST_ROOT" "$VMTEST_BUILD"; do
	[ -d "$d" ] && continue
	mkdir -p "$d" && mount --bind "/run/host$d" "$d"
done
mnt 9p vmtest-build "$VMTEST_BUILD" trans=virtio,version=9p2000.L,msize=512000,cache=mmap

ip link set lo up
hostname vmtest 2>/dev/null
ulimit -l unlimited
ulimit -n 65536
sysctl -qw kernel.panic_on_warn=0 2>/dev/null

echo "vmtest-init: $(uname -r) $(uname -v | cut -d' ' -f1) up in $(cut -d' ' -f1 /proc/uptime)s"
cd "$VMTEST_CWD" 2>/dev/null || cd /tmp
bash "$VMTEST_OUT/cmd" </dev/console >/dev/console 2>&1
rc=$?
echo "vmtest-init: command exited with status $rc"
dmesg >"$VMTEST_OUT/dmesg.txt"
echo "$rc" >"$VMTEST_OUT/exit_status"
sync
echo o >/proc/sysrq-trigger
sleep 10

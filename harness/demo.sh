#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job of ./vmtest.sh run, inside the guest: register the selftests'
# BPF cubic (a struct_ops tcp_congestion_ops) with bpftool, show it, move
# data over loopback TCP with it, and unregister it.
#
# Usage: demo.sh TREE

set -eu
TREE=$1
ST=$TREE/tools/testing/selftests/bpf
BPFTOOL=$ST/tools/sbin/bpftool
OBJ=$ST/bpf_cubic.bpf.o
CA=bpf_cubic
XFER="python3 $(dirname "$0")/tcp_xfer.py"

step() { printf '\n--- %s\n' "$*"; }
available() { sysctl -n net.ipv4.tcp_available_congestion_control; }

step "congestion controls before: $(available)"
if available | grep -qw "$CA"; then
	echo "FAIL: $CA is registered already"; exit 1
fi

step "bpftool struct_ops register $(basename "$OBJ")"
"$BPFTOOL" struct_ops register "$OBJ"

step "net.ipv4.tcp_available_congestion_control"
available
available | grep -qw "$CA" || { echo "FAIL: $CA not registered"; exit 1; }

step "bpftool struct_ops show"
"$BPFTOOL" struct_ops show

step "loopback TCP transfer, native cubic then $CA (64 MiB each)"
$XFER cubic 64
$XFER "$CA" 64

step "bpftool struct_ops unregister name cubic"
"$BPFTOOL" struct_ops unregister name cubic

step "congestion controls after: $(available)"
if available | grep -qw "$CA"; then
	echo "FAIL: $CA is still registered"; exit 1
fi
if "$BPFTOOL" struct_ops show | grep -q .; then
	echo "FAIL: a struct_ops map is left"; exit 1
fi
echo "$CA is gone; demo passed"

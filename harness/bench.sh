#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ./vmtest.sh bench, inside the guest: load bpf_bench_ops.ko, run the
# dispatch, registration, memory and page benchmarks of struct_ops_bench, then
# a loopback TCP transfer with native cubic and with the selftests' BPF
# cubic.  Every result is one JSON line on stdout; a line {"window": ...}
# precedes every stretch the TCG plugin counts.
#
# Usage: bench.sh KTREE TOOLS
#   KTREE  the kernel tree this guest booted (its bpf_bench_ops.ko)
#   TOOLS  the tree whose runner, BPF objects and bpftool to use
# Sizes come from BENCH_CALLS, BENCH_REPS, BENCH_MAPS and BENCH_MIB.

set -eu
KTREE=$1
TOOLS=$2
ST=tools/testing/selftests/bpf
BIN=$TOOLS/$ST/struct_ops_bench
RUN=$BIN/struct_ops_bench
OBJ=$BIN/bench_ops.bpf.o
BPFTOOL=$TOOLS/$ST/tools/sbin/bpftool
CUBIC=$TOOLS/$ST/bpf_cubic.bpf.o
XFER="python3 $(dirname "$0")/tcp_xfer.py"
CALLS=${BENCH_CALLS:-100000}
REPS=${BENCH_REPS:-5}
MAPS=${BENCH_MAPS:-1000}
MIB=${BENCH_MIB:-32}

log() { echo "bench: $*" >&2; }

log "kernel $(uname -r), $(nproc) CPU(s)"
param=/sys/module/bpf_struct_ops/parameters/fast_trampolines
log "bpf_struct_ops.fast_trampolines: $(cat $param 2>/dev/null || echo "none (the base's file)")"
insmod "$KTREE/$ST/struct_ops_bench/bpf_bench_ops.ko"

log "dispatch: $CALLS calls x $REPS runs per case"
"$RUN" dispatch "$OBJ" "$CALLS" "$REPS"
log "registration: $REPS runs per type"
"$RUN" register "$OBJ" "$REPS"
log "memory: $MAPS maps"
"$RUN" memory "$OBJ" "$MAPS"
log "trampoline pages: sched_ext_ops with every member set, the 40-member type"
"$RUN" pages "$BIN/bench_scx.bpf.o" scx_all bench_scx_
"$RUN" pages "$OBJ" ops40

log "end to end: $MIB MiB over loopback, cubic vs bpf_cubic"
"$BPFTOOL" struct_ops register "$CUBIC" >&2
declare -A mibs=([cubic]= [bpf_cubic]=)
for _ in $(seq "$REPS"); do
	for ca in cubic bpf_cubic; do
		echo "{\"window\": \"e2e\", \"case\": \"$ca\", \"n\": $MIB}"
		"$RUN" mark start
		line=$($XFER "$ca" "$MIB")
		"$RUN" mark stop
		echo "$line" >&2
		mibs[$ca]+="${mibs[$ca]:+, }$(echo "$line" | sed -n 's/.*= \([0-9.]*\) MiB\/s$/\1/p')"
	done
done
for ca in cubic bpf_cubic; do
	echo "{\"metric\": \"e2e_wall\", \"case\": \"$ca\", \"unit\": \"MiB/s\", \"values\": [${mibs[$ca]}]}"
done
"$BPFTOOL" struct_ops unregister name cubic >&2
rmmod bpf_bench_ops
log "done"

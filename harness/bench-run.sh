#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# harness/bench-run.sh - the struct_ops benchmark; ./vmtest.sh bench runs
# it.  The benchmark (tools/testing/selftests/bpf/struct_ops_bench, run in
# the guest by harness/bench.sh) on the base's bpf_struct_ops.c, on ours
# with bpf_struct_ops.fast_trampolines=0 and on ours.  The base variant's
# tree starts as a copy of ours and rebuilds incrementally: the kernels
# differ in one file.  Guest instructions are counted by a TCG plugin
# (harness/insn_count.c), so the bench always runs under single-threaded
# TCG, on one vCPU.
#
# The stages: those of a build (ours), bench-tools, the base variant's
# build, boot (the bench on each kernel), report.

set -euo pipefail

# shellcheck source=harness/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BENCH_REL=$SELFTESTS/struct_ops_bench
BENCH_OUT=$BUILD/bench

# Whether the machine's apt sources have a deb-src entry.
apt_has_deb_src() {
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -qE '^[[:space:]]*(deb-src[[:space:]]|Types:(.*[[:space:]])?deb-src([[:space:]]|$))'
}

# The plugin, built against qemu-plugin.h from the source of the installed
# QEMU, fetched with apt-get source from the machine's own deb-src entries
# (no archive is named here); the package lists and the download go to a
# private apt state in build/bench/apt, so the host's lists stay untouched.
bench_plugin() {
	local dir=$BENCH_OUT/plugin apt=$BENCH_OUT/apt opts orig ver
	mkdir -p "$dir" "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/src"
	if [ ! -s "$dir/qemu-plugin.h" ]; then
		apt_has_deb_src ||
			die "the bench builds its TCG plugin against QEMU's source, fetched with apt-get source, and the apt sources (/etc/apt/sources.list, /etc/apt/sources.list.d/) have no deb-src entry: add deb-src to the Types: line of your Debian entry (or a deb-src line for it), then run again"
		ver=$(dpkg-query -W -f='${source:Version}' qemu-system-x86)
		opts="-o Dir::State::Lists=$apt/lists -o Dir::Cache=$apt/cache
		      -o APT::Sandbox::User=$(id -un)"
		say "fetching the source of QEMU $ver (apt-get source, the machine's deb-src entries) for qemu-plugin.h"
		# shellcheck disable=SC2086
		logged bench apt-get $opts update
		# shellcheck disable=SC2086
		(cd "$apt/src" && logged bench apt-get $opts source --download-only "qemu=$ver")
		orig=$(ls "$apt"/src/qemu_*.orig.tar.* | head -n 1)
		tar -xf "$orig" --wildcards -O '*/include/qemu/qemu-plugin.h' >"$dir/qemu-plugin.h.new"
		mv "$dir/qemu-plugin.h.new" "$dir/qemu-plugin.h"
		say "qemu-plugin.h from $(basename "$orig")"
	fi
	logged bench gcc -shared -fPIC -O2 -Wall -I"$dir" -o "$dir/insn_count.so" \
		"$ROOT/harness/insn_count.c"
	say "plugin: $dir/insn_count.so ($(qemu-system-x86_64 --version | head -n 1))"
}

# The module for the tree in $TREE; with "all", the runner and BPF objects too.
bench_make() {
	PATH=$LLVM_BIN:$PATH logged bench make -C "$TREE/$BENCH_REL" \
		KDIR="$TREE" CC=gcc "${1:-module}"
}

# The base variant: the usual stages (stage_assemble seeds its tree from
# our built one).
bench_base_tree() {
	use_variant base
	lock_tree base
	rm -rf "$LOGS"
	stage_assemble
	stage_config
	stage_begin build "base variant: bzImage + modules, bpf_bench_ops.ko"
	build_kernel
	bench_make module
	say "kernel: $(make -s -C "$TREE" kernelrelease) (base bpf_struct_ops.c)"
	stage_end
}

# bench_boot NAME TOOLS - boot $TREE with the plugin and run harness/bench.sh.
bench_boot() {
	local name=$1 tools=$2 out=$BENCH_OUT/$1 rc=0
	QEMU_EXTRA=(-plugin "$BENCH_OUT/plugin/insn_count.so,out=$out.insns")
	# Unset sizes stay empty: harness/bench.sh has the defaults.
	vm_run "$out" "BENCH_CALLS=${BENCH_CALLS:-} BENCH_REPS=${BENCH_REPS:-} \
BENCH_MAPS=${BENCH_MAPS:-} BENCH_MIB=${BENCH_MIB:-} \
bash $ROOT/harness/bench.sh $TREE $tools > \$VMTEST_OUT/bench.jsonl" >/dev/null || rc=$?
	QEMU_EXTRA=()
	mv "$out.insns" "$out/insns.txt" 2>/dev/null || true
	grep '^bench:' "$out/console.log" | sed 's/^/  /' || true
	[ "$rc" -eq 0 ] || { tail -n 30 "$out/console.log"; die "bench on $name failed (status $rc)"; }
	splat_check "$out/dmesg.txt" || die "kernel splat during the bench on $name"
}

run_bench() {
	build_all
	stage_begin bench-tools "runner, BPF objects, module; the TCG plugin"
	bench_make all
	bench_plugin
	stage_end
	local ours=$TREE
	bench_base_tree

	stage_begin boot "the bench on each kernel (TCG, one vCPU: the plugin counts instructions)"
	VM_ACCEL=tcg VM_CPUS=1
	mkdir -p "$BENCH_OUT"
	bench_boot base "$ours"
	TREE=$ours
	VM_APPEND=bpf_struct_ops.fast_trampolines=0
	bench_boot off "$ours"
	VM_APPEND=
	bench_boot ours "$ours"
	stage_end

	stage_begin report "side by side, ratios; JSON"
	python3 "$ROOT/harness/bench_report.py" --json "$BENCH_OUT/results.json" \
		"base=$BENCH_OUT/base" "off=$BENCH_OUT/off" "ours=$BENCH_OUT/ours"
	stage_end
}

usage() {
	cat <<EOF
Usage: ./vmtest.sh bench [-j N]

  -j N       make jobs (default: nproc + 1 = $JOBS)
Sizes from the environment: BENCH_CALLS, BENCH_REPS, BENCH_MAPS,
BENCH_MIB (default 100000 calls, 5 runs, 1000 maps, 32 MiB).
Results: build/bench/results.json and the table printed at the end.
EOF
}

main() {
	while [ $# -gt 0 ]; do
		case "$1" in
		-h|--help) usage; exit 0 ;;
		-j*) jobs_arg "${@:1:2}"; shift $((SHIFTS - 1)) ;;
		*) usage >&2; die "bench: unknown option or argument: $1" ;;
		esac
		shift
	done
	begin_run
	run_bench
}

main "$@"; exit $?

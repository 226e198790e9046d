#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# vmtest.sh - build, boot and test the BPF struct_ops patch series in QEMU.
#
# The stages, in order: deps, base, assemble, config, build, boot, report.
# Everything built lives under build/ (git-ignored); each stage logs to
# build/logs/<stage>.log and the guest writes to build/results/.
#
# Usage: see usage() below or run ./vmtest.sh --help.  The series and
# bench commands are tools of their own, harness/series.sh and
# harness/bench-run.sh; all three share harness/lib.sh.

set -euo pipefail

# shellcheck source=harness/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/harness/lib.sh"

# Command-line choices (main() sets them): the tests to run, whether the
# sched_ext runner and the HID-BPF tests run.
SEL_TESTS=()		# -t: test_progs tests, by name
SEL_ALLOW=()		# -a: test_progs allow patterns, as given
SEL_DENY=()		# -b: test_progs deny patterns, as given
SCX_RUN=auto		# --sched-ext / --no-sched-ext
HID_RUN=auto		# --hid / --no-hid

usage() {
	cat <<EOF
Usage: ./vmtest.sh [options] COMMAND [options]
       ./vmtest.sh [options] -- CMD...

Commands:
  run            build, boot, and show a BPF TCP congestion control at work
  test           build, boot, run every test; prints 'N passed, N failed, N skipped'
  build          the stages up to the build (kernel + selftests), no VM
  shell          build and boot an interactive VM (the tree's folder is writable)
  -- CMD...      build, boot and run CMD in the VM (from the selftests folder)
  docs           build Documentation/bpf as HTML (Sphinx); fails on a
                 warning from our page or kernel-doc
  series         write our change as a mailable git format-patch series
                 for bpf-next (cover letter + one patch per logical
                 change) into build/series/out; checkpatch --strict and a
                 build after each patch
  series --fixes the fixes as a [PATCH bpf] series against the base's
                 own bpf_struct_ops.c, into build/series-fixes/out;
                 checkpatch --strict, and after each patch a build of the
                 base tree with it and a boot running its selftests
  selfcheck      only the harness's own checks (a failing command, a splat,
                 a hung VM and a kernel panic must each fail a run;
                 report.py's unit tests)
  bench          the struct_ops benchmark on the base's bpf_struct_ops.c
                 (build/linux-base), on ours booted with
                 bpf_struct_ops.fast_trampolines=0 (every member on the
                 generic BPF trampoline) and on ours: guest instructions
                 (TCG plugin) and wall-clock, side by side; JSON in
                 build/bench/results.json

Options:
  --debug        use the debug config (KASAN, lockdep, kmemleak, ...) in
                 build/linux-debug; results in build/results-debug
  --base         the base's bpf_struct_ops.c instead of ours, in
                 build/linux-base (results in build/results-base); with
                 test, the subtests in config/base/expected-failures.list
                 must fail and all others pass
  -j N           make jobs (default: nproc + 1 = $JOBS)
  -t NAME[,NAME] test: run only these test_progs tests (instead of
                 config/test_progs.list); may be repeated
  -a PATTERN     test: test_progs allow pattern, passed through as
                 given (test, test/subtest, globs); replaces the list
  -b PATTERN     test: test_progs deny pattern, passed through
  --sched-ext    test: run the sched_ext runner (the default without
                 -t/-a)
  --no-sched-ext test: leave the sched_ext runner out (the default
                 with -t/-a)
  --hid, --no-hid  test: the same for the HID-BPF selftests
                 (selftests/hid: hid_bpf, hidraw)
  --tree DIR     build, test, run, shell, --, selfcheck: the kernel tree
                 DIR as it is (say a bpf-next checkout with the series
                 applied) instead of the Debian base with our files and
                 patches; its .config and build stay in DIR
  -s             test, run, --: a shell in the VM after the command
                 (exit it to power off; the command's status stands)
  --gdb          test, run, shell, --: QEMU's gdb stub on port
                 $GDB_PORT (VMTEST_GDB_PORT), the VM halted until gdb
                 continues it, nokaslr; prints the gdb command line
  -h, --help     this text
Options go anywhere on the line: ./vmtest.sh test --debug -t struct_ops_ident.

Environment:
  VMTEST_BUILD   build folder (default: ./build)
  VMTEST_ACCEL   auto | kvm | tcg (default auto: probe KVM, else TCG)
  VMTEST_TIMEOUT seconds before a VM is killed (default $VM_TIMEOUT)
  VMTEST_MEM, VMTEST_CPUS  guest memory and CPUs (default $VM_MEM, $VM_CPUS)
  VMTEST_APPEND  more kernel command line for every boot
  VMTEST_QEMU_ARGS  more QEMU arguments for every boot (split at spaces)
  BENCH_CALLS, BENCH_REPS, BENCH_MAPS, BENCH_MIB  bench sizes (default
                 100000 calls, 5 runs, 1000 maps, 32 MiB)

Logs: build/logs/<stage>.log, this run's only (build/logs-debug/,
build/logs-base/ for the variants).  Guest output: build/results/.
EOF
}

# ---------------------------------------------------------------------------
# Commands

TEST_LIST=$ROOT/config/test_progs.list

test_list() {
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$TEST_LIST"
}

# Whether the user chose the tests (-t/-a): then only those run, without
# the harness's self-checks, and the sched_ext runner only on --sched-ext.
selected() {
	[ ${#SEL_TESTS[@]} -gt 0 ] || [ ${#SEL_ALLOW[@]} -gt 0 ]
}

# suite_runs CHOICE - whether a suite with that choice (yes, no, auto:
# as the test_progs selection goes) runs.
suite_runs() {
	case "$1" in
	yes) return 0 ;;
	no) return 1 ;;
	esac
	! selected
}

scx_runs() { suite_runs "$SCX_RUN"; }
hid_runs() { suite_runs "$HID_RUN"; }

# The test_progs tests that must each report a result: the list, or -t's.
wanted_tests() {
	if selected; then
		local t
		for t in ${SEL_TESTS[@]+"${SEL_TESTS[@]}"}; do
			tr ',' '\n' <<<"$t"
		done | sed '/^$/d'
	else
		test_list
	fi
}

# shell_arg OPTION VALUE - " OPTION 'VALUE'", quoted for the guest's shell.
shell_arg() {
	local q="'\\''"
	printf " %s '%s'" "$1" "${2//\'/$q}"
}

# test_progs_filters [DENY] - test_progs' -a/-b arguments, shell-quoted.
test_progs_filters() {
	local deny=${1:-} p
	if selected; then
		for p in ${SEL_TESTS[@]+"${SEL_TESTS[@]}"} ${SEL_ALLOW[@]+"${SEL_ALLOW[@]}"}; do
			shell_arg -a "$p"
		done
	else
		shell_arg -a "$(test_list | paste -sd, -)"
	fi
	for p in ${SEL_DENY[@]+"${SEL_DENY[@]}"}; do
		shell_arg -b "$p"
	done
	[ -z "$deny" ] || shell_arg -b "$deny"
}

# The serial tests (serial_test_*), which test_progs -j runs one at a time
# after the others: the report needs them to tell which test was running
# when a guest died.
serial_tests() {
	sed -n 's/^void serial_test_\([A-Za-z0-9_]*\)(.*/\1/p' \
		"$TREE/$SELFTESTS"/prog_tests/*.c | sort -u | paste -sd, -
}

# streamed VAR FILE CMD - guest lines that run CMD with its output line
# by line on the console and in $VMTEST_OUT/FILE, and set VAR to its
# status (VAR keeps the first failure when it is already non-zero).
streamed() {
	echo "stdbuf -oL -eL $3 2>&1 | tee \$VMTEST_OUT/$2"
	echo "rc=\${PIPESTATUS[0]}; [ \"\${$1:-0}\" -ne 0 ] || $1=\$rc"
}

# guest_tests_cmd [DENY] - the guest side of 'test'; DENY: comma-separated
# subtests left out (they run in VMs of their own).  Output streams to the
# console as it comes and into the results folder, so a hang or a panic
# shows which test was running.
guest_tests_cmd() {
	local filters
	filters=$(test_progs_filters "${1:-}")
	cat <<EOF
cd $TREE/$SELFTESTS
echo "== test_progs -j (in parallel; serial_test_* one at a time after):$filters"
./test_progs$filters -l > \$VMTEST_OUT/test_progs.list 2>&1
EOF
	streamed tp test_progs.txt "./test_progs -j$filters -J \$VMTEST_OUT/test_progs.json"
	echo 'sx=0 hid=0'
	if scx_runs; then
		echo 'echo "== sched_ext runner"'
		echo "cd $TREE/$SCX_SELFTESTS"
		streamed sx sched_ext.txt ./runner
	fi
	if hid_runs; then
		echo 'echo "== HID-BPF tests (selftests/hid: hid_bpf, hidraw)"'
		echo "cd $TREE/$HID_SELFTESTS"
		streamed hid hid_bpf.txt ./hid_bpf
		streamed hid hidraw.txt ./hidraw
	fi
	echo 'echo "test_progs=$tp sched_ext=$sx hid=$hid"'
	# kmemleak (debug config): two scans after the tests, as it advises.
	[ "$VARIANT" != debug ] || cat <<EOF
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo "== kmemleak scan"
	echo scan > /sys/kernel/debug/kmemleak; sleep 5
	echo scan > /sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak > \$VMTEST_OUT/kmemleak.txt
	echo "kmemleak: \$(grep -c 'unreferenced object' \$VMTEST_OUT/kmemleak.txt) unreferenced object(s)"
fi
EOF
	# The HID tests' status is left out: the report holds their results
	# against config/hid-expected-failures.list.
	echo '[ $tp -eq 0 ] && [ $sx -eq 0 ]'
}

BASE_EXPECTED=$ROOT/config/base/expected-failures.list

# The expected failures on the base kernel: "SUBTEST KIND", KIND "fail" or
# "crash" (runs in a VM of its own so that the others still run).
base_expected() {
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$BASE_EXPECTED" | awk -v k="$1" '$2 == k { print $1 }'
}

# run_isolated LIST - each expected crash of the base in a VM of its own,
# when its test is in LIST (what test_progs -l printed for the selection).
run_isolated() {
	local name n=0
	for name in $(base_expected crash); do
		grep -qxF "${name%%/*}" "$1" 2>/dev/null || continue
		n=$((n + 1))
		say "own VM: $name" >&2
		# The console keeps what test_progs printed if the kernel dies.
		vm_run "$RESULTS/isolated-$n" "cd $TREE/$SELFTESTS
echo '== isolated: $name'
./test_progs -a '$name' 2>&1 | tee \$VMTEST_OUT/test_progs.txt" >/dev/null || true
		echo "--isolated"
		echo "$name=$RESULTS/isolated-$n/console.log"
	done
}

cmd_test() {
	rm -f "$RESULTS/test/summary.txt"
	build_all
	stage_begin boot "boot the kernel and run test_progs$(selected && echo ' (chosen tests)')$(scx_runs && echo ' + sched_ext selftests')$(hid_runs && echo ' + HID-BPF selftests')"
	pick_accel
	local out=$RESULTS/test rc=0 checks='' deny='' isolated=()
	if [ "$VARIANT" = normal ] && ! selected; then
		# The self-checks' short VMs take one CPU for about a minute;
		# they run beside the tests, which take the other.
		mkdir -p "$RESULTS/selfcheck"
		{ selfchecks "$RESULTS/selfcheck/selfcheck.txt" || true; } \
			>"$RESULTS/selfcheck/selfcheck.log" 2>&1 &
		checks=$!
	fi
	[ "$VARIANT" != base ] || deny=$(base_expected crash | paste -sd, -)
	vm_run_main "$out" "$(guest_tests_cmd "$deny")" || rc=$?
	[ "$VARIANT" != base ] || mapfile -t isolated < <(run_isolated "$out/test_progs.list")
	stage_end

	stage_begin report "per-suite tables, splat check${checks:+, harness self-checks}"
	local extra=()
	if [ "$VARIANT" = base ]; then
		# Failing subtests make the guest command exit 1; the report
		# holds them against the expected ones.  A VM that died or hung
		# still fails the run.
		[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] ||
			extra+=(--extra-failure "guest command exit status $rc")
		extra+=(--expected "$BASE_EXPECTED" "${isolated[@]}")
	else
		[ "$rc" -eq 0 ] || extra+=(--extra-failure "guest command exit status $rc")
	fi
	splat_check "$out/dmesg.txt" || extra+=(--extra-failure "kernel splat in dmesg")
	if [ -n "$checks" ]; then
		wait "$checks"
		cat "$RESULTS/selfcheck/selfcheck.log"
		extra+=(--selfcheck "$RESULTS/selfcheck/selfcheck.txt")
	elif [ "$VARIANT" = normal ]; then
		say "harness self-checks: not run (tests chosen with -t/-a)"
	elif [ "$VARIANT" = debug ]; then
		extra+=(--kmemleak "$out/kmemleak.txt")
	fi
	! scx_runs || extra+=(--sched-ext "$out/sched_ext.txt")
	! hid_runs || extra+=(--kselftest "hid=$out/hid_bpf.txt" --kselftest "hid=$out/hidraw.txt"
		--kselftest-expected "$ROOT/config/hid-expected-failures.list")
	local prc=0
	python3 "$ROOT/harness/report.py" --test-progs "$out/test_progs.txt" \
		--wanted "$(wanted_tests | paste -sd, -)" \
		--selected "$out/test_progs.list" --serial "$(serial_tests)" \
		--workers "$VM_CPUS" \
		"${extra[@]}" >"$out/summary.txt" || prc=$?
	stage_end
	# The summary goes last so that its final line is the run's last line.
	cat "$out/summary.txt"
	return "$prc"
}

# The harness's own checks: each must make a run fail.  Results go to FILE
# as "name PASS|FAIL".
selfchecks() {
	local file=$1 rc
	: >"$file"
	say "self-check: a failing command fails the run"
	rc=0; vm_run "$RESULTS/selfcheck-cmd" 'exit 3' 120 >/dev/null || rc=$?
	[ "$rc" -eq 3 ] && echo "failing_command PASS" >>"$file" ||
		echo "failing_command FAIL (status $rc, wanted 3)" >>"$file"

	say "self-check: a kernel splat in dmesg fails the run"
	rc=0; vm_run "$RESULTS/selfcheck-splat" \
		'echo "WARNING: CPU: 0 PID: 1 at vmtest/selfcheck.c:1 injected" > /dev/kmsg' 120 >/dev/null || rc=$?
	if [ "$rc" -eq 0 ] && ! splat_check "$RESULTS/selfcheck-splat/dmesg.txt" >/dev/null; then
		echo "splat_detected PASS" >>"$file"
	else
		echo "splat_detected FAIL (status $rc, splat not seen)" >>"$file"
	fi

	say "self-check: a hung VM is killed and fails the run"
	rc=0; vm_run "$RESULTS/selfcheck-hang" 'sleep 600' 20 >/dev/null || rc=$?
	[ "$rc" -eq 124 ] && echo "hung_vm_killed PASS" >>"$file" ||
		echo "hung_vm_killed FAIL (status $rc, wanted 124)" >>"$file"

	say "self-check: a kernel panic (sysrq-c) fails the run"
	rc=0; vm_run "$RESULTS/selfcheck-panic" 'echo c > /proc/sysrq-trigger; sleep 60' 120 \
		>/dev/null || rc=$?
	if [ "$rc" -eq 125 ] && grep -q 'Kernel panic' "$RESULTS/selfcheck-panic/console.log" &&
	   ! splat_check "$RESULTS/selfcheck-panic/dmesg.txt" >/dev/null; then
		echo "kernel_panic PASS" >>"$file"
	else
		echo "kernel_panic FAIL (status $rc, wanted 125 and the panic seen)" >>"$file"
	fi

	say "self-check: report.py's unit tests (canned test_progs output)"
	if python3 "$ROOT/harness/test_report.py" >"$(dirname "$file")/report-tests.log" 2>&1; then
		echo "report_unit_tests PASS" >>"$file"
	else
		echo "report_unit_tests FAIL (see $(dirname "$file")/report-tests.log)" >>"$file"
	fi
	sed 's/^/  /' "$file"
	! grep -q FAIL "$file"
}

cmd_selfcheck() {
	build_all
	stage_begin boot "harness self-checks"
	pick_accel
	mkdir -p "$RESULTS/selfcheck"
	local rc=0
	selfchecks "$RESULTS/selfcheck/selfcheck.txt" || rc=1
	stage_end
	return $rc
}

cmd_exec() {
	build_all
	stage_begin boot "boot and run: $*"
	pick_accel
	local rc=0 q
	q=$(printf '%q ' "$@")
	vm_run_main "$RESULTS/exec" "$q" || rc=$?
	stage_end
	stage_begin report "exit status and splat check"
	say "exit status: $rc"
	splat_check "$RESULTS/exec/dmesg.txt" || rc=${rc/#0/1}
	stage_end
	return "$rc"
}

cmd_shell() {
	build_all
	stage_begin boot "interactive VM (exit the shell to power off)"
	pick_accel
	local out=$RESULTS/shell
	rm -rf "$out"
	mkdir -p "$out"
	echo 'exec setsid -c /bin/bash -i </dev/ttyS0 >/dev/ttyS0 2>&1' >"$out/cmd"
	gdb_setup
	qemu_boot "$VM_ACCEL" "$out" 86400 interactive || true
	stage_end
}

# Sphinx for Documentation/bpf; warnings that name our page or file fail.
cmd_docs() {
	stage_deps python3-sphinx python3-yaml python3-alabaster
	stage_base
	stage_assemble
	stage_begin docs "make SPHINXDIRS=bpf htmldocs"
	rm -f "$LOGS/docs.log"
	logged docs make -C "$TREE" SPHINXDIRS=bpf htmldocs
	local ours
	ours=$(grep -E 'WARNING|ERROR' "$LOGS/docs.log" |
		grep -E 'struct_ops\.rst|bpf_struct_ops\.c' || true)
	say "$(grep -cE 'WARNING|ERROR' "$LOGS/docs.log" || true) warning(s) in Documentation/bpf, $(printf '%s' "$ours" | grep -c . || true) from our files"
	say "page: $TREE/Documentation/output/bpf/struct_ops.html"
	stage_end
	[ -z "$ours" ] || { printf '%s\n' "$ours"; return 1; }
}

cmd_run() {
	build_all
	stage_begin boot "a BPF TCP congestion control, end to end"
	pick_accel
	local rc=0
	vm_run_main "$RESULTS/run" "bash $ROOT/harness/demo.sh $TREE" || rc=$?
	stage_end
	stage_begin report "demo status and splat check"
	splat_check "$RESULTS/run/dmesg.txt" || rc=${rc/#0/1}
	[ "$rc" -eq 0 ] && say "demo: OK" || say "demo: FAILED (status $rc)"
	stage_end
	return "$rc"
}

# series and bench are tools of their own (harness/series.sh,
# harness/bench-run.sh): the rest of the line goes to them.
dispatch_tool() {
	local a rest=() tool='' value=''
	for a in "$@"; do
		if [ -z "$tool" ] && [ -z "$value" ]; then
			case "$a" in
			--) return 0 ;;
			series) tool=series.sh; continue ;;
			bench) tool=bench-run.sh; continue ;;
			esac
		fi
		# the value of an option is never a command
		case "$value$a" in
		-t|-a|-b|-j|--tree) value=1 ;;
		*) value= ;;
		esac
		rest+=("$a")
	done
	[ -n "$tool" ] || return 0
	exec "$ROOT/harness/$tool" ${rest[@]+"${rest[@]}"}
}

main() {
	local cmd='' args=() variant='' tree=''
	dispatch_tool "$@"
	while [ $# -gt 0 ]; do
		case "$1" in
		-h|--help) usage; exit 0 ;;
		-j*) jobs_arg "${@:1:2}"; shift $((SHIFTS - 1)) ;;
		--debug|--base)
			[ -z "$variant" ] || [ "$variant" = "$1" ] ||
				die "--debug and --base are two kernels: choose one"
			variant=$1
			use_variant "${1#--}" ;;
		-t) need_value "$1" $# "${2:-}"; SEL_TESTS+=("$2"); shift ;;
		-a) need_value "$1" $# "${2:-}"; SEL_ALLOW+=("$2"); shift ;;
		-b) need_value "$1" $# "${2:-}"; SEL_DENY+=("$2"); shift ;;
		--tree) need_value "$1" $# "${2:-}"; tree=$2; shift ;;
		--sched-ext) SCX_RUN=yes ;;
		--no-sched-ext) SCX_RUN=no ;;
		--hid) HID_RUN=yes ;;
		--no-hid) HID_RUN=no ;;
		-s) VM_SHELL=1 ;;
		--gdb) VM_GDB=1 ;;
		--) shift
		    [ $# -gt 0 ] || die "-- wants a command to run in the VM"
		    [ -z "$cmd" ] || die "two commands: $cmd and -- $*"
		    cmd='exec'; args=("$@"); break ;;
		run|test|build|shell|selfcheck|docs)
			[ -z "$cmd" ] || die "two commands: $cmd and $1"
			cmd=$1 ;;
		-*) usage >&2; die "unknown option: $1" ;;
		*) usage >&2; die "unknown command: $1" ;;
		esac
		shift
	done
	[ -n "$cmd" ] || { usage; return 0; }
	# Options that only some commands take.
	if [ "$cmd" != test ]; then
		! selected && [ ${#SEL_DENY[@]} -eq 0 ] && [ "$SCX_RUN" = auto ] &&
			[ "$HID_RUN" = auto ] ||
			die "-t, -a, -b, --[no-]sched-ext and --[no-]hid are options of test"
	fi
	case "$cmd" in test|run|exec) ;; *) [ -z "$VM_SHELL" ] || die "-s is an option of test, run and --" ;; esac
	case "$cmd" in test|run|exec|shell) ;; *) [ -z "$VM_GDB" ] || die "--gdb is an option of test, run, shell and --" ;; esac
	if [ -n "$tree" ]; then
		[ "$VARIANT" != base ] || die "--base builds the Debian base: not with --tree"
		case "$cmd" in
		build|test|run|shell|exec|selfcheck) ;;
		*) die "--tree works with build, test, run, shell, -- and selfcheck" ;;
		esac
		use_tree "$tree"
	fi
	begin_run
	case "$cmd" in
	run) cmd_run ;;
	test) cmd_test ;;
	build) build_all ;;
	shell) cmd_shell ;;
	selfcheck) cmd_selfcheck ;;
	docs) cmd_docs ;;
	exec) cmd_exec "${args[@]}" ;;
	esac
}

main "$@"; exit $?

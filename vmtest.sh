#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# vmtest.sh - build, boot and test the BPF struct_ops patch series in QEMU.
#
# The stages, in order: deps, base, assemble, config, build, boot, report.
# Everything built lives under build/ (git-ignored); each stage logs to
# build/logs/<stage>.log and the guest writes to build/results/.
#
# Usage: see usage() below or run ./vmtest.sh --help.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${VMTEST_BUILD:-$ROOT/build}
LOGS=$BUILD/logs
VARIANT=normal
RESULTS=$BUILD/results
BASE_DIR=$BUILD/base
TREE=$BUILD/linux
MODULES_STAMP=$BUILD/.modules-stamp
TARBALL=/usr/src/linux-source-6.12.tar.xz
BASE_PIN=6.12.117-1~deb12u1
BASE_MADE_AGAINST=6.12.117
JOBS=${VMTEST_JOBS:-$(($(nproc) + 1))}
VM_TIMEOUT=${VMTEST_TIMEOUT:-1800}
VM_MEM=${VMTEST_MEM:-4G}
VM_CPUS=${VMTEST_CPUS:-2}
ACCEL=${VMTEST_ACCEL:-auto}
QEMU_EXTRA=()
VM_APPEND=		# more kernel command line for the next boots
# What the user adds to every boot: kernel command line and QEMU arguments.
USER_APPEND=${VMTEST_APPEND:-}
USER_QEMU_ARGS=${VMTEST_QEMU_ARGS:-}
GDB_PORT=${VMTEST_GDB_PORT:-1234}
# Command-line choices (main() sets them): the tests to run, whether the
# sched_ext runner runs, a shell after the command, QEMU's gdb stub.
SEL_TESTS=()		# -t: test_progs tests, by name
SEL_ALLOW=()		# -a: test_progs allow patterns, as given
SEL_DENY=()		# -b: test_progs deny patterns, as given
SCX_RUN=auto		# --sched-ext / --no-sched-ext
HID_RUN=auto		# --hid / --no-hid
OWN_TREE=		# --tree DIR: that tree instead of base + ours
VM_SHELL=		# -s
VM_GDB=			# --gdb
LLVM_BIN=/usr/lib/llvm-19/bin
SELFTESTS=tools/testing/selftests/bpf
SCX_SELFTESTS=tools/testing/selftests/sched_ext
HID_SELFTESTS=tools/testing/selftests/hid
# Kernel-tree folders of the repo that are laid over the base tree.
OVERLAY_DIRS="kernel include arch net tools Documentation samples"

export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=$BUILD
export CCACHE_NOHASHDIR=1
# Depend mode hashes the compiler's own -MMD output instead of running the
# preprocessor once more on every miss (net/ipv4/tcp.c: 3.3 s instead of 4.2).
export CCACHE_DEPEND=${CCACHE_DEPEND:-1}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
export KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 2026'
export KBUILD_BUILD_USER=vmtest KBUILD_BUILD_HOST=vmtest

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

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
                 (cover letter + one patch per logical change) into
                 build/series/out; checkpatch --strict and a build after
                 each patch
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
# Output helpers: every stage prints its name, what it does and its time.

say() { printf '%s\n' "$*"; }
die() { printf 'vmtest: error: %s\n' "$*" >&2; exit 1; }

STAGE_NAME=
STAGE_START=0
stage_begin() {
	STAGE_NAME=$1
	STAGE_START=$(date +%s)
	mkdir -p "$LOGS"
	printf '\n==> [%s] %s\n' "$1" "$2"
}

stage_end() {
	printf '<== [%s] done in %ss\n' "$STAGE_NAME" $(($(date +%s) - STAGE_START))
}

# logged LOGNAME CMD... - run CMD with its output in build/logs/LOGNAME.log;
# on failure show the log's tail and stop.
logged() {
	local log=$LOGS/$1.log
	shift
	if ! "$@" >>"$log" 2>&1; then
		printf 'vmtest: command failed: %s\n--- last lines of %s ---\n' "$*" "$log" >&2
		tail -n 40 "$log" >&2
		exit 1
	fi
}

# ---------------------------------------------------------------------------
# Run control: one run per tree at a time, this run's logs only, and no
# QEMU or background job outliving the run.

# descendants PID - every live descendant of PID, children after their own.
descendants() {
	local c
	for c in $(pgrep -P "$1" || true); do
		[ "$c" != "$BASHPID" ] || continue
		descendants "$c"
		echo "$c"
	done
}

stop_children() {
	local pids
	pids=$(descendants $$)
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -TERM $pids 2>/dev/null || true
}

on_signal() {
	trap - EXIT
	say "vmtest: $1: stopping every QEMU and background job of this run" >&2
	stop_children
	[ "$1" = INT ] && exit 130 || exit 143
}

# lock_tree NAME - hold $BUILD/.lock-NAME (one per tree) for the rest of
# the run; the fd is inherited, so a QEMU or make left behind keeps it.
lock_tree() {
	local fd
	mkdir -p "$BUILD"
	exec {fd}>"$BUILD/.lock-$1"
	flock -n "$fd" ||
		die "another vmtest.sh run holds $BUILD/.lock-$1 (its tree is in use): wait for it, or use another VMTEST_BUILD"
}

begin_run() {
	lock_tree "${LOCK_NAME:-$VARIANT}"
	rm -rf "$LOGS"
	mkdir -p "$LOGS"
	trap 'on_signal INT' INT
	trap 'on_signal TERM' TERM
	trap stop_children EXIT
}

# ---------------------------------------------------------------------------
# Stage 1: deps

DEB_PKGS="linux-source-6.12 build-essential bc bison flex libelf-dev libssl-dev
dwarves cpio rsync kmod xz-utils patch python3 clang-19 llvm-19 lld-19
qemu-system-x86 ccache libcap-dev zlib1g-dev libzstd-dev pkg-config
python3-docutils iproute2 procps"

apt_install() {
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y \
		--no-install-recommends "$@"
}

# stage_deps [EXTRA_PKG...] - the build's packages plus a command's own.
stage_deps() {
	stage_begin deps "install missing Debian packages"
	local missing=() p
	for p in $DEB_PKGS "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		say "all packages present"
		stage_end
		return
	fi
	say "installing: ${missing[*]}"
	logged deps $SUDO apt-get update
	local want=() src=
	for p in "${missing[@]}"; do
		if [ "$p" = linux-source-6.12 ]; then
			src=1
		else
			want+=("$p")
		fi
	done
	[ ${#want[@]} -eq 0 ] || logged deps apt_install "${want[@]}"
	if [ -n "$src" ]; then
		if apt_install "linux-source-6.12=$BASE_PIN" >>"$LOGS/deps.log" 2>&1; then
			say "linux-source-6.12 pinned at $BASE_PIN"
		else
			say "WARNING: $BASE_PIN not offered by the archive; taking its newest linux-source-6.12"
			logged deps apt_install linux-source-6.12
		fi
	fi
	stage_end
}

# ---------------------------------------------------------------------------
# Stage 2: base - the pristine Debian tree, unpacked once.

stage_base() {
	stage_begin base "unpack $TARBALL once"
	[ -f "$TARBALL" ] || die "$TARBALL is missing (apt-get install linux-source-6.12)"
	local stamp
	stamp=$(stat -c '%s %Y' "$TARBALL")
	if [ ! -f "$BASE_DIR/.stamp" ] || [ "$(cat "$BASE_DIR/.stamp")" != "$stamp" ]; then
		rm -rf "$BASE_DIR" "$TREE"
		mkdir -p "$BASE_DIR"
		logged base tar -xJf "$TARBALL" -C "$BASE_DIR" --strip-components=1
		chmod -R a-w "$BASE_DIR"
		chmod u+w "$BASE_DIR"
		echo "$stamp" >"$BASE_DIR/.stamp"
	fi
	BASE_VERSION=$(make -s -C "$BASE_DIR" kernelversion 2>/dev/null)
	say "base tree: Linux $BASE_VERSION ($(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo unknown))"
	[ "$BASE_VERSION" = "$BASE_MADE_AGAINST" ] ||
		say "note: patches were made against $BASE_MADE_AGAINST; they must still apply without fuzz"
	stage_end
}

# ---------------------------------------------------------------------------
# Stage 3: assemble - base + our files + patches/series, keeping the mtime
# of every file whose content did not change so that make stays incremental.

# Files of the repo that mirror the kernel tree, relative to $ROOT: those
# git tracks (an editor's backup or a stray build output stays out), all
# files when the repo is not a git checkout.  The base variant keeps the
# base's bpf_struct_ops.c.
repo_files() {
	if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$ROOT" ls-files -z -- "$1" | while IFS= read -r -d '' f; do
			[ ! -f "$f" ] || echo "$f"
		done
	else
		find "$1" -type f
	fi
}

overlay_files() {
	local d
	for d in $OVERLAY_DIRS; do
		[ -d "$ROOT/$d" ] || continue
		(cd "$ROOT" && repo_files "$d") |
			if [ "$VARIANT" = base ]; then
				grep -vxF kernel/bpf/bpf_struct_ops.c
			else
				cat
			fi
	done
	return 0
}

series() {
	[ -f "$ROOT/patches/series" ] || return 0
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$ROOT/patches/series"
}

# Paths a patch touches (both sides, minus /dev/null).
patch_paths() {
	sed -n -e 's/^+++ [^/]*\/\([^[:space:]]*\).*/\1/p' \
		-e 's/^--- [^/]*\/\([^[:space:]]*\).*/\1/p' "$1" | sort -u
}

stage_assemble() {
	stage_begin assemble "lay our files and patches/series over the base"
	local stage=$TREE.stage manifest=$TREE/.vmtest-managed
	local files f p
	if [ ! -d "$TREE" ] && [ "$VARIANT" = base ] && [ -f "$BUILD/linux/vmlinux" ]; then
		# A built tree of ours differs in one file: an incremental build.
		say "seeding $TREE from $BUILD/linux"
		cp -a "$BUILD/linux" "$TREE"
	elif [ ! -d "$TREE" ]; then
		say "copying the base tree to $TREE"
		cp -a "$BASE_DIR" "$TREE"
		chmod -R u+w "$TREE"
		rm -f "$TREE/.stamp"
	fi
	rm -rf "$stage"
	mkdir -p "$stage"

	# 1. The base version of every file a patch touches, then the patches.
	for p in $(series); do
		[ -f "$ROOT/patches/$p" ] || die "patches/series names a missing patch: $p"
		for f in $(patch_paths "$ROOT/patches/$p"); do
			[ -e "$stage/$f" ] || [ ! -f "$BASE_DIR/$f" ] ||
				install -D -m 644 "$BASE_DIR/$f" "$stage/$f"
		done
		if ! patch -d "$stage" -p1 -E --fuzz=0 --no-backup-if-mismatch \
			-i "$ROOT/patches/$p" >>"$LOGS/assemble.log" 2>&1; then
			tail -n 20 "$LOGS/assemble.log" >&2
			die "patches/$p does not apply to Linux $BASE_VERSION without fuzz"
		fi
		say "applied patches/$p"
	done
	# 2. Our own files replace the base's (kernel/bpf/bpf_struct_ops.c among them).
	for f in $(overlay_files); do
		install -D -m 644 "$ROOT/$f" "$stage/$f"
		[ -f "$BASE_DIR/$f" ] && say "replaces base: $f" || say "adds: $f"
	done
	# The base variant keeps the base's bpf_struct_ops.c, with what the
	# rest of the series needs from it and it predates appended.
	if [ "$VARIANT" = base ]; then
		install -D -m 644 "$BASE_DIR/kernel/bpf/bpf_struct_ops.c" \
			"$stage/kernel/bpf/bpf_struct_ops.c"
		cat "$ROOT/config/base/bpf_struct_ops_compat.c" >>"$stage/kernel/bpf/bpf_struct_ops.c"
		say "base bpf_struct_ops.c + config/base/bpf_struct_ops_compat.c"
	fi
	# Shell scripts keep their mode.
	(cd "$ROOT" && for f in $(overlay_files); do
		[ -x "$f" ] && chmod +x "$stage/$f"; done; true)

	# 3. Sync the stage into the tree: copy what differs, restore what is no
	#    longer ours, delete what a patch deleted.
	files=$( { (cd "$stage" && find . -type f | sed 's|^\./||');
		   [ -f "$manifest" ] && cat "$manifest";
		   for p in $(series); do patch_paths "$ROOT/patches/$p"; done; } | sort -u)
	local changed=0 want
	for f in $files; do
		if [ -f "$stage/$f" ]; then
			want=$stage/$f
		elif grep -qxF "$f" <(for p in $(series); do patch_paths "$ROOT/patches/$p"; done) ||
		     [ ! -f "$BASE_DIR/$f" ]; then
			want=   # deleted by a patch, or an added file we no longer have
		else
			want=$BASE_DIR/$f
		fi
		if [ -z "$want" ]; then
			[ -e "$TREE/$f" ] || continue
			rm -f "$TREE/$f"
		else
			cmp -s "$want" "$TREE/$f" && continue
			install -D "$want" "$TREE/$f"
		fi
		changed=$((changed + 1))
	done
	(cd "$stage" && find . -type f | sed 's|^\./||' | sort) >"$manifest.new"
	for p in $(series); do patch_paths "$ROOT/patches/$p"; done >>"$manifest.new"
	sort -u "$manifest.new" >"$manifest"
	rm -f "$manifest.new"
	say "$changed file(s) updated in $TREE"
	stage_end
}

# ---------------------------------------------------------------------------
# Stage 4: config - defconfig + selftests config + config.vm + ours.

config_inputs() {
	echo "$TREE/$SELFTESTS/config" "$TREE/$SELFTESTS/config.vm" \
		"$TREE/$SELFTESTS/config.x86_64" "$TREE/$SCX_SELFTESTS/config" \
		"$ROOT"/config/*.config
	[ "$VARIANT" = normal ] || echo "$ROOT"/config/"$VARIANT"/*.config
}

stage_config() {
	stage_begin config "x86_64 defconfig + selftests/bpf config + config/*.config ($VARIANT)"
	local inputs f hash
	inputs=$(for f in $(config_inputs); do [ ! -f "$f" ] || echo "$f"; done)
	# shellcheck disable=SC2086
	hash=$(cat "$TREE/arch/x86/configs/x86_64_defconfig" $inputs | sha256sum | cut -d' ' -f1)
	if [ -f "$TREE/.config" ] && [ "$(cat "$TREE/.vmtest-config" 2>/dev/null)" = "$hash" ]; then
		say "unchanged"
		stage_end
		return
	fi
	say "fragments: $(echo $inputs | sed "s|$TREE/||g; s|$ROOT/||g")"
	logged config make -C "$TREE" x86_64_defconfig
	# shellcheck disable=SC2086
	logged config "$TREE/scripts/kconfig/merge_config.sh" -m -O "$TREE" \
		"$TREE/.config" $inputs
	logged config make -C "$TREE" olddefconfig
	# Every option our fragments ask for must have survived olddefconfig.
	local bad=
	while read -r f; do
		case "$f" in
		CONFIG_*=*) grep -qxF "$f" "$TREE/.config" || bad="$bad ${f%%=*}" ;;
		esac
	done < <(cat "$ROOT/config/struct_ops.config" "$ROOT/config/hid.config")
	[ -z "$bad" ] || die "config options not taken (missing dependency?):$bad"
	# What lean.config turns off only costs build time if something turns
	# it back on; say so rather than fail.
	bad=
	while read -r f; do
		case "$f" in
		"# CONFIG_"*" is not set")
			f=${f#\# }
			f=${f%% *}
			! grep -qs "^$f=" "$ROOT/config/$VARIANT"/*.config || continue
			! grep -q "^$f=" "$TREE/.config" || bad="$bad $f"
			;;
		esac
	done <"$ROOT/config/lean.config"
	[ -z "$bad" ] || say "lean.config options turned back on by a dependency:$bad"
	echo "$hash" >"$TREE/.vmtest-config"
	say "$(grep -c '=y' "$TREE/.config") options built in, $(grep -c '=m' "$TREE/.config") as modules"
	stage_end
}

# ---------------------------------------------------------------------------
# Stage 5: build - kernel, then the selftests with clang-19.

selftests_make() {
	PATH=$LLVM_BIN:$PATH make -C "$TREE/$1" -j"$JOBS" \
		VMLINUX_BTF="$TREE/vmlinux" "${@:2}"
}

build_kernel() {
	logged build make -C "$TREE" -j"$JOBS" CC="ccache gcc" bzImage modules
}

# The selftests Makefile does not rebuild the test modules when only the
# kernel changed; stale ones then fail to load.  Drop them on any change.
build_selftests() {
	local stamp m t0
	stamp=$(stat -c %Y "$TREE/vmlinux")
	if [ "$(cat "$MODULES_STAMP" 2>/dev/null)" != "$stamp" ]; then
		for m in bpf_testmod bpf_test_no_cfi bpf_test_modorder_x bpf_test_modorder_y; do
			[ -d "$TREE/$SELFTESTS/$m" ] || continue
			find "$TREE/$SELFTESTS/$m" \( -name '*.o' -o -name '*.ko' -o -name '*.mod' \
				-o -name '*.mod.c' -o -name '.*.cmd' -o -name 'Module.symvers' \
				-o -name 'modules.order' \) -delete
			rm -f "$TREE/$SELFTESTS/$m.ko"
		done
	fi

	t0=$(date +%s)
	logged build selftests_make "$SELFTESTS" test_progs
	say "test_progs + modules in $(($(date +%s) - t0))s"
	echo "$stamp" >"$MODULES_STAMP"

	t0=$(date +%s)
	logged build selftests_make "$SCX_SELFTESTS"
	say "sched_ext runner in $(($(date +%s) - t0))s"

	t0=$(date +%s)
	logged build selftests_make "$HID_SELFTESTS" hid_bpf hidraw
	say "HID-BPF tests (hid_bpf, hidraw) in $(($(date +%s) - t0))s"
}

stage_build() {
	stage_begin build "bzImage + modules, test_progs, bpf_testmod, sched_ext runner, HID-BPF tests (-j$JOBS)"
	local t0
	t0=$(date +%s)
	build_kernel
	say "kernel: $(make -s -C "$TREE" kernelrelease) in $(($(date +%s) - t0))s"
	build_selftests
	ccache -s 2>/dev/null | grep -iE 'hits|misses' | head -n 3 | sed 's/^/ccache: /' || true
	stage_end
}

# stage_tree - with --tree: the user's own kernel tree, as it is.
stage_tree() {
	stage_begin tree "the kernel tree given with --tree, as it is"
	local git=
	[ "$(git -C "$TREE" rev-parse --show-toplevel 2>/dev/null)" != "$TREE" ] ||
		git=", git $(git -C "$TREE" describe --always --dirty 2>/dev/null)"
	say "tree: $TREE, Linux $(make -s -C "$TREE" kernelversion 2>/dev/null)$git"
	say "note: vmtest.sh writes its .config and builds in place there"
	stage_end
}

build_all() {
	stage_deps
	if [ -n "$OWN_TREE" ]; then
		stage_tree
	else
		stage_base
		stage_assemble
	fi
	stage_config
	stage_build
}

# ---------------------------------------------------------------------------
# Stage 6: boot - the host's / read-only over virtio-9p, build/ writable at
# the same path, our own init script (harness/init.sh) as PID 1.

kvm_works() {
	case "$ACCEL" in
	kvm) return 0 ;;
	tcg) return 1 ;;
	esac
	[ -w /dev/kvm ] || return 1
	# Nested KVM on our machines dies on cmpxchg16b or stalls: a short boot
	# that must reach userspace decides.
	local out=$BUILD/kvm-probe
	rm -rf "$out"
	mkdir -p "$out"
	echo 'exit 0' >"$out/cmd"
	qemu_boot kvm "$out" 30 >"$LOGS/kvm-probe.log" 2>&1 || return 1
	[ "$(cat "$out/exit_status" 2>/dev/null)" = 0 ]
}

pick_accel() {
	[ -z "${VM_ACCEL:-}" ] || return 0
	if kvm_works; then
		VM_ACCEL=kvm
		say "accelerator: KVM (the probe boot reached userspace)"
	else
		VM_ACCEL=tcg
		say "accelerator: TCG, single-threaded (KVM absent or its probe boot failed; see $LOGS/kvm-probe.log)"
	fi
}

# qemu_boot ACCEL OUTDIR TIMEOUT [interactive] - boot the tree's kernel; the
# guest runs OUTDIR/cmd and leaves exit_status, dmesg.txt there.
qemu_boot() {
	local accel=$1 out=$2 timeout=$3 interactive=${4:-} cpu serial
	if [ "$accel" = kvm ]; then
		accel="-accel kvm"
		cpu=host
	else
		accel="-accel tcg,thread=single"
		cpu=max
	fi
	serial="-serial stdio"
	[ -z "$interactive" ] || serial="-serial mon:stdio"
	local append="console=ttyS0,115200 root=hostroot rootfstype=9p"
	append="$append rootflags=trans=virtio,version=9p2000.L,msize=512000,cache=loose"
	append="$append ro init=$ROOT/harness/init.sh panic=-1 oops=panic"
	append="$append vmtest.root=$ROOT vmtest.build=$BUILD vmtest.out=$out"
	append="$append vmtest.cwd=$TREE/$SELFTESTS"
	append="$append no_hash_pointers loglevel=4 net.ifnames=0"
	append="$append${VM_APPEND:+ $VM_APPEND}${USER_APPEND:+ $USER_APPEND}"
	# shellcheck disable=SC2086
	timeout --foreground -k 10 "$timeout" qemu-system-x86_64 -nodefaults \
		-no-reboot -display none $serial $accel -cpu "$cpu" \
		-smp "$VM_CPUS" -m "$VM_MEM" \
		-kernel "$TREE/arch/x86/boot/bzImage" -append "$append" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs local,path="$BUILD",mount_tag=vmtest-build,security_model=none,multidevs=remap \
		"${QEMU_EXTRA[@]}" $USER_QEMU_ARGS
}

# vm_run OUTDIR COMMAND - run COMMAND (a shell snippet) in a fresh VM and
# leave console.log, exit_status and dmesg.txt in OUTDIR.  Returns the
# command's status, 124 for a VM timeout.
vm_run() {
	local out=$1 cmd=$2 timeout=${3:-$VM_TIMEOUT} rc=0 input=/dev/null
	rm -rf "$out"
	mkdir -p "$out"
	printf '%s\n' "$cmd" >"$out/cmd"
	[ -z "${VM_INTERACTIVE:-}" ] || input=/dev/stdin
	{
		qemu_boot "$VM_ACCEL" "$out" "$timeout" ${VM_INTERACTIVE:+interactive} <"$input" &&
			rc=0 || rc=$?
		echo "$rc" >"$out/qemu_status"
	} 2>&1 | tee "$out/console.log"
	rc=$(cat "$out/qemu_status")
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		say "vmtest: VM timed out after ${timeout}s and was killed"
		return 124
	fi
	if [ ! -f "$out/exit_status" ]; then
		say "vmtest: the VM stopped before the command finished (qemu status $rc)"
		return 125
	fi
	return "$(cat "$out/exit_status")"
}

# gdb_setup - with --gdb: QEMU's gdb stub, the CPU halted until gdb
# continues it, no KASLR (so vmlinux's addresses are the kernel's).
gdb_setup() {
	[ -n "$VM_GDB" ] || return 0
	QEMU_EXTRA+=(-gdb "tcp::$GDB_PORT" -S)
	VM_APPEND="${VM_APPEND:+$VM_APPEND }nokaslr"
	say "gdb: the VM waits for gdb; in another terminal run:"
	say "  gdb $TREE/vmlinux -ex 'target remote localhost:$GDB_PORT' -ex continue"
}

# vm_run_main OUTDIR COMMAND - vm_run for the command the user asked for:
# with -s a shell in the VM follows COMMAND (whose status stands), with
# --gdb the VM waits for gdb.  Neither has a VM timeout.
vm_run_main() {
	local out=$1 cmd=$2 timeout=$VM_TIMEOUT rc=0
	if [ -n "$VM_SHELL" ]; then
		[ -t 0 ] || die "-s wants a terminal on stdin"
		cmd="( $cmd
)
vmtest_rc=\$?
echo \"vmtest: -s: the command exited with status \$vmtest_rc; exit this shell to power off\"
setsid -c /bin/bash -i </dev/ttyS0 >/dev/ttyS0 2>&1
exit \$vmtest_rc"
		timeout=86400
	fi
	if [ -n "$VM_GDB" ]; then
		gdb_setup
		timeout=86400
	fi
	VM_INTERACTIVE=$VM_SHELL vm_run "$out" "$cmd" "$timeout" || rc=$?
	QEMU_EXTRA=()
	VM_APPEND=
	return "$rc"
}

# ---------------------------------------------------------------------------
# Stage 7: report

# Kernel splats that fail a run, whatever the tests said.
SPLAT_RE='BUG:|WARNING:|Oops|KASAN:|UBSAN:|possible (circular|recursive)? ?locking|possible .*deadlock|suspicious RCU usage|rcu: INFO: .* stall|detected stall|blocked for more than|soft lockup|hard LOCKUP|Kernel panic|general protection fault|kernel BUG'

# splat_check DMESG - a guest that died (panic) saves no dmesg; then scan
# the console log next to it, which has the kernel's last words.
splat_check() {
	local dmesg=$1
	if [ ! -f "$dmesg" ]; then
		say "no dmesg saved; scanning the console log"
		dmesg=$(dirname "$dmesg")/console.log
		[ -f "$dmesg" ] || return 1
		grep -E "$SPLAT_RE" "$dmesg" | sed 's/^/  /' | head -n 20
		return 1
	fi
	if grep -E "$SPLAT_RE" "$dmesg" >"$dmesg.splats"; then
		say "kernel splats in $(basename "$dmesg"):"
		sed 's/^/  /' "$dmesg.splats" | head -n 20
		return 1
	fi
	return 0
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

# ---------------------------------------------------------------------------
# Command: series - our change as a git format-patch series against the base,
# laid out by patches/mail/series, checked with checkpatch and built after
# each patch.

MAIL_DIR=$ROOT/patches/mail
SERIES_DIR=$BUILD/series

mail_lines() {
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$MAIL_DIR/series"
}

# Every file of ours and every entry of patches/series, once each.
mail_check_coverage() {
	local want got dups missing
	want=$( { overlay_files; series | sed 's|^|patches/|'; } | sort)
	got=$(mail_lines | awk '{ for (i = 2; i <= NF; i++) print $i }' | sort)
	dups=$(printf '%s\n' "$got" | uniq -d)
	[ -z "$dups" ] || die "patches/mail/series lists twice: $dups"
	missing=$(comm -23 <(echo "$want") <(echo "$got"))
	[ -z "$missing" ] || die "patches/mail/series does not mail: $missing"
	missing=$(comm -13 <(echo "$want") <(echo "$got"))
	[ -z "$missing" ] || die "patches/mail/series names what we do not have: $missing"
}

# The commit message of a patches/*.patch: what precedes its first diff.
patch_message() {
	sed -n '/^\(--- \|diff \|Index: \)/q; p' "$1"
}

# mail_commit GIT MSG ITEM... - one patch of the series as a commit.
mail_commit() {
	local git=$1 msg=$2 item m
	shift 2
	for item in "$@"; do
		case "$item" in
		patches/*.patch)
			patch -d "$git" -p1 -E --fuzz=0 --no-backup-if-mismatch -s \
				-i "$ROOT/$item" || die "$item does not apply in the series"
			;;
		*)
			install -D -m 644 "$ROOT/$item" "$git/$item" ;;
		esac
	done
	m=$SERIES_DIR/msg
	if [ "$msg" = - ]; then
		[ $# -eq 1 ] || die "patches/mail/series: '-' needs exactly one patch"
		patch_message "$ROOT/$1" >"$m"
	else
		cat "$MAIL_DIR/$msg" >"$m"
	fi
	printf '\nSigned-off-by: %s\n' "$SIGNOFF" >>"$m"
	git -C "$git" add -A
	git -C "$git" commit -q --cleanup=strip -F "$m"
}

# The base's version of every file the series touches, then one commit per
# line of patches/mail/series.
series_commits() {
	local git=$SERIES_DIR/git f msg items
	rm -rf "$git"
	mkdir -p "$git"
	for f in $( { overlay_files; for p in $(series); do
			patch_paths "$ROOT/patches/$p"; done; } | sort -u); do
		[ -f "$BASE_DIR/$f" ] && install -D -m 644 "$BASE_DIR/$f" "$git/$f"
	done
	git -C "$git" init -q
	git -C "$git" add -A
	git -C "$git" commit -q -m "Linux $BASE_VERSION: the files the series touches"
	git -C "$git" tag base
	while read -r msg items; do
		# shellcheck disable=SC2086
		mail_commit "$git" "$msg" $items
		say "  $(git -C "$git" log -1 --format=%s)"
	done < <(mail_lines)
}

series_format() {
	local git=$SERIES_DIR/git out=$SERIES_DIR/out cover
	rm -rf "$out"
	git -C "$git" format-patch -q --cover-letter --subject-prefix='PATCH bpf-next' \
		-o "$out" base..HEAD
	cover=$(ls "$out"/0000-*.patch)
	python3 - "$cover" "$MAIL_DIR/cover.txt" <<'PY'
import sys
path, src = sys.argv[1], sys.argv[2]
subject, _, body = open(src).read().partition('\n')
text = open(path).read()
text = text.replace('*** SUBJECT HERE ***', subject.strip())
text = text.replace('*** BLURB HERE ***', body.strip('\n'))
open(path, 'w').write(text)
PY
	ls "$out" | sed 's/^/  /'
}

# Two checkpatch warnings do not apply to this series:
#  FILE_PATH_CHANGES  new files are covered by the series' own MAINTAINERS
#                     patch, which checkpatch only credits in the same patch;
#  ENOTSUPP           ENOTSUPP is the errno the BPF syscall already returns
#                     for these inputs (a non-struct_ops value type, an
#                     unsupported member, freeze); the tests assert it.
CHECKPATCH_IGNORE=FILE_PATH_CHANGES,ENOTSUPP

# The findings of a checkpatch report (--show-types), one line each, less
# the one checkpatch gets wrong here: OPEN_BRACE on the definition of
# bpf_struct_ops_for_each_prog().  Any name with "for_each" in it reads to
# checkpatch as a loop macro, whose brace belongs on its line; the name is
# upstream's API.
checkpatch_findings() {
	awk 'BEGIN { RS = "" }
	     /^(ERROR|WARNING|CHECK):/ {
		if ($0 ~ /^ERROR:OPEN_BRACE:/ &&
		    index($0, "\n+int bpf_struct_ops_for_each_prog("))
			next
		split($0, line, "\n")
		print line[1]
	     }' "$1"
}

series_checkpatch() {
	local p bad=0 res left
	mkdir -p "$SERIES_DIR/checkpatch"
	for p in "$SERIES_DIR"/out/0*.patch; do
		case "$p" in */0000-*) continue ;; esac
		res=$SERIES_DIR/checkpatch/$(basename "$p" .patch).txt
		(cd "$TREE" && ./scripts/checkpatch.pl --strict --show-types \
			--ignore "$CHECKPATCH_IGNORE" "$p") >"$res" 2>&1
		left=$(checkpatch_findings "$res" | wc -l)
		grep -q '^total:' "$res" && [ "$left" -eq 0 ] || bad=1
		say "  $(basename "$p"): $(grep -E '^total:' "$res" || echo 'checkpatch did not finish')$(
			[ "$left" -eq 0 ] && grep -q '^ERROR:' "$res" &&
			echo ' (the for_each false positive only)')"
	done
	[ "$bad" -eq 0 ] || { for res in "$SERIES_DIR"/checkpatch/*.txt; do
		checkpatch_findings "$res"; done | sed 's/^/  /'; return 1; }
}

# Put the files the series touches into $TREE as they are after commit C.
series_checkout() {
	local git=$SERIES_DIR/git f
	git -C "$git" checkout -q "$1"
	for f in $(git -C "$git" diff --name-only base tip); do
		if [ -f "$git/$f" ]; then
			cmp -s "$git/$f" "$TREE/$f" || install -D "$git/$f" "$TREE/$f"
		else
			rm -f "$TREE/$f"
		fi
	done
}

# Build the tree as it is after each patch: the kernel (and W=1 for the
# core file when the patch changes it), the selftests when the patch
# touches them.  The tree ends as the whole series leaves it.
series_build() {
	local git=$SERIES_DIR/git c n=0 files t0
	for c in $(git -C "$git" rev-list --reverse base..tip); do
		n=$((n + 1))
		files=$(git -C "$git" diff-tree --no-commit-id --name-only -r "$c")
		series_checkout "$c"
		t0=$(date +%s)
		build_kernel
		if grep -qx kernel/bpf/bpf_struct_ops.c <<<"$files"; then
			rm -f "$TREE/kernel/bpf/bpf_struct_ops.o"
			make -C "$TREE" W=1 CC="ccache gcc" kernel/bpf/bpf_struct_ops.o \
				>"$SERIES_DIR/w1.log" 2>&1 || die "W=1 build failed: $SERIES_DIR/w1.log"
			! grep -q 'bpf_struct_ops\.c.*warning:' "$SERIES_DIR/w1.log" ||
				die "W=1 warnings in bpf_struct_ops.c: $SERIES_DIR/w1.log"
			build_kernel
		fi
		if grep -q "^$SELFTESTS/" <<<"$files"; then
			build_selftests >/dev/null
		fi
		say "  patch $n builds ($(($(date +%s) - t0))s): $(git -C "$git" log -1 --format=%s "$c")"
	done
	git -C "$git" checkout -q tip
}

cmd_series() {
	stage_deps
	stage_base
	stage_assemble
	stage_config
	mail_check_coverage
	SIGNOFF="$(git -C "$ROOT" config user.name || id -un) <$(git -C "$ROOT" config user.email || echo "$(id -un)@localhost")>"
	stage_begin series "commit each patch of patches/mail/series on the base"
	series_commits
	git -C "$SERIES_DIR/git" tag tip
	stage_end
	stage_begin format "git format-patch with a cover letter into $SERIES_DIR/out"
	series_format
	stage_end
	stage_begin checkpatch "scripts/checkpatch.pl --strict on every patch"
	local rc=0
	series_checkpatch || rc=1
	stage_end
	stage_begin build "build the tree after each patch"
	series_build
	stage_end
	say "series: $SERIES_DIR/out (send with git send-email, see README)"
	return "$rc"
}

# ---------------------------------------------------------------------------
# Command: bench - the struct_ops benchmark (tools/testing/selftests/bpf/
# struct_ops_bench, harness/bench.sh) on the base's bpf_struct_ops.c and on
# ours.  The two kernels differ in one file: the base variant's tree starts
# as a copy of ours and rebuilds incrementally.  Guest instructions are
# counted by a TCG plugin (harness/insn_count.c), so the bench always runs
# under single-threaded TCG, on one vCPU.

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

cmd_bench() {
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

# use_variant NAME - build and boot a second config (config/NAME/*.config on
# top of the normal fragments) in its own tree and results folder.
use_variant() {
	VARIANT=$1
	TREE=$BUILD/linux-$1
	RESULTS=$BUILD/results-$1
	MODULES_STAMP=$BUILD/.modules-stamp-$1
	LOGS=$BUILD/logs-$1
	VM_TIMEOUT=${VMTEST_TIMEOUT:-3600}
}

# use_tree DIR - build and boot the kernel tree DIR instead of the Debian
# base with our files and patches (results and logs in *-tree folders).
use_tree() {
	[ -f "$1/Makefile" ] && [ -d "$1/kernel/bpf" ] && [ -d "$1/$SELFTESTS" ] ||
		die "--tree $1: not a kernel tree with BPF selftests"
	OWN_TREE=$(cd "$1" && pwd)
	TREE=$OWN_TREE
	local suffix=tree
	[ "$VARIANT" = normal ] || suffix=tree-$VARIANT
	RESULTS=$BUILD/results-$suffix
	LOGS=$BUILD/logs-$suffix
	MODULES_STAMP=$BUILD/.modules-stamp-$suffix
	LOCK_NAME=$suffix-$(printf '%s' "$TREE" | sha1sum | cut -c1-12)
}

# need_value OPTION ARGC VALUE - OPTION wants a value.
need_value() {
	[ "$2" -ge 2 ] && [ -n "$3" ] && [[ $3 != -* ]] || die "$1 wants a value (see --help)"
}

main() {
	local cmd='' args=() variant='' tree=''
	while [ $# -gt 0 ]; do
		case "$1" in
		-h|--help) usage; exit 0 ;;
		-j) [ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] ||
			die "-j wants a number of jobs: -j N"
		    JOBS=$2; shift ;;
		-j*) [[ ${1#-j} =~ ^[1-9][0-9]*$ ]] || die "-j wants a number of jobs: -j N"
		     JOBS=${1#-j} ;;
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
		run|test|build|shell|selfcheck|docs|series|bench)
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
	series) cmd_series ;;
	bench) cmd_bench ;;
	exec) cmd_exec "${args[@]}" ;;
	esac
}

main "$@"; exit $?

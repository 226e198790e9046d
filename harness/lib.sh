# SPDX-License-Identifier: GPL-2.0
#
# harness/lib.sh - what the harness's tools share: settings, output and
# run control, the stages that make a kernel tree (deps, base, assemble,
# config, build), the VM boot and the splat check.  Sourced by vmtest.sh
# (build, boot, test), harness/series.sh and harness/bench-run.sh.

# shellcheck shell=bash
# The tools that source this file use its variables and pass arguments
# to its functions: checked alone, it looks otherwise.
# shellcheck disable=SC2034,SC2120

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

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
# Run choices the tools set from their command line: the kernel tree
# given with --tree, a shell in the VM after the command (-s), QEMU's
# gdb stub (--gdb).
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

# copy_base_tree - $TREE as a writable copy of the pristine base.
copy_base_tree() {
	say "copying the base tree to $TREE"
	cp -a "$BASE_DIR" "$TREE"
	chmod -R u+w "$TREE"
	rm -f "$TREE/.stamp"
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
		copy_base_tree
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

# build_kernel - vmlinux and the modules through ccache, then bzImage
# without it.  The boot image's piggy.o holds vmlinux through .incbin,
# which depend mode never hashes: when piggy.S (the compressed kernel's
# sizes) reads as in an earlier build, ccache hands back that build's
# piggy.o, and the VM boots an older kernel than vmlinux, whose BTF the
# test modules are built against (they then fail to load, -EINVAL).  The
# same CC string keeps kbuild's command lines: nothing else rebuilds.
build_kernel() {
	logged build make -C "$TREE" -j"$JOBS" CC="ccache gcc" vmlinux modules
	rm -f "$TREE/arch/x86/boot/compressed/piggy.o"
	CCACHE_DISABLE=1 logged build make -C "$TREE" -j"$JOBS" CC="ccache gcc" bzImage
}

# build_test_progs - test_progs and the test modules.  The selftests
# Makefile does not rebuild the modules when only the kernel changed;
# stale ones then fail to load.  Drop them on any change.
build_test_progs() {
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
}

# build_selftests - test_progs and the test modules, the sched_ext
# runner, the HID-BPF tests.
build_selftests() {
	local t0
	build_test_progs

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
	booted_build_check "$out/console.log" || return 125
	return "$(cat "$out/exit_status")"
}

# booted_build_check CONSOLE - the VM ran the tree's last build: the "#N"
# the init printed is the tree's .version.  A stale bzImage would
# otherwise pass as this kernel.
booted_build_check() {
	local want got
	want=$(cat "$TREE/.version" 2>/dev/null) || return 0
	got=$(sed -n 's/^vmtest-init: [^ ]* #\([0-9]*\) up in .*/\1/p' "$1" | head -n 1)
	[ -z "$got" ] || [ "$got" = "$want" ] && return 0
	say "vmtest: the VM booted build #$got, but $TREE is at build #$want (stale bzImage?)"
	return 1
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

# jobs_arg OPTION [VALUE] - -j N or -jN: set JOBS; SHIFTS says how many
# words that took.
jobs_arg() {
	local n=${1#-j}
	SHIFTS=1
	if [ -z "$n" ]; then
		n=${2:-}
		SHIFTS=2
	fi
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "-j wants a number of jobs: -j N"
	JOBS=$n
}

# need_value OPTION ARGC VALUE - OPTION wants a value.
need_value() {
	[ "$2" -ge 2 ] && [ -n "$3" ] && [[ $3 != -* ]] || die "$1 wants a value (see --help)"
}

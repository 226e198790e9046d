#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# harness/series.sh - our change as mailable git format-patch series;
# ./vmtest.sh series runs it.
#
#   (default)  bpf-next: patches/mail/series, on top of the fixes, into
#              build/series/out; checkpatch --strict, and the tree built
#              after each patch.
#   --fixes    bpf: patches/fixes/series, the fixes as minimal diffs
#              against the base's own bpf_struct_ops.c, each with its
#              selftest, into build/series-fixes/out; checkpatch --strict,
#              and after each patch the base tree with it built and booted
#              to run the series' selftests so far.
#
# The stages: deps, base, tree (where the builds happen), commits,
# format, checkpatch, build.

set -euo pipefail

# shellcheck source=harness/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MAIL_DIR=$ROOT/patches/mail
FIXES_DIR=$ROOT/patches/fixes
WHICH=bpf-next		# or fixes (--fixes)
SERIES_DIR=$BUILD/series
SIGNOFF=

usage() {
	cat <<EOF
Usage: ./vmtest.sh series [--fixes] [-j N]

  (default)  the bpf-next series (patches/mail/series) into
             build/series/out
  --fixes    the bpf series of fixes (patches/fixes/series) into
             build/series-fixes/out; each patch is built and its
             selftests run on the base tree (build/linux-fixes)
  -j N       make jobs (default: nproc + 1 = $JOBS)
EOF
}

# ---------------------------------------------------------------------------
# Stage: commits - one git commit per line of the series files.  A line is
# "MESSAGE ITEM...": an ITEM is one of our files (copied over the base) or
# patches/.../NAME.patch (applied); MESSAGE is a file next to the series
# file, or "-" for the message of the line's only patch.  In
# patches/fixes/series, "base" lines go into the base commit.

series_lines() {
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$1"
}

# The items of both series files, one per line.
series_items() {
	{ series_lines "$FIXES_DIR/series"; series_lines "$MAIL_DIR/series"; } |
		awk '{ for (i = 2; i <= NF; i++) print $i }'
}

# Every file of ours, every entry of patches/series and every patch in
# patches/fixes, once in one of the two series.
check_coverage() {
	local want got dups missing
	want=$( { overlay_files; series | sed 's|^|patches/|';
		  (cd "$ROOT" && ls patches/fixes/*.patch); } | sort)
	got=$(series_items | sort)
	dups=$(printf '%s\n' "$got" | uniq -d)
	[ -z "$dups" ] || die "patches/fixes/series and patches/mail/series list twice: $dups"
	missing=$(comm -23 <(echo "$want") <(echo "$got"))
	[ -z "$missing" ] || die "neither patches/fixes/series nor patches/mail/series mails: $missing"
	missing=$(comm -13 <(echo "$want") <(echo "$got"))
	[ -z "$missing" ] || die "the series files name what we do not have: $missing"
}

# The commit message of a patches/*.patch: what precedes its first diff.
patch_message() {
	sed -n '/^\(--- \|diff \|Index: \)/q; p' "$1"
}

# series_apply ITEM... - lay ITEMs into the series' git.
series_apply() {
	local git=$SERIES_DIR/git item
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
}

# series_commit DIR MSG ITEM... - one line of DIR/series as a commit.
series_commit() {
	local git=$SERIES_DIR/git dir=$1 msg=$2 m=$SERIES_DIR/msg
	shift 2
	series_apply "$@"
	if [ "$msg" = - ]; then
		[ $# -eq 1 ] || die "${dir#"$ROOT"/}/series: '-' needs exactly one patch"
		patch_message "$ROOT/$1" >"$m"
	else
		cat "$dir/$msg" >"$m"
	fi
	printf '\nSigned-off-by: %s\n' "$SIGNOFF" >>"$m"
	git -C "$git" add -A
	git -C "$git" commit -q --cleanup=strip -F "$m"
	say "  $(git -C "$git" log -1 --format=%s)"
}

# series_commits_of DIR - the lines of DIR/series but the "base" ones.
series_commits_of() {
	local msg items
	while read -r msg items; do
		[ "$msg" != base ] || continue
		# shellcheck disable=SC2086
		series_commit "$1" "$msg" $items
	done < <(series_lines "$1/series")
}

# The git: the base's version of every file a series touches (tag
# upstream); the "base" lines in one commit (tag base); the fixes (tag
# fixes); for bpf-next its series on top.  The last commit is tagged tip.
stage_commits() {
	local git=$SERIES_DIR/git f p items subjects what=patches/fixes/series
	[ "$WHICH" = fixes ] || what="$what, then patches/mail/series"
	stage_begin commits "one commit per line of $what"
	rm -rf "$git"
	mkdir -p "$git"
	for f in $( { overlay_files
			for p in $(series); do patch_paths "$ROOT/patches/$p"; done
			for p in "$FIXES_DIR"/*.patch; do patch_paths "$p"; done; } | sort -u); do
		[ -f "$BASE_DIR/$f" ] && install -D -m 644 "$BASE_DIR/$f" "$git/$f"
	done
	git -C "$git" init -q
	git -C "$git" add -A
	git -C "$git" commit -q -m "Linux $BASE_VERSION: the files the series touch"
	git -C "$git" tag upstream

	items=$(series_lines "$FIXES_DIR/series" | awk '$1 == "base" { for (i = 2; i <= NF; i++) print $i }')
	# shellcheck disable=SC2086
	series_apply $items
	subjects=$(for p in $items; do patch_message "$ROOT/$p" | head -n 1 | sed 's/^/  /'; done)
	git -C "$git" add -A
	git -C "$git" commit -q -m "Linux $BASE_VERSION as the series are based on it" \
		-m "What the base tree needs to build its selftests:" -m "$subjects"
	git -C "$git" tag base
	say "  base: Linux $BASE_VERSION + ${items:-nothing}"

	series_commits_of "$FIXES_DIR"
	git -C "$git" tag fixes
	[ "$WHICH" = fixes ] || series_commits_of "$MAIL_DIR"
	git -C "$git" tag tip
	stage_end
}

# ---------------------------------------------------------------------------
# Stage: format - git format-patch, with the cover letter from the series'
# cover.txt (first line: subject, blank line, blurb) and --base: the bpf-next
# series names the fixes as its prerequisite patches.

stage_format() {
	stage_begin format "git format-patch --cover-letter --base into $SERIES_DIR/out"
	local git=$SERIES_DIR/git out=$SERIES_DIR/out prefix range cover
	if [ "$WHICH" = fixes ]; then
		prefix='PATCH bpf' range=base..tip cover=$FIXES_DIR/cover.txt
	else
		prefix='PATCH bpf-next' range=fixes..tip cover=$MAIL_DIR/cover.txt
	fi
	rm -rf "$out"
	git -C "$git" format-patch -q --cover-letter --subject-prefix="$prefix" \
		--base=base -o "$out" "$range"
	python3 - "$(ls "$out"/0000-*.patch)" "$cover" <<'PY'
import sys
path, src = sys.argv[1], sys.argv[2]
subject, _, body = open(src).read().partition('\n')
text = open(path).read()
text = text.replace('*** SUBJECT HERE ***', subject.strip())
text = text.replace('*** BLURB HERE ***', body.strip('\n'))
open(path, 'w').write(text)
PY
	ls "$out" | sed 's/^/  /'
	say "  $(grep -c '^prerequisite-patch-id:' "$out"/0000-*.patch || true) prerequisite patch(es), $(grep '^base-commit:' "$out"/0000-*.patch)"
	stage_end
}

# ---------------------------------------------------------------------------
# Stage: checkpatch

# Three checkpatch warnings do not apply to these series:
#  FILE_PATH_CHANGES  new files are covered by the series' own MAINTAINERS
#                     patch, which checkpatch only credits in the same patch;
#  ENOTSUPP           ENOTSUPP is the errno the BPF syscall already returns
#                     for these inputs (a non-struct_ops value type, an
#                     unsupported member, freeze); the tests assert it;
#  UNKNOWN_COMMIT_ID  checkpatch looks a Fixes: id up in the tree's git, and
#                     the Debian tree has no upstream history: it warns on
#                     every id.  patches/fixes/series says where each of
#                     ours was checked.
CHECKPATCH_IGNORE=FILE_PATH_CHANGES,ENOTSUPP,UNKNOWN_COMMIT_ID

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

stage_checkpatch() {
	stage_begin checkpatch "scripts/checkpatch.pl --strict on every patch"
	local p bad=0 res left
	mkdir -p "$SERIES_DIR/checkpatch"
	rm -f "$SERIES_DIR"/checkpatch/*.txt
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
	if [ "$bad" -ne 0 ]; then
		for res in "$SERIES_DIR"/checkpatch/*.txt; do
			checkpatch_findings "$res"
		done | sed 's/^/  /'
	fi
	stage_end
	return "$bad"
}

# ---------------------------------------------------------------------------
# Stage: build - the tree as it is after each patch.

# series_checkout C - the files the series touch into $TREE as they are
# after commit C.
series_checkout() {
	local git=$SERIES_DIR/git f
	git -C "$git" checkout -q "$1"
	for f in $(git -C "$git" diff --name-only upstream tip); do
		if [ -f "$git/$f" ]; then
			cmp -s "$git/$f" "$TREE/$f" || install -D "$git/$f" "$TREE/$f"
		else
			rm -f "$TREE/$f"
		fi
	done
}

# w1_check - bpf_struct_ops.c built with W=1 must not warn.
w1_check() {
	rm -f "$TREE/kernel/bpf/bpf_struct_ops.o"
	make -C "$TREE" W=1 CC="ccache gcc" kernel/bpf/bpf_struct_ops.o \
		>"$SERIES_DIR/w1.log" 2>&1 || die "W=1 build failed: $SERIES_DIR/w1.log"
	! grep -q 'bpf_struct_ops\.c.*warning:' "$SERIES_DIR/w1.log" ||
		die "W=1 warnings in bpf_struct_ops.c: $SERIES_DIR/w1.log"
}

# Whether the kernel build sees FILES (one per line): anything outside
# the selftests, the docs and MAINTAINERS.
touches_kernel() {
	grep -qvE "^($SELFTESTS/|$SCX_SELFTESTS/|$HID_SELFTESTS/|Documentation/|MAINTAINERS$)" <<<"$1"
}

# Whether the selftests' build sees FILES: the selftests, or what they
# build from the tools tree (libbpf, bpftool, the tools' uapi copy).
touches_selftests() {
	grep -qE "^($SELFTESTS|$SCX_SELFTESTS|$HID_SELFTESTS|tools/lib/bpf|tools/bpf|tools/include)/" <<<"$1"
}

# The test_progs tests of the prog_tests files the series added by commit C.
series_tests_at() {
	local git=$SERIES_DIR/git f
	for f in $(git -C "$git" diff --name-only --diff-filter=A base "$1" -- "$SELFTESTS/prog_tests/"); do
		case "$f" in *.c) ;; *) continue ;; esac
		git -C "$git" show "$1:$f" |
			sed -n 's/^void \(serial_\)\{0,1\}test_\([A-Za-z0-9_]*\)(void).*/\2/p'
	done | sort -u | paste -sd, -
}

# series_run_tests N TESTS - boot the tree and run TESTS (test_progs -a);
# the run fails on a failed test, a VM that died or a splat.
series_run_tests() {
	local out=$RESULTS/patch-$1 rc=0
	vm_run "$out" "cd $TREE/$SELFTESTS
./test_progs -a '$2' > \$VMTEST_OUT/test_progs.txt 2>&1; rc=\$?
cat \$VMTEST_OUT/test_progs.txt; exit \$rc" >/dev/null || rc=$?
	if [ "$rc" -ne 0 ] || ! splat_check "$out/dmesg.txt" >/dev/null; then
		grep -E ':FAIL|^Summary' "$out/test_progs.txt" 2>/dev/null | sed 's/^/    /'
		die "patch $1: $2 failed (status $rc; see $out/console.log)"
	fi
	sed -n 's/^Summary: /    /p' "$out/test_progs.txt"
}

# stage_patch_builds - after each patch: the kernel (W=1 for the core
# file when the patch changes it) when the patch touches what it builds,
# the selftests when it touches them; with --fixes, a boot running the
# tests the series has added so far.  The tree ends as the series leaves
# it.
stage_patch_builds() {
	stage_begin build "the tree after each patch$([ "$WHICH" = fixes ] && echo ', and its selftests so far')"
	local git=$SERIES_DIR/git c n=0 files t0 tests from=fixes what
	[ "$WHICH" = bpf-next ] || { from=base; pick_accel; }
	for c in $(git -C "$git" rev-list --reverse "$from..tip"); do
		n=$((n + 1))
		files=$(git -C "$git" diff-tree --no-commit-id --name-only -r "$c")
		series_checkout "$c"
		t0=$(date +%s)
		what=
		if [ "$n" -eq 1 ] || touches_kernel "$files"; then
			build_kernel
			! grep -qx kernel/bpf/bpf_struct_ops.c <<<"$files" || { w1_check; build_kernel; }
			what=kernel
		fi
		# The tests boot this kernel: its test modules must match it.
		if [ "$n" -eq 1 ] || touches_selftests "$files" ||
		   { [ "$WHICH" = fixes ] && [ -n "$what" ]; }; then
			if [ "$WHICH" = fixes ]; then
				build_test_progs >/dev/null
			else
				build_selftests >/dev/null
			fi
			what="${what:+$what, }selftests"
		fi
		say "  patch $n: ${what:-nothing to build} ($(($(date +%s) - t0))s): $(git -C "$git" log -1 --format=%s "$c")"
		[ "$WHICH" = fixes ] || continue
		tests=$(series_tests_at "$c")
		[ -z "$tests" ] || series_run_tests "$n" "$tests"
	done
	git -C "$git" checkout -q tip
	stage_end
}

# The tree the builds happen in.  bpf-next: ours (build/linux), assembled
# as for a test run.  --fixes: the base tree as Debian ships it
# (build/linux-fixes), which the checkouts then bring to each patch.
stage_series_tree() {
	if [ "$WHICH" = bpf-next ]; then
		stage_assemble
	else
		stage_begin tree "the base tree for the fixes: $TREE"
		[ -d "$TREE" ] || copy_base_tree
		stage_end
	fi
	stage_config
}

main() {
	while [ $# -gt 0 ]; do
		case "$1" in
		-h|--help) usage; exit 0 ;;
		--fixes) WHICH=fixes ;;
		-j*) jobs_arg "${@:1:2}"; shift $((SHIFTS - 1)) ;;
		*) usage >&2; die "series: unknown option or argument: $1" ;;
		esac
		shift
	done
	if [ "$WHICH" = fixes ]; then
		use_variant fixes
		SERIES_DIR=$BUILD/series-fixes
	fi
	begin_run
	SIGNOFF="$(git -C "$ROOT" config user.name || id -un) <$(git -C "$ROOT" config user.email || echo "$(id -un)@localhost")>"
	check_coverage
	stage_deps
	stage_base
	stage_series_tree
	mkdir -p "$SERIES_DIR"
	stage_commits
	stage_format
	local rc=0
	stage_checkpatch || rc=1
	stage_patch_builds
	say "series: $SERIES_DIR/out (send with git send-email, see README)"
	return "$rc"
}

main "$@"; exit $?

#!/usr/bin/env bash
# Build every patch of the series on its own, and keep it warning-free.
#
#   scripts/check-series.sh
#
# Walks the applied tree from the first patch to refs/qmgmt/applied, one
# commit at a time.  For each patch:
#  1. the lean kernel builds (scripts/build-kernel.sh: incremental and
#     ccache-backed, so the last step leaves exactly the lean lane's kernel);
#  2. every C file the patch touches (and the lean config builds) compiles
#     with W=1, and kernel-doc -Wall runs on every C file and header it
#     touches, with no warning the same files did not have before the
#     patch.  W=1 runs only on those files, in .work/build-w1: a whole-tree
#     W=1 build runs kernel-doc on every file, which ccache cannot skip.
# The tree is moved back to the applied commit at the end, whatever happens.
. "$(dirname "$0")/lib.sh"
qm_no_args "$@"

g() { qm_git "$@"; }
applied=$(g rev-parse -q --verify refs/qmgmt/applied) ||
	qm_die "$KDIR has no applied series; run scripts/apply.sh"
[ "$(g rev-parse HEAD)" = "$applied" ] || qm_die "$KDIR is not at the applied series"
g diff --quiet HEAD -- || qm_die "$KDIR has uncommitted changes"

tmp=$(mktemp -d)
trap 'g checkout -q --detach "$applied"; rm -rf "$tmp"' EXIT
w1=$QM_WORK/build-w1
mkdir -p "$w1"
export CCACHE_BASEDIR=$QM_WORK

# Warnings of the touched files at the current checkout: W=1 compiles of
# the objects in $objs (C files the lean config builds) and kernel-doc on
# the touched C files and headers.  One "path: text" line each, line
# numbers dropped (they move between patches).
warnings() {
	local f have=() stamp
	# olddefconfig only when the config moved: a single-target make runs
	# "prepare" itself ($(build-dir): prepare in the top Makefile), so a
	# tree that moved needs nothing more, and an explicit olddefconfig
	# costs 10-20 s a call even when nothing changed
	stamp=$(sha1sum < "$QM_WORK/build-lean/.config")
	if [ "$(cat "$w1/.qm-prepared" 2>/dev/null)" != "$stamp" ]; then
		rm -f "$w1/.qm-prepared"
		cp "$QM_WORK/build-lean/.config" "$w1/.config"
		make -s -C "$KDIR" O="$w1" ARCH=x86_64 HOSTCC="ccache gcc" olddefconfig prepare \
			>/dev/null 2>&1 || qm_die "cannot prepare $w1"
		echo "$stamp" > "$w1/.qm-prepared"
	fi
	for f in "${objs[@]}"; do
		[ ! -f "$KDIR/${f%.o}.c" ] || have+=("$f")
	done
	{
		if [ ${#have[@]} -gt 0 ]; then
			rm -f "${have[@]/#/$w1/}"
			make -C "$KDIR" O="$w1" ARCH=x86_64 HOSTCC="ccache gcc" CC="ccache gcc" W=1 \
				-j"$(nproc)" "${have[@]}" 2>&1 || echo "BUILD FAILED"
		fi
		for f in "${files[@]}"; do
			case "$f" in
			*.c|*.h) [ ! -f "$KDIR/$f" ] ||
				(cd "$KDIR" && scripts/kernel-doc -none -Wall "$f" 2>&1) || true ;;
			esac
		done
	} | sed -n -e "s|^$KDIR/||" -e 's|^\.\./[^/]*/||' \
		-e 's|^\([^ :]*\):[0-9]*:[0-9]*: warning: |\1: |p' \
		-e 's|^\([^ :]*\):[0-9]*: warning: |\1: |p' \
		-e 's|^[Ww]arning: \([^ :]*\):[0-9]*|\1:|p' -e '/^BUILD FAILED$/p' | sort -u
}

# The .o files of the lean build for the C files in $files that the tree
# has now and the lean config builds, into $objs.
lean_objs() {
	local f
	objs=()
	for f in "${files[@]}"; do
		case "$f" in
		*.c) [ ! -f "$KDIR/$f" ] || [ ! -f "$QM_WORK/build-lean/${f%.c}.o" ] ||
			objs+=("${f%.c}.o") ;;
		esac
	done
}

# The walk only moves forward: each patch's "before" warnings are taken
# while the tree still sits at its parent, whose lean kernel the previous
# step built, so no file is checked out twice and nothing is rebuilt for
# a round trip.  The "before" objects must be the ones the lean config
# builds with the patch (those that exist without it); when that set is
# not what the parent's build had (the first patch, whose parent is not
# built, or a patch that changes what the config builds), the parent is
# checked out again and its warnings retaken with the right set.
n=0 bad=0 prev=""
for c in $(g rev-list --reverse refs/qmgmt/base..refs/qmgmt/applied); do
	n=$((n + 1))
	label="$(printf '%04d' $n) $(g log -1 --format=%s "$c")"
	mapfile -t files < <(g diff --name-only "$c^" "$c")
	t0=$(qm_now)
	src=0
	for f in "${files[@]}"; do
		case "$f" in *.c|*.h) src=1 ;; esac
	done
	before_objs=()
	if [ $src = 1 ] && [ -n "$prev" ]; then
		lean_objs
		before_objs=("${objs[@]}")
		warnings > "$tmp/before"
	fi
	g checkout -q --detach "$c"
	if ! "$QM_ROOT/scripts/build-kernel.sh" --lane lean >/dev/null 2>"$tmp/err"; then
		cat "$tmp/err" >&2
		qm_die "does not build: $label"
	fi
	if [ $src = 1 ]; then
		lean_objs
		warnings > "$tmp/after"
		need=()
		for f in "${objs[@]}"; do
			! g cat-file -e "$c^:${f%.o}.c" 2>/dev/null || need+=("$f")
		done
		if [ -z "$prev" ] || [ "${need[*]}" != "${before_objs[*]}" ]; then
			g checkout -q --detach "$c^"
			warnings > "$tmp/before"
			g checkout -q --detach "$c"
		fi
		if comm -13 "$tmp/before" "$tmp/after" | grep .; then
			echo "new W=1 / kernel-doc warnings: $label" >&2
			bad=1
		fi
	fi
	prev=$c
	qm_log "built $label ($(qm_elapsed "$t0") s)"
done
[ $bad = 0 ] || qm_die "some patches add warnings (see above)"
qm_log "all $n patches build on their own; W=1 and kernel-doc clean on what they touch"

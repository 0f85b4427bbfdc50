#!/usr/bin/env bash
# Build what the series touches with clang (LLVM=1) at its last patch.
#
#   scripts/check-clang.sh
#
# Every C file the series adds or changes that the lean config builds is
# compiled with clang and W=1 in .work/build-clang (the lean .config, made
# for clang, plus system sleep: code under CONFIG_PM_SLEEP, such as
# virtio-net's freeze and restore, is built nowhere else; ccache-backed),
# at refs/qmgmt/applied.  A warning on a line
# the series added fails the check; warnings on upstream's own lines are
# upstream's.  The kernel wants clang >= 17, so this uses the newest
# clang-NN/ld.lld-NN pair installed (Debian 12: clang-19, lld-19;
# scripts/setup-host.sh installs them).  The tree is not moved.
. "$(dirname "$0")/lib.sh"
qm_no_args "$@"

g() { qm_git "$@"; }
applied=$(g rev-parse -q --verify refs/qmgmt/applied) ||
	qm_die "$KDIR has no applied series; run scripts/apply.sh"
[ "$(g rev-parse HEAD)" = "$applied" ] || qm_die "$KDIR is not at the applied series"
[ -f "$QM_WORK/build-lean/.config" ] || qm_die "no lean build; run scripts/build-kernel.sh --lane lean"

ver=""
for v in 21 20 19 18 17; do
	if command -v "clang-$v" >/dev/null && command -v "ld.lld-$v" >/dev/null; then
		ver=$v
		break
	fi
done
[ -n "$ver" ] || qm_die "no clang >= 17 with its ld.lld (apt-get install clang-19 lld-19 llvm-19)"

out=$QM_WORK/build-clang
mkdir -p "$out"
export CCACHE_BASEDIR=$QM_WORK
mk() { make -C "$KDIR" O="$out" ARCH=x86_64 LLVM="-$ver" HOSTCC="ccache clang-$ver" "$@"; }
t0=$(qm_now)
extra=(-e PM -e PM_SLEEP -e SUSPEND)
stamp="$applied $ver ${extra[*]} $(sha1sum < "$QM_WORK/build-lean/.config")"
if [ "$(cat "$out/.qm-prepared" 2>/dev/null)" != "$stamp" ]; then
	rm -f "$out/.qm-prepared"
	cp "$QM_WORK/build-lean/.config" "$out/.config"
	"$KDIR/scripts/config" --file "$out/.config" "${extra[@]}"
	mk -s olddefconfig prepare >/dev/null 2>&1 || qm_die "cannot prepare $out for clang-$ver"
	echo "$stamp" > "$out/.qm-prepared"
fi

objs=()
while read -r f; do
	case "$f" in
	*.c) [ ! -f "$QM_WORK/build-lean/${f%.c}.o" ] || objs+=("${f%.c}.o") ;;
	esac
done < <(g diff --name-only --diff-filter=AM refs/qmgmt/base "$applied")
[ ${#objs[@]} -gt 0 ] || qm_die "no C file of the series is built by the lean config"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
rm -f "${objs[@]/#/$out/}"
if ! mk CC="ccache clang-$ver" W=1 -j"$(nproc)" "${objs[@]}" > "$log" 2>&1; then
	cat "$log" >&2
	qm_die "clang-$ver does not build the series' files"
fi

# Lines the series added, as "path:line", against the warnings' "path:line".
added=$(g diff -U0 refs/qmgmt/base "$applied" -- '*.c' '*.h' | awk '
	/^\+\+\+ b\// { file = substr($2, 3); next }
	/^@@/ { split($3, a, /[+,]/); line = a[2]; n = (a[3] == "") ? 1 : a[3]
		for (i = 0; i < n; i++) print file ":" (line + i) }')
bad=0
while read -r w; do
	loc=$(printf '%s\n' "$w" | sed -n -e "s|^$KDIR/||" -e 's|^\.\./[^/]*/||' -e 's|^\([^ :]*:[0-9]*\):[0-9]*: warning: .*|\1|p')
	[ -n "$loc" ] || continue
	if grep -qxF "$loc" <<< "$added"; then
		echo "$w" >&2
		bad=1
	fi
done < <(grep ': warning: ' "$log")
[ $bad = 0 ] || qm_die "clang-$ver W=1 warns on lines the series added (see above)"
qm_log "clang-$ver (LLVM=1) W=1: ${#objs[@]} files of the series build clean ($(qm_elapsed "$t0") s)"

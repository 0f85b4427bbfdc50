#!/usr/bin/env bash
# checkpatch.pl --strict over every patch of the qmgmt series (new files
# are inside the patches that add them).
. "$(dirname "$0")/lib.sh"
qm_no_args "$@"
cp=$KDIR/scripts/checkpatch.pl
[ -x "$cp" ] || qm_die "no checkpatch.pl in $KDIR"
bad=0
ign="--ignore FILE_PATH_CHANGES"
# Generated netlink files (YNL-GEN) are the generator's output, checked for
# drift by check-genl.sh; their diff sections are dropped before checkpatch.
gen_re='^diff --git a/(net/core/netdev-genl-gen\.[ch]|net/devlink/netlink_gen\.[ch]|(tools/)?include/uapi/linux/netdev\.h|tools/net/ynl/generated/.*) '
for p in $(grep -v '^#' "$QM_ROOT/patches/series" 2>/dev/null); do
	filtered=$(mktemp)
	GEN_RE=$gen_re awk '/^diff --git /{skip = ($0 ~ ENVIRON["GEN_RE"])} !skip' \
		"$QM_ROOT/patches/$p" > "$filtered"
	out=$(cd "$KDIR" && $cp --strict --no-tree --quiet $ign "$filtered" 2>&1) ||
		{ echo "$out"; echo "checkpatch: $p"; bad=1; }
	rm -f "$filtered"
done
[ $bad = 0 ] || qm_die "checkpatch --strict found problems"
qm_log "checkpatch --strict clean"

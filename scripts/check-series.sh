#!/usr/bin/env bash
# Build every patch of the series on its own: lean config, W=1, no new
# warnings.
#
#   scripts/check-series.sh
#
# Walks the applied tree from refs/qmgmt/base to refs/qmgmt/applied one
# commit at a time, building each into the lean lane's build directory (so
# every step is incremental, ccache-backed, and the last step leaves exactly
# the lean kernel scripts/build-kernel.sh would build).  A step fails if the
# build fails or if a file the patch touches gains a warning that file did
# not have at the previous step.  The tree is moved back to the applied
# commit at the end, whatever happens.
. "$(dirname "$0")/lib.sh"

g() { git -C "$KDIR" "$@"; }
applied=$(g rev-parse -q --verify refs/qmgmt/applied) ||
	qm_die "$KDIR has no applied series; run scripts/apply.sh"
[ "$(g rev-parse HEAD)" = "$applied" ] || qm_die "$KDIR is not at the applied series"
g diff --quiet HEAD -- || qm_die "$KDIR has uncommitted changes"

tmp=$(mktemp -d)
trap 'g checkout -q --detach "$applied"; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/w"
log=$QM_WORK/build-lean/build.log

# "path: warning text" for every warning of the last build, paths relative
# to the tree, line and column numbers dropped (they move between patches).
warnings() {
	sed -n -e "s|^$KDIR/||" -e 's|^\.\./[^/]*/||' \
		-e 's|^\([^ :]*\):[0-9]*:[0-9]*: warning: |\1: |p' "$log" |
		grep -v '^ ' | sort -u
}

n=0 bad=0
for c in $(g rev-parse refs/qmgmt/base) $(g rev-list --reverse refs/qmgmt/base..refs/qmgmt/applied); do
	subject=$(g log -1 --format=%s "$c")
	g checkout -q --detach "$c"
	t0=$(qm_now)
	if ! "$QM_ROOT/scripts/build-kernel.sh" --lane lean >/dev/null 2>"$tmp/err"; then
		cat "$tmp/err" >&2
		qm_die "does not build: $(printf '%04d' $n) $subject"
	fi
	warnings > "$tmp/now"
	new=0
	if [ $n -gt 0 ]; then
		while IFS= read -r f; do
			key=$tmp/w/$(printf '%s' "$f" | tr '/' '%')
			grep -F "$f: " "$tmp/now" | sort -u > "$tmp/file" || true
			if comm -13 "$key" "$tmp/file" 2>/dev/null | grep -q . ||
			   { [ ! -f "$key" ] && [ -s "$tmp/file" ]; }; then
				comm -13 "$key" "$tmp/file" 2>/dev/null || cat "$tmp/file"
				new=1
			fi
		done < <(g diff --name-only "$c^" "$c")
	fi
	# Remember each compiled file's warnings for the next step.
	cut -d: -f1 "$tmp/now" | sort -u | while IFS= read -r f; do
		grep -F "$f: " "$tmp/now" > "$tmp/w/$(printf '%s' "$f" | tr '/' '%')"
	done
	label=$([ $n = 0 ] && echo "base" || printf '%04d' $n)
	if [ $new = 1 ]; then
		echo "new W=1 warnings: $label $subject" >&2
		bad=1
	fi
	qm_log "built $label $subject ($(qm_elapsed "$t0") s)"
	n=$((n + 1))
done
[ $bad = 0 ] || qm_die "some patches add warnings (see above)"
qm_log "all $((n - 1)) patches build on their own with W=1, no new warnings"

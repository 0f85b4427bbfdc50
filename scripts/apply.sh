#!/usr/bin/env bash
# Apply qmgmt to the kernel tree: patches/series, a git format-patch series
# that adds new files and edits upstream ones (git am applies it too).
#
#   scripts/apply.sh [--tree PATH]
#
# The target tree is computed inside git's object store first (a private
# index, `git apply --cached`), one commit per patch on top of
# refs/qmgmt/base.  Only when every patch applied is the work tree moved to
# the result, touching just the files whose content changes.  So:
#   - re-running on an applied tree is a no-op (same commit, no mtime change,
#     no rebuild);
#   - a patch that does not apply stops the run, names the patch and the
#     file, and leaves the work tree exactly as it was;
#   - commits are deterministic (dates come from the patches), so the
#     series can be exported back byte-for-byte by scripts/export.sh.
. "$(dirname "$0")/lib.sh"

while [ $# -gt 0 ]; do
	case "$1" in
	--tree) qm_set_tree "${2:-}"; shift 2 ;;
	-h|--help) qm_usage ;;
	*) qm_die "unknown argument: $1" ;;
	esac
done

git -C "$KDIR" rev-parse -q --verify refs/qmgmt/base >/dev/null ||
	qm_die "$KDIR has no qmgmt base; run scripts/fetch-base.sh first"

g() { qm_git "$@"; }

# Refuse to clobber edits the developer has not exported yet.
if ! g diff --quiet HEAD -- || ! g diff --cached --quiet HEAD --; then
	qm_die "$KDIR has uncommitted changes; commit them and run scripts/export.sh, or 'git -C $KDIR stash'"
fi

mkdir -p "$QM_WORK"
idx=$(mktemp "$QM_WORK/index.XXXXXX")
trap 'rm -f "$idx"' EXIT
export GIT_INDEX_FILE=$idx
g read-tree refs/qmgmt/base

head=$(g rev-parse refs/qmgmt/base)

# The series, in order.
series=$QM_ROOT/patches/series
np=0
if [ -f "$series" ]; then
	while read -r p _; do
		case "$p" in ''|'#'*) continue ;; esac
		pf=$QM_ROOT/patches/$p
		[ -f "$pf" ] || qm_die "patches/series names $p, which does not exist"
		if ! err=$(g apply --cached --check "$pf" 2>&1); then
			printf '%s\n' "$err" >&2
			qm_die "patch $p does not apply (work tree left unchanged): $(printf '%s\n' "$err" | grep -m1 -o 'patch failed: [^ ]*\|error: [^:]*: does not exist in index\|error: [^:]*: already exists in index' || echo see above)"
		fi
		g apply --cached "$pf"
		info=$(mktemp)
		msg=$(mktemp)
		g mailinfo -k "$msg" /dev/null < "$pf" > "$info"
		author=$(sed -n 's/^Author: //p' "$info")
		email=$(sed -n 's/^Email: //p' "$info")
		date=$(sed -n 's/^Date: //p' "$info")
		subject=$(sed -n 's/^Subject: //p' "$info")
		tree=$(g write-tree)
		head=$( { printf '%s\n\n' "$subject"; cat "$msg"; } |
			GIT_AUTHOR_NAME=$author GIT_AUTHOR_EMAIL=$email \
			GIT_AUTHOR_DATE=$date GIT_COMMITTER_NAME=$author \
			GIT_COMMITTER_EMAIL=$email GIT_COMMITTER_DATE=$date \
			g commit-tree "$tree" -p "$head")
		rm -f "$info" "$msg"
		np=$((np + 1))
	done < "$series"
fi
unset GIT_INDEX_FILE

# Move the work tree.  Unchanged files keep their mtimes.
if [ "$(g rev-parse HEAD)" = "$head" ]; then
	qm_log "already applied ($np patches): nothing to do"
else
	g checkout -q --detach "$head"
	qm_log "applied $np patches -> $(g rev-parse --short HEAD)"
fi
g update-ref refs/qmgmt/applied "$head"

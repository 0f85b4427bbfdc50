#!/usr/bin/env bash
# Fold "fixup!" commits in the kernel tree into the patches they fix.
#
#   scripts/squash-fixups.sh [--tree PATH]
#
# Developer workflow: edit the tree, `git commit --fixup <sha>`, run this,
# then scripts/export.sh.  The rebase runs in a scratch worktree, and the
# real tree is then moved to the result, so only files whose content
# changed get a new mtime (a rebase in place would touch every file of
# every patch, netdevice.h included, and force a near-full rebuild).
. "$(dirname "$0")/lib.sh"
while [ $# -gt 0 ]; do
	case "$1" in
	--tree) qm_set_tree "${2:-}"; shift 2 ;;
	-h|--help) qm_usage ;;
	*) qm_die "unknown argument: $1" ;;
	esac
done
g() { qm_git "$@"; }
g diff --quiet HEAD -- || qm_die "$KDIR has uncommitted changes"
mkdir -p "$QM_WORK"
wt=$(mktemp -d "$QM_WORK/squash.XXXXXX")
trap 'g worktree remove --force "$wt" >/dev/null 2>&1; rm -rf "$wt"' EXIT
g worktree add -q --detach "$wt" HEAD
GIT_SEQUENCE_EDITOR=true git -C "$wt" -c user.name=qmgmt -c user.email=qmgmt@localhost \
	rebase -q -i --autosquash --committer-date-is-author-date refs/qmgmt/base ||
	qm_die "autosquash rebase failed in $wt"
new=$(git -C "$wt" rev-parse HEAD)
g checkout -q --detach "$new"
qm_log "squashed fixups -> $(g rev-parse --short HEAD)"

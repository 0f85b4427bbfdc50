#!/usr/bin/env bash
# Prepare the pinned kernel base as a git work tree.
#
#   scripts/fetch-base.sh            extract kernel/BASE's tarball into .work/
#   scripts/fetch-base.sh --tree P   use an existing tree P (e.g. a v6.12.y
#                                    git checkout); refused unless its version
#                                    is kernel/BASE's BASE_VERSION
#
# The tree becomes a git repository whose base commit is recorded as
# refs/qmgmt/base: scripts/apply.sh builds the series on top of it and
# tools/net/ynl/ynl-regen.sh needs git to find generated files.
. "$(dirname "$0")/lib.sh"

tree=""
while [ $# -gt 0 ]; do
	case "$1" in
	--tree) tree=${2:?--tree needs a path}; shift 2 ;;
	-h|--help) sed -n '2,12p' "$0"; exit 0 ;;
	*) qm_die "unknown argument: $1" ;;
	esac
done
[ -n "$tree" ] && KDIR=$(cd "$tree" && pwd)

git_base() {
	git -C "$KDIR" -c user.name=qmgmt -c user.email=qmgmt@localhost "$@"
}

if [ -n "$tree" ] || [ -f "$KDIR/Makefile" ]; then
	[ -f "$KDIR/Makefile" ] || qm_die "$KDIR is not a kernel tree (no Makefile)"
	have=$(qm_tree_version "$KDIR")
	[ "$have" = "$BASE_VERSION" ] ||
		qm_die "$KDIR is Linux $have, but qmgmt is pinned to $BASE_VERSION (kernel/BASE); refusing"
	if git -C "$KDIR" rev-parse -q --verify refs/qmgmt/base >/dev/null; then
		qm_log "base ready: $KDIR (Linux $have)"
		echo "$KDIR"
		exit 0
	fi
	if ! git -C "$KDIR" rev-parse -q --verify HEAD >/dev/null; then
		git_base init -q
		git_base add -A
		GIT_AUTHOR_DATE="@1 +0000" GIT_COMMITTER_DATE="@1 +0000" \
			git_base commit -q -m "Linux $BASE_VERSION (qmgmt base)"
	fi
	git -C "$KDIR" update-ref refs/qmgmt/base HEAD
	qm_log "base ready: $KDIR (Linux $have, user tree)"
	echo "$KDIR"
	exit 0
fi

if [ ! -f "$BASE_TARBALL" ]; then
	qm_die "$BASE_TARBALL missing: apt-get install $BASE_DEB_PACKAGE=$BASE_DEB_VERSION (scripts/setup-host.sh does this)"
fi
qm_log "verifying $BASE_TARBALL"
echo "$BASE_TARBALL_SHA256  $BASE_TARBALL" | sha256sum -c --quiet - ||
	qm_die "sha256 mismatch for $BASE_TARBALL (expected $BASE_TARBALL_SHA256)"

mkdir -p "$QM_WORK"
tmp=$(mktemp -d "$QM_WORK/extract.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
t0=$(qm_now)
tar -C "$tmp" -xf "$BASE_TARBALL"
have=$(qm_tree_version "$tmp/$BASE_TOPDIR")
[ "$have" = "$BASE_VERSION" ] ||
	qm_die "tarball holds Linux $have, kernel/BASE says $BASE_VERSION"
mv "$tmp/$BASE_TOPDIR" "$KDIR"
# Debian's source package appends "ignore everything at the top level" to
# .gitignore; drop that stanza so new files show up in git like upstream.
sed -i '/^# Debian packaging: ignore everything/,$d' "$KDIR/.gitignore"
sed -i -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$KDIR/.gitignore"
sed -i '${/^#$/d}' "$KDIR/.gitignore"
git_base init -q
git_base add -A
GIT_AUTHOR_DATE="@1 +0000" GIT_COMMITTER_DATE="@1 +0000" \
	git_base commit -q -m "Linux $BASE_VERSION (qmgmt base, $BASE_DEB_PACKAGE $BASE_DEB_VERSION)"
git -C "$KDIR" update-ref refs/qmgmt/base HEAD
qm_log "base ready: $KDIR (Linux $have) in $(qm_elapsed "$t0") s"
echo "$KDIR"

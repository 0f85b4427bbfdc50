#!/usr/bin/env bash
# Prepare the pinned kernel base as a git work tree.
#
#   scripts/fetch-base.sh            download kernel/BASE's source package
#                                    (private apt configuration, sha256
#                                    checked) and extract it into .work/
#   scripts/fetch-base.sh --tree P   use an existing tree P (an extracted
#                                    linux-source tarball or a git checkout);
#                                    refused unless its version is
#                                    kernel/BASE's BASE_VERSION
#
# The tree becomes a git repository whose base commit is recorded as
# refs/qmgmt/base: scripts/apply.sh builds the series on top of it and
# tools/net/ynl/ynl-regen.sh needs git to find generated files.
. "$(dirname "$0")/lib.sh"

tree=""
while [ $# -gt 0 ]; do
	case "$1" in
	--tree) tree=${2:?--tree needs a path}; shift 2 ;;
	-h|--help) qm_usage ;;
	*) qm_die "unknown argument: $1" ;;
	esac
done
[ -n "$tree" ] && KDIR=$(cd "$tree" && pwd)

# Debian's source package appends "ignore everything at the top level" to
# .gitignore; drop that stanza so new files show up in git like upstream.
drop_debian_ignore() {
	local gi=$KDIR/.gitignore
	grep -q '^# Debian packaging: ignore everything' "$gi" 2>/dev/null || return 0
	sed -i '/^# Debian packaging: ignore everything/,$d' "$gi"
	sed -i '${/^#$/d}' "$gi"
	sed -i -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$gi"
}

# Make $KDIR a git repository with one deterministic base commit.
init_base_repo() {
	drop_debian_ignore
	qm_git init -q
	qm_git add -A
	qm_git diff --cached --quiet &&
		qm_die "$KDIR: git sees no files to commit (an ignore rule hides the tree?)"
	GIT_AUTHOR_DATE="@1 +0000" GIT_COMMITTER_DATE="@1 +0000" \
		qm_git commit -q -m "Linux $BASE_VERSION (qmgmt base, $1)"
}

# Print the path of the verified base tarball.  The source package is
# downloaded from $BASE_DEB_SUITE through a private apt configuration under
# $QM_CACHE/apt (the mirror the system already uses; /etc/apt is never
# touched) and its tarball kept in $QM_CACHE.
fetch_base_tarball() {
	local tb=$QM_CACHE/$BASE_TARBALL_NAME apt=$QM_CACHE/apt mirror deb
	if [ ! -f "$tb" ]; then
		mirror=$(qm_debian_mirror) || qm_die "no Debian mirror in /etc/apt sources; cannot fetch $BASE_DEB_PACKAGE"
		mkdir -p "$apt/lists/partial" "$apt/archives/partial"
		printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
			"$mirror" "$BASE_DEB_SUITE" > "$apt/sources.list"
		local -a o=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
			-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt" -o Dir::State::status=/dev/null
			-o APT::Sandbox::User=root)
		qm_log "downloading $BASE_DEB_PACKAGE=$BASE_DEB_VERSION ($BASE_DEB_SUITE, private apt config)" >&2
		apt-get -qq "${o[@]}" update >&2 || qm_die "apt-get update of $BASE_DEB_SUITE failed"
		(cd "$apt" && apt-get -qq "${o[@]}" download "$BASE_DEB_PACKAGE=$BASE_DEB_VERSION") >&2 ||
			qm_die "cannot download $BASE_DEB_PACKAGE=$BASE_DEB_VERSION from $BASE_DEB_SUITE"
		deb=$(ls "$apt/${BASE_DEB_PACKAGE}_"*.deb | head -n1)
		dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$BASE_TARBALL_NAME" > "$tb.part" ||
			qm_die "$deb has no usr/src/$BASE_TARBALL_NAME"
		rm -f "$deb"
		mv "$tb.part" "$tb"
	fi
	echo "$BASE_TARBALL_SHA256  $tb" | sha256sum -c --quiet - >&2 ||
		{ rm -f "$tb"; qm_die "sha256 mismatch for $tb (expected $BASE_TARBALL_SHA256); removed it"; }
	echo "$tb"
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
	git -C "$KDIR" rev-parse -q --verify HEAD >/dev/null 2>&1 ||
		init_base_repo "user tree"
	git -C "$KDIR" update-ref refs/qmgmt/base HEAD
	qm_log "base ready: $KDIR (Linux $have, user tree)"
	echo "$KDIR"
	exit 0
fi

tarball=$(fetch_base_tarball)
mkdir -p "$QM_WORK"
tmp=$(mktemp -d "$QM_WORK/extract.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
t0=$(qm_now)
tar -C "$tmp" -xf "$tarball"
have=$(qm_tree_version "$tmp/$BASE_TOPDIR")
[ "$have" = "$BASE_VERSION" ] ||
	qm_die "tarball holds Linux $have, kernel/BASE says $BASE_VERSION"
mv "$tmp/$BASE_TOPDIR" "$KDIR"
init_base_repo "$BASE_DEB_PACKAGE $BASE_DEB_VERSION"
git -C "$KDIR" update-ref refs/qmgmt/base HEAD
qm_log "base ready: $KDIR (Linux $have) in $(qm_elapsed "$t0") s"
echo "$KDIR"

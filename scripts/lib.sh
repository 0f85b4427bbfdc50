# shellcheck shell=bash
# Common helpers for the qmgmt scripts.  Source it; do not execute it.
set -euo pipefail

QM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QM_WORK=${QM_WORK:-$QM_ROOT/.work}
QM_VENV=${QM_VENV:-$QM_ROOT/.venv}
QM_RESULTS=${QM_RESULTS:-$QM_ROOT/results}
# Downloads kept across clones (the base tarball); never inside the repo.
QM_CACHE=${QM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qmgmt}
# shellcheck source=../kernel/BASE
. "$QM_ROOT/kernel/BASE"
# The tree everything builds in; KDIR overrides it (a user-supplied tree).
KDIR=${KDIR:-$QM_WORK/linux-$BASE_VERSION}

export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_SLOPPINESS=file_macro,time_macros,include_file_mtime,include_file_ctime,locale
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}

qm_log() { printf '\033[1m[qmgmt]\033[0m %s\n' "$*" >&2; }
qm_die() { printf '\033[31m[qmgmt] error:\033[0m %s\n' "$*" >&2; exit 1; }

# Version string of a kernel tree, from its top-level Makefile.
qm_tree_version() {
	awk -F' *= *' '/^VERSION =/{v=$2} /^PATCHLEVEL =/{p=$2}
		/^SUBLEVEL =/{s=$2} END{print v "." p "." s}' "$1/Makefile"
}

qm_now() { date +%s.%N; }
qm_elapsed() { awk -v a="$1" -v b="$(qm_now)" 'BEGIN{printf "%.1f", b-a}'; }

# Print the path of the verified base tarball.  With BASE_TARBALL set in
# kernel/BASE it is the system package's file; otherwise the source package
# is downloaded from $BASE_DEB_SUITE through a private apt configuration
# under $QM_CACHE/apt (the mirror the system already uses; /etc/apt is never
# touched) and its tarball kept in $QM_CACHE.
qm_fetch_base_tarball() {
	local tb=$QM_CACHE/${BASE_TARBALL_NAME:-} apt=$QM_CACHE/apt mirror deb
	if [ -n "${BASE_TARBALL:-}" ]; then
		# Installed from the system's own suites by scripts/setup-host.sh.
		tb=$BASE_TARBALL
		[ -f "$tb" ] || qm_die "$tb missing: apt-get install $BASE_DEB_PACKAGE=$BASE_DEB_VERSION (scripts/setup-host.sh does this)"
	elif [ ! -f "$tb" ]; then
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
		{ [ -n "${BASE_TARBALL:-}" ] || rm -f "$tb"; qm_die "sha256 mismatch for $tb (expected $BASE_TARBALL_SHA256)"; }
	echo "$tb"
}

# The Debian archive mirror the system's apt already uses.
qm_debian_mirror() {
	local m
	m=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
		/etc/apt/sources.list.d/*.list 2>/dev/null |
		grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ')
	[ -n "$m" ] && echo "${m%/}"
}

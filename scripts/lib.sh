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

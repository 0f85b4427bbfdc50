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

# git in the kernel tree, with the identity of the series' commits
qm_git() { git -C "$KDIR" -c user.name=qmgmt -c user.email=qmgmt@localhost "$@"; }

# --tree DIR (apply, export, squash-fixups): work on another kernel tree
qm_set_tree() { KDIR=$(cd "${1:?--tree needs a path}" && pwd); }

# Print the calling script's leading comment block (its usage) and exit 0.
qm_usage() {
	awk 'NR == 1 && /^#!/ { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
	exit 0
}

# For a script without options: --help prints its usage, anything else is
# refused.  Call as: qm_no_args "$@"
qm_no_args() {
	case "${1:-}" in
	"") ;;
	-h|--help) qm_usage ;;
	*) qm_die "unknown argument: $1 (see $(basename "$0") --help)" ;;
	esac
}

# The Debian archive mirror the system's apt already uses (for the private
# apt configurations of fetch-base.sh and fetch-qemu.sh).
qm_debian_mirror() {
	local m
	m=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
		/etc/apt/sources.list.d/*.list |
		grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ') || true
	[ -n "$m" ] && echo "${m%/}"
}

qm_now() { date +%s.%N; }
qm_elapsed() { awk -v a="$1" -v b="$(qm_now)" 'BEGIN{printf "%.1f", b-a}'; }

# --- the virtio-net test network ------------------------------------------
# Two multi-queue taps joined by a bridge, all inside a network namespace of
# their own, so frames from the guest's NIC A reach its NIC B and nothing
# leaves the machine.  qemu must run inside that namespace (qm_vnet_exec).
# qm_vnet_up NAME QUEUES: create it; qm_vnet_down NAME: remove it (idempotent,
# also after a failed or interrupted run).
QM_VNET_TAPS="qmA qmB"

qm_vnet_check() {
	[ -c /dev/net/tun ] || { echo "/dev/net/tun is missing (modprobe tun)"; return 1; }
	command -v ip >/dev/null || { echo "iproute2 (ip) is not installed"; return 1; }
	local ns=qm-probe-$$ ok=0
	ip netns add "$ns" 2>/dev/null || { echo "cannot create a network namespace (need root)"; return 1; }
	ip -n "$ns" link add qmbr type bridge 2>/dev/null ||
		{ echo "the host kernel has no bridge support (modprobe bridge)"; ok=1; }
	[ $ok = 0 ] && { ip -n "$ns" tuntap add dev qmt mode tap multi_queue 2>/dev/null ||
		{ echo "cannot create a multi_queue tap"; ok=1; }; }
	ip netns del "$ns"
	return $ok
}

qm_vnet_up() {
	local ns=$1 queues=$2 why t
	why=$(qm_vnet_check) || qm_die "virtio-net test network: $why"
	qm_vnet_down "$ns"
	ip netns add "$ns"
	ip -n "$ns" link add qmbr type bridge
	# no STP, no learning delay: the bridge forwards from the first frame
	ip -n "$ns" link set qmbr type bridge stp_state 0 forward_delay 0
	for t in $QM_VNET_TAPS; do
		ip -n "$ns" tuntap add dev "$t" mode tap multi_queue
		ip -n "$ns" link set "$t" master qmbr up
	done
	ip -n "$ns" link set qmbr up
	qm_log "virtio-net test network: netns $ns, bridge qmbr, taps $QM_VNET_TAPS ($queues queue pairs)"
}

qm_vnet_down() {
	ip netns del "$1" 2>/dev/null || true
}

# qemu arguments for the two NICs: RSS, per-queue reset, DMA through the
# platform (what virtio-net's AF_XDP zero-copy needs), modern only.
qm_vnet_qemu_opts() {
	local queues=$1 i=0 t opts=""
	for t in $QM_VNET_TAPS; do
		opts+=" -netdev tap,id=qmn$i,ifname=$t,script=no,downscript=no,queues=$queues"
		opts+=" -device virtio-net-pci,netdev=qmn$i,mq=on,vectors=$((2 * queues + 2))"
		opts+=",rss=on,iommu_platform=on,disable-legacy=on,mac=52:54:00:00:0${i}:01"
		i=$((i + 1))
	done
	printf '%s' "$opts"
}

# shellcheck shell=bash
# Source inside the VM (scripts/vm-run.sh --vnet): the two virtio-net NICs as
# the kernel selftests' NetDrvEpEnv sees a NIC and its link partner.  NIC A
# (52:54:00:00:00:01) moves into netns qmpeer as the remote end; NIC B
# (52:54:00:00:01:01) stays here as NETIF.  Exports NETIF, LOCAL_V4,
# REMOTE_V4, REMOTE_TYPE=netns, REMOTE_ARGS=qmpeer.
qm_nic_by_mac() {
	local d
	for d in /sys/class/net/*; do
		[ "$(cat "$d/address" 2>/dev/null)" = "$1" ] && { basename "$d"; return 0; }
	done
	return 1
}

qm_nic_max() { ethtool -l "$1" | awk '/^Combined:/{print $2; exit}'; }

qm_nic_requeue() {
	local cur max
	cur=$(ethtool -l "$1" | awk '/^Combined:/{v=$2} END{print v}')
	max=$(qm_nic_max "$1")
	[ -n "$cur" ] && [ -n "$max" ] || { echo "ethtool -l $1 failed" >&2; return 1; }
	[ "$cur" = "$max" ] && return 0
	ethtool -L "$1" combined "$max" && ethtool -L "$1" combined "$cur"
}

qm_virtio_env() {
	local a b
	a=$(qm_nic_by_mac 52:54:00:00:00:01) && b=$(qm_nic_by_mac 52:54:00:00:01:01) || {
		echo "no virtio-net NICs with the expected MACs (was the VM booted with --vnet?)" >&2
		return 1
	}
	[ "$(basename "$(readlink "/sys/class/net/$b/device/driver")")" = virtio_net ] || {
		echo "$b is not driven by virtio_net" >&2
		return 1
	}
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	ip netns add qmpeer
	ip link set "$a" netns qmpeer
	ip -n qmpeer link set lo up
	ip -n qmpeer addr add 192.0.2.2/24 dev "$a"
	ip -n qmpeer link set "$a" up
	ip addr add 192.0.2.1/24 dev "$b"
	ip link set "$b" up
	# qemu 7.2 opens every queue of a multi-queue tap and, until the
	# guest first changes its queue pair count, leaves the ones above the
	# initial count attached but unread: tun hashes part of the flows onto
	# them and those frames vanish (seen on the unpatched base too).  NIC
	# B goes once through its maximum count and back, which detaches them;
	# NIC A, only the traffic source, keeps every pair.  Both while up.
	qm_nic_requeue "$b" || return 1
	ip netns exec qmpeer ethtool -L "$a" combined \
		"$(ip netns exec qmpeer ethtool -l "$a" | awk '/^Combined:/{print $2; exit}')" ||
		return 1
	# the bridge forwards at once (no STP), but the first ARP can race the
	# carrier: wait until the peer answers
	local _
	for _ in $(seq 20); do
		ping -c1 -W1 192.0.2.2 >/dev/null 2>&1 && break
	done
	export NETIF=$b LOCAL_V4=192.0.2.1 REMOTE_V4=192.0.2.2
	export REMOTE_TYPE=netns REMOTE_ARGS=qmpeer
	export QM_PEER_IF=$a
}

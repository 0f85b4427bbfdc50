#!/usr/bin/env bash
# Runs INSIDE the VM: a narrated qctl session on a netdevsim device, then,
# with QM_DEMO_VNET=1 (scripts/main.sh boots with --vnet), on virtio-net:
# queue alloc, RSS steering and AF_XDP zero-copy on the allocated queue.
set -eu
case "${1:-}" in
"") ;;
-h|--help) sed -n '2,4p' "$0" | sed 's/^# //'; exit 0 ;;
*) echo "demo-in-vm.sh: unknown argument '$1'" >&2; exit 2 ;;
esac
export PATH=$QM_VENV/bin:$PATH:/usr/sbin:/sbin
export PYTHONDONTWRITEBYTECODE=1
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@" 2>&1; }

mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
modprobe netdevsim
echo "4242 1 8" > /sys/bus/netdevsim/new_device
udevadm settle --timeout=10 || true
dev=$(ls /sys/bus/netdevsim/devices/netdevsim4242/net/)
echo "netdevsim device 4242: port $dev with 8 hardware queues"
ip link set "$dev" up
run ethtool -L "$dev" combined 2
run qctl queues "$dev"

qctl monitor --count 4 --timeout 600 > /tmp/qctl-monitor.log 2>&1 &
mon=$!
sleep 2
run qctl alloc "$dev" --type rx
run qctl alloc "$dev" --type tx --id 5
run qctl queues "$dev"
run cat "/sys/kernel/debug/netdevsim/netdevsim4242/ports/0/queues/state"
run ls "/sys/class/net/$dev/queues"
run ethtool -l "$dev"

say "ethtool -L $dev combined 4   # refused while dynamic queues exist"
ethtool -L "$dev" combined 4 2>&1 || echo "(exit $?)"
say "qctl free $dev 0 --type rx     # static queue: refused with the kernel's reason"
qctl free "$dev" 0 --type rx 2>&1 || echo "(exit $?)"

run qctl free "$dev" 2 --type rx
run qctl free "$dev" 5 --type tx
run qctl -j queues "$dev"
wait $mon || true
say "qctl monitor saw:"
cat /tmp/qctl-monitor.log

echo
echo "--- slices: child netdevices that own queues of $dev ---"
run qctl slice create "$dev" --rx 2 --tx 1 --name demo0 --mac 02:00:00:00:de:01
ip netns add demo
run qctl slice create "$dev" --rx 1 --tx 1 --max-queues 2 --name demo1 --move-to demo
run qctl show "$dev"
run ip -d link show demo0
ip -n demo link set demo1 up
say "inside netns demo: grow demo1 to its quota of 2 rx queues, then once more"
run qctl -n demo alloc demo1 --type rx
qctl -n demo alloc demo1 --type rx 2>&1 || echo "(exit $?)"
run qctl -n demo queues demo1
say "qctl free $dev 2 --type rx     # the parent cannot take back a slice's queue"
qctl free "$dev" 2 --type rx 2>&1 || echo "(exit $?)"
run qctl slice list
run qctl slice delete demo0
say "ip netns del demo              # the netns goes, and demo1 with it"
ip netns del demo
for _ in $(seq 100); do qctl -j slice list "$dev" | grep -q demo1 || break; sleep 0.2; done
run qctl show "$dev"

echo
echo "--- the device's queue pool, split among its PF and VFs (devlink) ---"
run devlink dev eswitch set netdevsim/netdevsim4242 mode switchdev
say "echo 2 > /sys/bus/netdevsim/devices/netdevsim4242/sriov_numvfs"
echo 2 > /sys/bus/netdevsim/devices/netdevsim4242/sriov_numvfs
run qctl pool "$dev"
run qctl pool set "$dev" pf0 --rx 4 --tx 4
run qctl pool set "$dev" vf0 --rx 6 --tx 6
run qctl pool set "$dev" vf1 --rx 4 --tx 4
run qctl slice create "$dev" --rx 2 --tx 1 --name demo2
run qctl pool "$dev"
say "devlink resource show netdevsim/netdevsim4242 | grep queues   # iproute2 sees the pool"
devlink resource show netdevsim/netdevsim4242 | grep queues
say "qctl alloc $dev --type rx          # the PF's share is full: refused, naming it"
qctl alloc "$dev" --type rx 2>&1 || echo "(exit $?)"
say "qctl pool set $dev vf1 --rx 8      # the pool has no room"
qctl pool set "$dev" vf1 --rx 8 2>&1 || echo "(exit $?)"
echo 4242 > /sys/bus/netdevsim/del_device

if [ -n "${QM_DEMO_VNET:-}" ]; then
	echo
	echo "--- a real driver: virtio-net (qemu: mq, rss, iommu_platform) ---"
	# shellcheck source=virtio-env.sh
	. "$QM_ROOT/selftests/virtio-env.sh"
	qm_virtio_env
	echo "NIC B is $NETIF here; NIC A is $QM_PEER_IF in netns $REMOTE_ARGS, same bridge"
	run ethtool -l "$NETIF"
	say "ethtool -x $NETIF | head -3"
	ethtool -x "$NETIF" | head -3
	run qctl alloc "$NETIF" --type rx
	run qctl alloc "$NETIF" --type tx
	run qctl queues "$NETIF"
	say "ethtool -x $NETIF | head -3   # the new rx queue 2 takes nothing yet"
	ethtool -x "$NETIF" | head -3
	run ethtool -X "$NETIF" weight 1 1 2
	say "ethtool -x $NETIF | head -3   # now half the table steers to it"
	ethtool -x "$NETIF" | head -3
	run "$QM_VENV/bin/python" "$QM_ROOT/selftests/demo_xsk.py" 2 16
	say "qctl free $NETIF 2 --type rx     # still in the RSS table: refused"
	qctl free "$NETIF" 2 --type rx 2>&1 || echo "(exit $?)"
	run ethtool -X "$NETIF" weight 1 1 0
	run qctl free "$NETIF" 2 --type rx
	run qctl free "$NETIF" 2 --type tx
	run ethtool -X "$NETIF" default
	run qctl queues "$NETIF"
fi
echo
echo "demo finished OK"

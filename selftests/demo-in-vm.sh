#!/usr/bin/env bash
# Runs INSIDE the VM: a narrated qctl session on a netdevsim device.
set -eu
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
echo 4242 > /sys/bus/netdevsim/del_device
echo
echo "demo finished OK"

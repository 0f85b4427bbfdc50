#!/usr/bin/env bash
# Boot a built qmgmt kernel under virtme-ng and run one command in it.
#
#   scripts/vm-run.sh [--lane lean|debug|sys] [--timeout SECS] [--mem MB]
#                     [--vnet PAIRS] -- CMD [ARGS...]
#
# --vnet PAIRS gives the guest two virtio-net NICs (mq, rss, iommu_platform,
# PAIRS queue pairs each) on multi-queue taps bridged in a network namespace
# of this run's own (scripts/lib.sh, qm_vnet_*); it is removed on any exit.
# QM_LANE_DIR names the guest's report folder (results/<it>/) when it is not
# the lane's own (the virtio-net lane boots the lean kernel).  QM_KEEP_UDEV=1
# reaches the guest, where selftests/run-in-vm.sh then keeps udevd running.
# Returns CMD's exit code.  The guest sees the host file system read-only,
# plus results/ read-write (--rwdir), where tests leave their reports.
# KVM is tried first; if qemu cannot start a KVM guest on this host (seen
# here: "failed to set MSR 0x10a"), the run falls back to TCG and says so.
# Exit codes besides CMD's: 124 timeout, 125 the VM never booted.
. "$(dirname "$0")/lib.sh"

lane=lean tmo=1800 mem=2048 vnet=0
while [ $# -gt 0 ]; do
	case "$1" in
	--lane) lane=${2:?}; shift 2 ;;
	--timeout) tmo=${2:?}; shift 2 ;;
	--mem) mem=${2:?}; shift 2 ;;
	--vnet) vnet=${2:?}; shift 2 ;;
	--) shift; break ;;
	-h|--help) qm_usage ;;
	-*) qm_die "unknown argument: $1 (the command goes after --)" ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || qm_die "no command given"
out=$QM_WORK/build-$lane
bz=$out/arch/x86/boot/bzImage
[ -f "$bz" ] || qm_die "no $lane kernel at $bz; run scripts/build-kernel.sh --lane $lane"
vng=$QM_VENV/bin/vng
export PATH=$QM_VENV/bin:$PATH
[ -x "$vng" ] || qm_die "virtme-ng missing at $vng; run scripts/setup-host.sh"
command -v udevadm >/dev/null ||
	qm_die "udev is not installed on the host; virtme-ng-init then loses the guest's console I/O (apt-get install udev)"

# Can this host run a KVM guest?  Boot the kernel with no root file system and
# panic=-1: a working KVM exits within seconds; a broken one aborts at once.
accel_probe() {
	[ -w /dev/kvm ] || { echo "no writable /dev/kvm"; return 1; }
	local log rc
	log=$(timeout 60 qemu-system-x86_64 -accel kvm -cpu host -m 256 \
		-display none -nodefaults -no-reboot -serial none \
		-kernel "$bz" -append "panic=-1 console=ttyS0" 2>&1) && return 0
	rc=$?
	echo "qemu with KVM failed (rc $rc): $(printf '%s' "$log" | grep -m1 -v '^$' | cut -c1-160)"
	return 1
}
accel_args=()
if [ "${QM_ACCEL:-auto}" = tcg ]; then
	why="QM_ACCEL=tcg"
	accel_args=(--disable-kvm)
elif why=$(accel_probe); then
	why="KVM"
else
	accel_args=(--disable-kvm)
fi
[ ${#accel_args[@]} -eq 0 ] && qm_log "accelerator: KVM" ||
	qm_log "accelerator: TCG (--disable-kvm) because $why"

netns_exec=() qemu_opts=()
if [ "$vnet" != 0 ]; then
	ns=qm-vnet-$$
	trap 'qm_vnet_down "$ns"' EXIT
	trap 'exit 130' INT TERM
	qm_vnet_up "$ns" "$vnet"
	netns_exec=(ip netns exec "$ns")
	qemu_opts=(--qemu-opts "$(qm_vnet_qemu_opts "$vnet")")
fi

mkdir -p "$QM_RESULTS"
marker=$QM_RESULTS/.vm-booted.$$
rm -f "$marker"
t0=$(qm_now)
set +e
# The guest does not inherit an activated venv; pass what it needs explicitly.
# QM_VNG_VERBOSE=1: the guest's kernel console on stdout too
verbose=()
[ "${QM_VNG_VERBOSE:-0}" = 1 ] && verbose=(--verbose)
timeout --foreground -k 10 "$tmo" "${netns_exec[@]}" "$vng" --run "$out" --user root \
	"${verbose[@]}" "${accel_args[@]}" "${qemu_opts[@]}" --cpus 2 --memory "${mem}M" \
	--rwdir "$QM_RESULTS" \
	-- env QM_ROOT="$QM_ROOT" QM_RESULTS="$QM_RESULTS" QM_VENV="$QM_VENV" \
	   QM_KDIR="$KDIR" QM_LANE="${QM_LANE_DIR:-$lane}" PYTHONDONTWRITEBYTECODE=1 \
	   QM_KEEP_UDEV="${QM_KEEP_UDEV:-0}" \
	   sh -c 'echo up > "$0"; exec "$@"' "$marker" "$@"
rc=$?
set -e
secs=$(qm_elapsed "$t0")
if [ $rc = 124 ]; then
	qm_log "VM timed out after ${tmo} s"
elif [ ! -f "$marker" ]; then
	qm_log "VM never reached the command (vng rc $rc) after ${secs} s"
	rc=125
else
	qm_log "VM ($lane) exited with $rc after ${secs} s"
fi
rm -f "$marker"
exit $rc

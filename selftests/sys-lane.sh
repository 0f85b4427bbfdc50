#!/usr/bin/env bash
# The sys lane, from the host, in one boot of the sys kernel
# (build-kernel.sh --lane sys: lean + system sleep + cgroups/seccomp) with
# the two virtio-net NICs:
#  1. the podman suite (run-in-vm.sh --suite podman): a real container
#     runtime on qmgmt networks; reports in $QM_RESULTS/sys/ as files;
#  2. selftests/suspend-in-vm.sh: one suspend and resume of every device
#     with a virtio-net queue allocated.  Its report comes over the console
#     because the guest's 9p root does not survive the resume.
# Passes only if the podman suite passed, the suspend case passed, the
# process got to the end, and the kernel logged no splat meanwhile.
#
#   selftests/sys-lane.sh
#
# Reports: $QM_RESULTS/sys/ (summary.txt, junit-podman.xml, console.txt)
. "$(dirname "$0")/../scripts/lib.sh"
qm_no_args "$@"
out=$QM_RESULTS/sys
mkdir -p "$out"
rm -f "$out/podman-rc.txt"
log=$out/console.txt
# the kernel console: boot, the test's report (qmgmt-suspend: lines), the
# suspend, the resume and the power-off.  vng reports 255 for a guest that
# powered itself off: the report decides.
rc=0
QM_VNG_VERBOSE=1 QM_LANE_DIR=sys "$QM_ROOT/scripts/vm-run.sh" --lane sys --vnet 4 \
	--timeout 900 -- "$QM_ROOT/selftests/suspend-in-vm.sh" --podman-first 2>&1 |
	tr -d '\r' > "$log" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 255 ] || qm_die "the sys VM failed (rc $rc, see $log)"
grep -E '^(podman on qmgmt networks|dmesg):' "$out/summary.txt" 2>/dev/null || true
[ "$(cat "$out/podman-rc.txt" 2>/dev/null)" = "podman suite rc 0" ] ||
	qm_die "the podman suite failed or did not run (see $out/pytest-podman.log)"
grep '^qmgmt-suspend: ' "$log"
grep -q '^qmgmt-suspend: exit 0$' "$log" ||
	qm_die "the suspend test did not finish with 0 (see $log)"
grep -qE '^qmgmt-suspend: ok [0-9]+ queue_alloc_suspend\.allocated_queue_survives_suspend$' "$log" ||
	qm_die "the suspend case did not pass (see $log)"
if grep -E '(WARNING|BUG|Oops|Call Trace|possible recursive locking|circular locking)' "$log"; then
	qm_die "kernel splat (see $log)"
fi
qm_log "suspend/resume with an allocated queue: passed"

#!/usr/bin/env bash
# The pm lane, from the host: boot the pm kernel (build-kernel.sh --lane pm)
# with the two virtio-net NICs, run selftests/suspend-in-vm.sh, and judge
# its report, which comes over the console because the guest's 9p root does
# not survive the resume.  Passes only if the suspend case passed, the
# process got to the end, and the kernel logged no splat meanwhile.
#
#   selftests/suspend-lane.sh
#
# Report: $QM_RESULTS/pm/suspend.txt
. "$(dirname "$0")/../scripts/lib.sh"
qm_no_args "$@"
out=$QM_RESULTS/pm
mkdir -p "$out"
log=$out/suspend.txt
# the kernel console: boot, the test's report (qmgmt-suspend: lines), the
# suspend, the resume and the power-off.  vng reports 255 for a guest that
# powered itself off: the report decides.
rc=0
QM_VNG_VERBOSE=1 QM_LANE_DIR=pm "$QM_ROOT/scripts/vm-run.sh" --lane pm --vnet 4 \
	--timeout 300 -- "$QM_ROOT/selftests/suspend-in-vm.sh" 2>&1 | tr -d '\r' > "$log" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 255 ] || qm_die "the pm VM failed (rc $rc, see $log)"
grep '^qmgmt-suspend: ' "$log"
grep -q '^qmgmt-suspend: exit 0$' "$log" ||
	qm_die "the suspend test did not finish with 0 (see $log)"
grep -qE '^qmgmt-suspend: ok [0-9]+ queue_alloc_suspend\.allocated_queue_survives_suspend$' "$log" ||
	qm_die "the suspend case did not pass (see $log)"
if grep -E '(WARNING|BUG|Oops|Call Trace|possible recursive locking|circular locking)' "$log"; then
	qm_die "kernel splat (see $log)"
fi
qm_log "suspend/resume with an allocated queue: passed"

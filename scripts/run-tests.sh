#!/usr/bin/env bash
# The whole test run (README's test command; .ci/run calls it).
#
#   scripts/run-tests.sh [--no-debug]
#
#  1. host: set-up (apt, venv, qctl from its wheel), the wheel installed
#     with its dependencies into a fresh venv and its commands run there,
#     host unit tests (qctl as installed, qmgmt-cni's malformed-input
#     table, qctl run in private namespaces, the scripts), ruff, mypy over
#     qctl and the selftests, shellcheck over every script
#  2. base + patches: apply, round-trip export check, generated-netlink
#     drift check, checkpatch --strict on every patch
#  3. lean lane: every patch built on its own (W=1 and kernel-doc on the
#     files it touches, no new warnings; the last step is the lean
#     kernel), the series' C files built with clang (LLVM=1, W=1: no
#     warning on a line the series added), then one boot for the qmgmt
#     selftests, the series' kernel selftests and the upstream floor
#  4. virtio-net lane: the lean kernel with two virtio-net NICs (vm-run.sh
#     --vnet 4): the series' NIC test, the upstream NIC tests that apply,
#     qctl's tests on the real driver
#  5. sys lane: the lean config plus system sleep, cgroups and seccomp, one
#     boot: podman on qmgmt networks (slices per container, the reflector
#     in a capability-less container), then one suspend and resume of
#     every device with a virtio-net queue allocated (selftests/sys-lane.sh)
#  6. debug lane (lockdep, KASAN, kmemleak, ref trackers; --no-debug skips
#     it): build, boot with the virtio-net NICs, the kernel-facing selftests
#     (pytest marker debug_lane) and the series' kselftests; any splat fails
# Exits non-zero if any step failed or ran no test; prints a summary with
# each step's time.
. "$(dirname "$0")/lib.sh"

debug=1
# The debug kernel runs 4-9x slower under TCG: it gets the kernel-facing core
# of the suite (marker debug_lane), where lockdep, KASAN, kmemleak and the
# ref trackers matter: queue state changes and rollback, AF_XDP, and every
# way a slice goes away (explicit delete, parent unregister, netns
# deletion, failed creation).  Refusals and notifications are plain
# validation paths; the lean lane has them.
while [ $# -gt 0 ]; do
	case "$1" in
	--no-debug) debug=0; shift ;;
	-h|--help) qm_usage ;;
	*) qm_die "unknown argument: $1" ;;
	esac
done

T0=$(qm_now)
declare -a STEPS=()
failed=0
step() {
	local name=$1; shift
	local t0 rc
	t0=$(qm_now)
	qm_log "=== $name"
	"$@"
	rc=$?
	STEPS+=("$(printf '%-34s %-4s %7ss' "$name" "$([ $rc = 0 ] && echo ok || echo FAIL)" "$(qm_elapsed "$t0")")")
	[ $rc = 0 ] || failed=1
	return $rc
}
finish() {
	echo
	qm_log "summary (total $(qm_elapsed "$T0") s)"
	printf '  %s\n' "${STEPS[@]}"
	for l in lean virtio sys debug; do
		[ -f "$QM_RESULTS/$l/summary.txt" ] && sed "s/^/  [$l] /" "$QM_RESULTS/$l/summary.txt"
	done
	local nok nfail
	# this run's figures, for scripts/record-timings.sh (docs/timings.md)
	{
		echo "Run of $(date -u +%F) at $(git -C "$QM_ROOT" rev-parse --short HEAD 2>/dev/null)," \
			"$(nproc) cores, total $(qm_elapsed "$T0") s:"
		echo
		echo "| step | result | seconds |"
		echo "| --- | --- | --- |"
		printf '%s\n' "${STEPS[@]}" | sed -E 's/^(.*[^ ]) +(ok|FAIL) +([0-9.]+)s$/| \1 | \2 | \3 |/'
	} > "$QM_RESULTS/timings.md" 2>/dev/null || true
	nok=$(printf '%s\n' "${STEPS[@]}" | grep -c ' ok ')
	nfail=$(printf '%s\n' "${STEPS[@]}" | grep -c ' FAIL ')
	if [ $failed != 0 ]; then
		qm_log "RESULT: FAILED"
		echo "steps: $nok passed, $nfail failed"
		exit 1
	fi
	qm_log "RESULT: all passed"
	echo "steps: $nok passed, $nfail failed"
}
trap finish EXIT
set +e

step "host setup" "$QM_ROOT/scripts/setup-host.sh" || exit 1
rm -rf "$QM_RESULTS"; mkdir -p "$QM_RESULTS"
# what a user gets from `pip install` of the wheel, in a venv of its own
step "wheel: fresh venv, installed commands" "$QM_ROOT/scripts/build-wheel.sh" --fresh-venv
step "host unit tests" "$QM_VENV/bin/python" -m pytest -p no:cacheprovider -q \
	"$QM_ROOT/tools/qctl/tests" "$QM_ROOT/scripts/tests"
step "ruff" "$QM_VENV/bin/ruff" check "$QM_ROOT/tools/qctl" "$QM_ROOT/selftests" "$QM_ROOT/scripts/tests"
step "mypy --strict (qctl)" "$QM_VENV/bin/mypy" --config-file "$QM_ROOT/tools/qctl/pyproject.toml" \
	"$QM_ROOT/tools/qctl/qctl"
step "mypy (selftests)" "$QM_VENV/bin/mypy" --ignore-missing-imports "$QM_ROOT/selftests"
step "shellcheck" bash -c 'cd "$1" && shellcheck -x -S warning scripts/*.sh selftests/*.sh .ci/run' _ "$QM_ROOT"
step "fetch base" "$QM_ROOT/scripts/fetch-base.sh" >/dev/null || exit 1
step "apply series" "$QM_ROOT/scripts/apply.sh" || exit 1
step "export round trip" "$QM_ROOT/scripts/export.sh" --check
step "generated netlink in sync" "$QM_ROOT/scripts/check-genl.sh"
step "checkpatch --strict" "$QM_ROOT/scripts/checkpatch.sh"

step "selftest helpers" "$QM_ROOT/scripts/build-selftest-helpers.sh"
if step "every patch builds (+W=1, kdoc)" "$QM_ROOT/scripts/check-series.sh"; then
	step "clang (LLVM=1) W=1 of the series' files" "$QM_ROOT/scripts/check-clang.sh"
	step "VM lean: selftests + floor" "$QM_ROOT/scripts/vm-run.sh" --lane lean --timeout 2400 -- \
		"$QM_ROOT/selftests/run-in-vm.sh" --suite all
	# a lane of its own: two virtio-net NICs on bridged multi-queue taps;
	# its reports go to results/virtio/
	step "VM virtio-net: real driver" env QM_LANE_DIR=virtio \
		"$QM_ROOT/scripts/vm-run.sh" --lane lean --vnet 4 --timeout 1200 -- \
		"$QM_ROOT/selftests/run-in-vm.sh" --suite virtio
	# the sys kernel (lean + pm.config + container.config), one boot:
	# podman on qmgmt networks, then suspend/resume with a queue allocated
	if step "build sys kernel" "$QM_ROOT/scripts/build-kernel.sh" --lane sys >/dev/null; then
		step "VM sys: podman, suspend/resume" "$QM_ROOT/selftests/sys-lane.sh"
	fi
fi
if [ $debug = 1 ]; then
	if step "build debug kernel" "$QM_ROOT/scripts/build-kernel.sh" --lane debug >/dev/null; then
		step "VM debug: kernel-facing tests" "$QM_ROOT/scripts/vm-run.sh" --lane debug --mem 4096 --vnet 4 --timeout 2400 -- \
			"$QM_ROOT/selftests/run-in-vm.sh" --suite qmgmt,kselftest,virtio -- -m "debug_lane and not slow"
	fi
fi

#!/usr/bin/env bash
# Runs INSIDE the VM (booted by scripts/vm-run.sh): the qmgmt pytest suite,
# the kernel selftests the series adds (kselftests.txt), the upstream
# regression floor (upstream-floor.txt), then a dmesg splat check.
#
#   run-in-vm.sh [--suite all|SUITE[,SUITE...]] [-- PYTEST_ARGS...]
#   SUITE: qmgmt, qdisc, kselftest, upstream; and virtio and podman, which
#   are never part of "all": virtio needs the VM's virtio-net NICs
#   (vm-run.sh --vnet), podman the sys lane's kernel (cgroups, seccomp)
#   (qdisc: the traffic tests of the qmgmt suite again, with mq and locked
#   pfifo children on every linked netdevsim port instead of the default
#   NOLOCK pfifo_fast ones)
#
# Reports go to $QM_RESULTS/$QM_LANE/: junit.xml, junit-mq.xml, pytest.log,
# pytest-mq.log, upstream.txt, dmesg.txt, summary.txt.  Exit status is
# non-zero on any failure.
set -u
suite=all
named() { case ",$suite," in *",$1,"*) true ;; *) false ;; esac; }
has() { [ "$suite" = all ] || named "$1"; }
while [ $# -gt 0 ]; do
	case "$1" in
	--suite) suite=$2; shift 2 ;;
	--) shift; break ;;
	-h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-in-vm.sh: unknown argument '$1' (pytest's go after --)" >&2; exit 2 ;;
	esac
done
# a misspelt suite would run nothing and pass
for s in ${suite//,/ }; do
	case "$s" in
	all|qmgmt|qdisc|kselftest|upstream|virtio|podman) ;;
	*) echo "run-in-vm.sh: unknown suite '$s' (all, qmgmt, qdisc, kselftest, upstream, virtio, podman)" >&2; exit 2 ;;
	esac
done
: "${QM_ROOT:?}" "${QM_RESULTS:?}" "${QM_VENV:?}" "${QM_KDIR:?}" "${QM_LANE:=lean}"
out=$QM_RESULTS/$QM_LANE
mkdir -p "$out"
rm -f "$out"/{junit.xml,junit-mq.xml,junit-virtio.xml,junit-podman.xml,pytest.log,pytest-mq.log,pytest-virtio.log,pytest-podman.log,upstream.txt,virtio-kselftests.txt,dmesg.txt,summary.txt}
py=$QM_VENV/bin/python
export PATH=$QM_VENV/bin:$PATH:/usr/sbin:/sbin
export PYTHONDONTWRITEBYTECODE=1

mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
modprobe netdevsim || { echo "FATAL: cannot load netdevsim" | tee "$out/summary.txt"; exit 1; }
dmesg > "$out/dmesg-boot.txt"
dmesg -C

rc=0
summary() { echo "$*" | tee -a "$out/summary.txt"; }
summary "kernel: $(uname -r) lane: $QM_LANE"

# udevd: virtme-ng-init starts it to populate /dev at boot, and the tests
# need nothing from it after that: they read interface names from sysfs and
# give slices explicit MACs.  Under TCG its workers, one rule run per queue
# kobject, took 37% of the debug lane's kselftest time (892 s with it, 558 s
# without), and upstream lib's NetdevSimDev, which runs `udevadm settle`
# under cmd()'s 20 s, timed out or failed with "Broken pipe" (2026-12-06).
# Without a daemon `udevadm settle` returns at once.  QM_KEEP_UDEV=1 keeps it.
if [ "${QM_KEEP_UDEV:-0}" != 1 ] && udevadm control --ping 2>/dev/null; then
	udevadm settle --timeout=120
	if udevadm control --exit; then
		summary "udevd: stopped after boot (QM_KEEP_UDEV=1 keeps it)"
	else
		summary "udevd: could not be stopped"
		rc=1
	fi
fi

if has qmgmt; then
	cd "$QM_ROOT/selftests" || exit 1
	"$py" -m pytest -p no:cacheprovider -rfE --junitxml="$out/junit.xml" "$@" . 2>&1 |
		tee "$out/pytest.log"
	prc=${PIPESTATUS[0]}
	# 5 = no tests collected: that is a failure too
	[ "$prc" = 0 ] || rc=1
	summary "qmgmt selftests: $(tail -1 "$out/pytest.log") (rc $prc)"
fi

if has qdisc; then
	cd "$QM_ROOT/selftests" || exit 1
	QMGMT_CHILD_QDISC=pfifo "$py" -m pytest -p no:cacheprovider -rfE \
		--junitxml="$out/junit-mq.xml" -m "traffic and not slow" "$@" . 2>&1 |
		tee "$out/pytest-mq.log"
	prc=${PIPESTATUS[0]}
	[ "$prc" = 0 ] || rc=1
	summary "qmgmt traffic tests, mq + pfifo: $(tail -1 "$out/pytest-mq.log") (rc $prc)"
fi

# Run every test of a list file: <dir under tools/testing/selftests> <test>
# [xfail:<ERE>]; a test passes (0), skips (4) or, with xfail, fails only on
# ERROR / "not ok" lines that all match <ERE> (a failure the base has too).
run_list() {
	local list=$1 file=$2 label=$3 dir t xfail trc secs log xre res t0
	pass=0 fail=0 skip=0 xf=0 failed=
	while read -r dir t xfail; do
		case "$dir" in ''|'#'*) continue ;; esac
		cd "$QM_KDIR/tools/testing/selftests/$dir" || exit 1
		case "$t" in
		*.py) runner=("$py" "./$t") ;;
		*) runner=(bash "./$t") ;;
		esac
		t0=$(date +%s)
		# stdin is the list: a test that reads it would eat the next line
		timeout 600 "${runner[@]}" < /dev/null > "$out/upstream-${t}.log" 2>&1
		trc=$?
		secs=$(( $(date +%s) - t0 ))
		log=$out/upstream-${t}.log
		xre=${xfail#xfail:}
		if [ "$trc" != 0 ] && [ "$trc" != 4 ] && [ -n "$xfail" ] &&
		   grep -qE '^(ERROR|not ok)' "$log" &&
		   ! grep -E '^(ERROR|not ok)' "$log" | grep -qvE "$xre"; then
			trc=xfail
		fi
		case $trc in
		0) res=PASS; pass=$((pass + 1)) ;;
		4) res=SKIP; skip=$((skip + 1)) ;;
		xfail) res=XFAIL; xf=$((xf + 1)) ;;
		*) res=FAIL; fail=$((fail + 1)); rc=1; failed="$failed $dir/$t"
		   # the failing cases by name, for a CI log that keeps its tail
		   failed="$failed [$(grep -E '^(not ok|ERROR)' "$log" | head -3 |
				cut -c1-80 | paste -sd'|')]"
		   tail -20 "$log" ;;
		esac
		printf '%-5s %-40s rc=%-3s %ss\n' "$res" "$dir/$t" "$trc" "$secs" | tee -a "$out/$file.txt"
	done < "$list"
	summary "$label: $pass passed, $fail failed, $skip skipped, $xf known base failures"
	[ "$fail" = 0 ] || summary "$label: failed: ${failed# }"
	# a list that ran nothing is a failure, not a pass
	if [ $((pass + fail + skip + xf)) = 0 ]; then
		summary "$label: no test ran"
		rc=1
	fi
}
has kselftest && run_list "$QM_ROOT/selftests/kselftests.txt" kselftests "series kselftests"
has upstream && run_list "$QM_ROOT/selftests/upstream-floor.txt" upstream "upstream floor"

# virtio-net: the series' NIC test and the upstream NIC tests that apply,
# then qctl's tests on the same NICs.  Last: it moves NIC A into a netns.
if named virtio; then
	# shellcheck source=virtio-env.sh
	. "$QM_ROOT/selftests/virtio-env.sh"
	if qm_virtio_env; then
		vlist=$QM_ROOT/selftests/virtio-kselftests.txt
		# the debug lane runs the series' own NIC test only: the upstream
		# ones do not touch qmgmt code and cost minutes under KASAN
		if [ "$QM_LANE" = debug ]; then
			grep -E '^drivers/net/hw queue_alloc' "$vlist" > /tmp/virtio-debug.txt
			vlist=/tmp/virtio-debug.txt
		fi
		run_list "$vlist" virtio-kselftests "virtio-net kselftests"
		# qctl's own tests: the lean lane only.  Kernel-wise they repeat
		# queue_alloc.py (which binds a zero-copy XSK too) at the price
		# of a Python start per CLI call under KASAN
		if [ "$QM_LANE" != debug ]; then
			cd "$QM_ROOT/selftests" || exit 1
			QM_VNET_REQUIRED=1 "$py" -m pytest -p no:cacheprovider -rfE -m virtio \
				--junitxml="$out/junit-virtio.xml" . 2>&1 | tee "$out/pytest-virtio.log"
			prc=${PIPESTATUS[0]}
			[ "$prc" = 0 ] || rc=1
			summary "qctl on virtio-net: $(tail -1 "$out/pytest-virtio.log") (rc $prc)"
		fi
	else
		rc=1
		summary "virtio-net: no test bed (boot with scripts/vm-run.sh --vnet)"
	fi
fi

# a real container runtime on qmgmt networks (the sys lane's kernel)
if named podman; then
	cd "$QM_ROOT/selftests" || exit 1
	QM_PODMAN=1 "$py" -m pytest -p no:cacheprovider -rfE -m podman \
		--junitxml="$out/junit-podman.xml" "$@" . 2>&1 | tee "$out/pytest-podman.log"
	prc=${PIPESTATUS[0]}
	[ "$prc" = 0 ] || rc=1
	summary "podman on qmgmt networks: $(tail -1 "$out/pytest-podman.log") (rc $prc)"
fi

# Any kernel splat fails the run, on either lane.
if [ -e /sys/kernel/debug/kmemleak ]; then
	echo scan > /sys/kernel/debug/kmemleak
	sleep 1
	echo scan > /sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak > "$out/kmemleak.txt"
	if [ -s "$out/kmemleak.txt" ]; then
		summary "kmemleak: $(grep -c 'unreferenced object' "$out/kmemleak.txt") leaks"
		rc=1
	fi
fi
dmesg > "$out/dmesg.txt"
if grep -nE 'WARNING:|BUG:|KASAN|UBSAN|possible circular locking|possible recursive locking|refcount_t:|unregister_netdevice: waiting|Oops|general protection|ref_tracker: .*leaked|inconsistent lock state|suspicious RCU usage' "$out/dmesg.txt"; then
	summary "dmesg: kernel splat found (see $out/dmesg.txt)"
	rc=1
else
	summary "dmesg: clean"
fi
exit $rc

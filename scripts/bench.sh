#!/usr/bin/env bash
# The performance suite (README): P2-P6 in one VM boot, P6 on the host too,
# then a results table (markdown + JSON) and PNG plots, host-side.
#
#   scripts/bench.sh [--quick] [--out DIR]
#
# Sets up like main.sh (host, base, series, lean kernel), builds the C
# sender (selftests/bench/pktblast.c) and installs matplotlib into the venv
# (requirements-bench.txt; the test lanes do not need it).  Output:
# DIR/bench.md, DIR/bench.json and DIR/p*.png (default selftests/bench/results,
# which the README embeds).  Benchmarks, not tests: nothing here passes or
# fails on a figure.
. "$(dirname "$0")/lib.sh"
quick=() out=$QM_ROOT/selftests/bench/results
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=(--quick); shift ;;
	--out) out=${2:?}; shift 2 ;;
	-h|--help) qm_usage ;;
	*) qm_die "unknown argument $1" ;;
	esac
done
t0=$(qm_now)
"$QM_ROOT/scripts/setup-host.sh"
"$QM_VENV/bin/pip" install -q --disable-pip-version-check -r "$QM_ROOT/requirements-bench.txt"
"$QM_ROOT/scripts/fetch-base.sh" >/dev/null
"$QM_ROOT/scripts/apply.sh"
"$QM_ROOT/scripts/build-kernel.sh" --lane lean >/dev/null
mkdir -p "$QM_WORK/bench" "$out"
gcc -O2 -Wall -Wextra -o "$QM_WORK/bench/pktblast" "$QM_ROOT/selftests/bench/pktblast.c" ||
	qm_die "cannot build selftests/bench/pktblast.c"

# P2-P6 in the VM: one boot
"$QM_ROOT/scripts/vm-run.sh" --lane lean --timeout 3000 -- \
	env QM_PKTBLAST="$QM_WORK/bench/pktblast" \
	"$QM_ROOT/selftests/bench/run-in-vm.sh" suite "${quick[@]}" ||
	qm_die "the VM part of the suite failed"
vm_json=$QM_RESULTS/bench-suite.json
[ -s "$vm_json" ] || qm_die "the VM wrote no $vm_json"

# P6 on the host: qctl -j queues lo (the host kernel's netdev family)
pairs=21
[ ${#quick[@]} = 0 ] || pairs=5
"$QM_VENV/bin/python" -c "
import json, sys
sys.path.insert(0, '$QM_ROOT/selftests/bench')
import bench_qctl
json.dump(bench_qctl.cold_start('lo', pairs=$pairs), open('$QM_WORK/bench/host-p6.json', 'w'))
" || qm_die "host cold-start benchmark failed"

"$QM_VENV/bin/python" "$QM_ROOT/selftests/bench/report.py" "$vm_json" \
	"$QM_WORK/bench/host-p6.json" "$out" || qm_die "report failed"
qm_log "benchmarks done in $(qm_elapsed "$t0") s: $out/bench.md"

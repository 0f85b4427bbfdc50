#!/usr/bin/env bash
# Runs INSIDE the VM: the benchmarks.
#   scripts/vm-run.sh [--vnet 4] -- selftests/bench/run-in-vm.sh [suite|queues|slices|virtio] [ARGS]
# suite: P2-P6 (suite.py; what scripts/bench.sh runs); queues (default):
# bench_queue_alloc.py; slices: bench_slices.py; virtio: bench_virtio.py
# (boot with scripts/vm-run.sh --vnet 4).
set -eu
export PATH=$QM_VENV/bin:$PATH:/usr/sbin:/sbin
export PYTHONDONTWRITEBYTECODE=1
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
modprobe netdevsim
which=queues
case "${1:-}" in
suite|queues|slices|virtio) which=$1; shift ;;
esac
case $which in
suite) exec "$QM_VENV/bin/python" "$(dirname "$0")/suite.py" "$@" ;;
queues) exec "$QM_VENV/bin/python" "$(dirname "$0")/bench_queue_alloc.py" "$@" ;;
slices) exec "$QM_VENV/bin/python" "$(dirname "$0")/bench_slices.py" "$@" ;;
virtio)
	# shellcheck source=../virtio-env.sh
	. "$(dirname "$0")/../virtio-env.sh"
	qm_virtio_env
	exec "$QM_VENV/bin/python" "$(dirname "$0")/bench_virtio.py" "$@" ;;
esac

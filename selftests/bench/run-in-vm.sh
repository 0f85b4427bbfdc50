#!/usr/bin/env bash
# Runs INSIDE the VM: the benchmarks.
#   scripts/vm-run.sh -- selftests/bench/run-in-vm.sh [queues|slices] [ARGS]
# queues (default): bench_queue_alloc.py; slices: bench_slices.py.
set -eu
export PATH=$QM_VENV/bin:$PATH:/usr/sbin:/sbin
export PYTHONDONTWRITEBYTECODE=1
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
modprobe netdevsim
which=queues
case "${1:-}" in
queues|slices) which=$1; shift ;;
esac
case $which in
queues) exec "$QM_VENV/bin/python" "$(dirname "$0")/bench_queue_alloc.py" "$@" ;;
slices) exec "$QM_VENV/bin/python" "$(dirname "$0")/bench_slices.py" "$@" ;;
esac

#!/usr/bin/env bash
# Runs INSIDE the VM: the queue benchmarks.
#   scripts/vm-run.sh -- selftests/bench/run-in-vm.sh [--iterations N]
set -eu
export PATH=$QM_VENV/bin:$PATH:/usr/sbin:/sbin
export PYTHONDONTWRITEBYTECODE=1
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
modprobe netdevsim
exec "$QM_VENV/bin/python" "$(dirname "$0")/bench_queue_alloc.py" "$@"

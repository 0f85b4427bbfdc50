#!/usr/bin/env python3
"""The performance suite, P2-P6, in one VM boot (scripts/bench.sh runs it).

  P2  alloc+free against the ethtool -L +1/-1 pair     (bench_queue_alloc)
  P3  qctl queue-get do/dump rate against raw           (bench_qctl.op_rate)
  P4  alloc cost and dump time from 8 to 1024 queues    (bench_qctl.scale)
  P5  slice rx pps against parent rx pps, C sender      (bench_slices.bench_pps)
  P6  qctl cold start against `import click`, in the VM (bench_qctl.cold_start)
  NF  reflector in a pod on a slice against on the parent (bench_nf), #11

Writes $QM_RESULTS/bench-suite.json (results/bench/ on the host).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any, Callable

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

import bench_nf  # noqa: E402
import bench_qctl  # noqa: E402
import bench_queue_alloc  # noqa: E402
import bench_slices  # noqa: E402
from common import report  # noqa: E402

from qmtest.nsim import NetdevSim  # noqa: E402
from qmtest.utils import cmd  # noqa: E402


def p3(rounds: int, seconds: float) -> dict[str, Any]:
    dev = NetdevSim(queues=8)       # 8 rx + 8 tx live: 16 objects per dump
    try:
        dev.up()                    # queue-get reports running devices only
        return bench_qctl.op_rate(dev.ifname, rounds, seconds)
    finally:
        dev.remove()


def p4(top: int) -> dict[str, Any]:
    dev = NetdevSim(queues=top)
    try:
        dev.up()
        cmd(["ethtool", "-L", dev.ifname, "combined", "8"])
        return bench_qctl.scale(dev.ifname, top=top, static=8)
    finally:
        dev.remove()


def p6(pairs: int) -> dict[str, Any]:
    dev = NetdevSim(queues=8)
    try:
        dev.up()
        return bench_qctl.cold_start(dev.ifname, pairs=pairs)
    finally:
        dev.remove()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    ap.add_argument("--only", action="append", metavar="PART",
                    help="run only this part (repeatable: p2..p6, nf)")
    args = ap.parse_args()
    q = args.quick
    parts: dict[str, Callable[[], dict[str, Any]]] = {
        "p2": lambda: bench_queue_alloc.run(8 if q else 30),
        "p3": lambda: p3(3 if q else 9, 0.3 if q else 0.5),
        "p4": lambda: p4(64 if q else 1024),
        "p5": lambda: bench_slices.bench_pps(2 if q else 5, 1.0 if q else 3.0, sender="c"),
        "p6": lambda: p6(3 if q else 11),
        "nf": lambda: bench_nf.run(1 if q else 3, 2.0 if q else 5.0, tempfile.mkdtemp()),
    }
    unknown = set(args.only or ()) - set(parts)
    if unknown:
        ap.error(f"no such part: {', '.join(sorted(unknown))}")
    if args.only:
        parts = {k: v for k, v in parts.items() if k in args.only}
    out: dict[str, Any] = {"kernel": os.uname().release, "where": "vm", "quick": q}
    for name, fn in parts.items():
        t0 = time.monotonic()
        out[name] = fn()
        out[name]["bench_seconds"] = time.monotonic() - t0
        print(f"# {name} done in {out[name]['bench_seconds']:.0f} s", flush=True)
    report(out, "bench-suite.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Benchmark (not a test): netdev slices, in the VM.

  scripts/vm-run.sh -- selftests/bench/run-in-vm.sh slices

Figures, all from one run:
  1. receive rate through a slice against through the parent alone, on the
     same linked netdevsim pair: a forked sender floods frames to the
     slice's MAC, then to the parent's, for the same time each (alternated,
     several rounds); packets per second counted on the receiving port's
     queues, median of the rounds and the ratio slice/parent;
  2. slice create+delete latency (rtnetlink, one request each) with 1,
     16 and 128 other slices already on the parent: median and p90, and
     the ratio of the 128 and the 1 medians (is the cost flat?).  Each
     round starts after `udevadm settle`, so udev's work on earlier
     add/remove events is not counted;
  3. slice deletion (ip link del) latency against the slice's size (1, 16
     and 64 queues of each type): what teardown costs per queue (grace periods under
     rtnl_lock), median and p90, and the ratio 64/1.
Results go to stdout and to $QM_RESULTS/bench-slices.json.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from common import pct, report, spread  # noqa: E402

from qmtest.nsim import NetdevSim  # noqa: E402
from qmtest.qm import netdev, nsim_state  # noqa: E402
from qmtest.traffic import dev_mac, mac_bytes, udp_frame  # noqa: E402
from qmtest.utils import cmd  # noqa: E402
from qctl.rtnl import RtnlSocket, SliceLink  # noqa: E402

SLICE_MAC = "02:51:1c:00:be:01"


def _flood(ifname: str, dst: str, seconds: float, count: Any) -> None:
    src = mac_bytes(dev_mac(ifname))
    frames = [udp_frame(src, mac_bytes(dst), 20000 + i) for i in range(16)]
    n = 0
    deadline = time.monotonic() + seconds
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
        s.bind((ifname, 0))
        while time.monotonic() < deadline:
            for f in frames:
                s.send(f)
            n += len(frames)
    count.value = n


def rx_total(dev: NetdevSim, queues: list[int]) -> int:
    st = nsim_state(dev)
    return sum(int(st[("rx", i)]["packets"]) for i in queues)


def pktblast() -> str:
    """The C sender (selftests/bench/pktblast.c, built by scripts/bench.sh)."""
    path = os.environ.get("QM_PKTBLAST", "")
    if not os.access(path, os.X_OK):
        raise SystemExit("QM_PKTBLAST does not name the built pktblast "
                         "(scripts/bench.sh builds it)")
    return path


def flood_rate(a: NetdevSim, b: NetdevSim, dst: str, queues: list[int],
               seconds: float, sender: str = "python") -> dict:
    before = rx_total(b, queues)
    t0 = time.monotonic()
    if sender == "c":
        out = cmd([pktblast(), a.ifname, dst, str(seconds), "16"],
                  timeout=seconds + 60).stdout
        sent = int(out.split()[0])
    else:
        count = multiprocessing.Value("q", 0)
        p = multiprocessing.Process(target=_flood, args=(a.ifname, dst, seconds, count))
        p.start()
        p.join()
        sent = int(count.value)
    elapsed = time.monotonic() - t0
    time.sleep(0.5)                     # let NAPI drain
    got = rx_total(b, queues) - before
    return {"sent": sent, "received": got, "seconds": elapsed, "rx_pps": got / elapsed}


def bench_pps(rounds: int, seconds: float, sender: str = "python") -> dict:
    a, b = NetdevSim(queues=8), NetdevSim(queues=8)
    nd = netdev()
    try:
        a.link(b)
        for d in (a, b):
            d.up()
            cmd(["ethtool", "-L", d.ifname, "combined", "2"])
        s = nd.slice_create(b.ifindex, 2, 1, name="qmbench0", mac=SLICE_MAC)
        cmd(["ip", "link", "set", "qmbench0", "up"])
        slice_q = [q.parent_id for q in s.queues_of("rx")]
        runs: dict[str, list[dict]] = {"slice": [], "parent": []}
        for _ in range(rounds):
            runs["slice"].append(flood_rate(a, b, SLICE_MAC, slice_q, seconds, sender))
            runs["parent"].append(flood_rate(a, b, dev_mac(b.ifname), [0, 1], seconds,
                                             sender))
        med = {k: statistics.median(r["rx_pps"] for r in v) for k, v in runs.items()}
        ratios = [s["rx_pps"] / p["rx_pps"] for s, p in zip(runs["slice"], runs["parent"],
                                                             strict=True)]
        nd.slice_delete("qmbench0")
        return {"sender": sender, "rounds": runs, "slice_rx_pps": med["slice"],
                "parent_rx_pps": med["parent"],
                "ratio_slice_over_parent": med["slice"] / med["parent"],
                "ratio_per_round": spread(ratios)}
    finally:
        nd.close()
        a.unlink()
        a.remove()
        b.remove()


def bench_latency(levels: list[int], iterations: int) -> dict:
    # one rx + one tx queue per slice, plus the measured one, plus 2 static
    dev = NetdevSim(queues=max(levels) + 8)
    rt = RtnlSocket()
    res: dict[str, Any] = {}
    try:
        cmd(["ethtool", "-L", dev.ifname, "combined", "2"])
        existing = 0
        for level in levels:
            while existing < level:
                rt.slice_add(SliceLink(parent=dev.ifindex, rx=1, tx=1, name=f"qmbs{existing}"))
                existing += 1
            lat = []
            for _ in range(iterations):
                # udev reacts to every add/remove: start each round quiet,
                # so the figure is the kernel's and not udev's backlog
                cmd(["udevadm", "settle", "--timeout=60"], check=False)
                t0 = time.perf_counter()
                rt.link_del(rt.slice_add(SliceLink(parent=dev.ifindex, rx=1, tx=1)))
                lat.append(time.perf_counter() - t0)
            res[str(level)] = {"median_ms": statistics.median(lat) * 1e3,
                               "p90_ms": pct(lat, 0.9) * 1e3}
        lo, hi = str(min(levels)), str(max(levels))
        res["ratio_max_over_min"] = res[hi]["median_ms"] / res[lo]["median_ms"]
        t0 = time.perf_counter()
        dev.remove()                    # parent unregisters with every slice on it
        res["parent_remove_with_slices_ms"] = (time.perf_counter() - t0) * 1e3
        res["parent_remove_slices"] = existing
        return res
    finally:
        rt.close()
        dev.remove()


def bench_delete_by_size(sizes: list[int], iterations: int) -> dict:
    dev = NetdevSim(queues=max(sizes) + 2)
    rt = RtnlSocket()
    res: dict[str, Any] = {}
    try:
        cmd(["ethtool", "-L", dev.ifname, "combined", "2"])
        for size in sizes:
            lat = []
            for _ in range(iterations):
                ifindex = rt.slice_add(SliceLink(parent=dev.ifindex, rx=size, tx=size))
                cmd(["udevadm", "settle", "--timeout=60"], check=False)
                t0 = time.perf_counter()
                rt.link_del(ifindex)
                lat.append(time.perf_counter() - t0)
            res[str(size)] = {"median_ms": statistics.median(lat) * 1e3,
                              "p90_ms": pct(lat, 0.9) * 1e3}
        lo, hi = str(min(sizes)), str(max(sizes))
        res["ratio_max_over_min"] = res[hi]["median_ms"] / res[lo]["median_ms"]
        return res
    finally:
        rt.close()
        dev.remove()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--levels", default="1,16,128")
    ap.add_argument("--sizes", default="1,16,64")
    ap.add_argument("--only-delete", action="store_true",
                    help="only figure 3 (slice-delete cost by slice size)")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    if args.only_delete:
        report({"kernel": os.uname().release,
                "delete_by_size": bench_delete_by_size(sizes, args.iterations)},
               "bench-slices.json")
        return 0
    out = {"kernel": os.uname().release,
           "pps": bench_pps(args.rounds, args.seconds),
           "create_delete": bench_latency([int(x) for x in args.levels.split(",")],
                                          args.iterations),
           "delete_by_size": bench_delete_by_size(sizes, args.iterations)}
    report(out, "bench-slices.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())

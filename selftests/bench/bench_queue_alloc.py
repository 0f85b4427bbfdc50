#!/usr/bin/env python3
"""Benchmark (not a test): queue-create/free against ethtool -L, in the VM.

  scripts/vm-run.sh -- selftests/bench/run-in-vm.sh

Figures, all from one run on one netdevsim pair:
  1. latency of an alloc+free pair (qctl library) against an ethtool -L
     +1/-1 pair (ethtool netlink, in-process via the tree's ynl) on the same
     device: median, p90 and the ratio of medians;
  2. packets lost on an untouched queue while each of them runs, with
     traffic pinned to queue 1 of the pair;
(qctl's op rate is bench_qctl.py's P3.)
Results go to stdout and to $QM_RESULTS/bench.json.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import statistics
import struct
import sys
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from common import pct, report  # noqa: E402

from qmtest import ynl  # noqa: E402
from qmtest.nsim import NetdevSim  # noqa: E402
from qmtest.qm import netdev, nsim_state  # noqa: E402
from qmtest.traffic import ETH_P_QMGMT, dev_mac, mac_bytes, pin_tx_queue  # noqa: E402
from qmtest.utils import cmd, wait_for  # noqa: E402



class Traffic:
    """Frames from a to b pinned to TX queue 1, counted at both ends.

    The sender is a forked process, so it is not starved by the GIL.
    """

    def __init__(self, a: NetdevSim, b: NetdevSim) -> None:
        self.a, self.b = a, b
        self.stop = multiprocessing.Event()
        self.count = multiprocessing.Value("q", 0)
        self.p = multiprocessing.Process(target=self._run)

    def _run(self) -> None:
        frame = (mac_bytes(dev_mac(self.b.ifname)) + mac_bytes(dev_mac(self.a.ifname)) +
                 struct.pack("!H", ETH_P_QMGMT) + bytes(50))
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
            s.bind((self.a.ifname, 0))
            while not self.stop.is_set():
                for _ in range(8):
                    s.send(frame)
                with self.count.get_lock():
                    self.count.value += 8
                time.sleep(0.001)

    @property
    def sent(self) -> int:
        return int(self.count.value)

    def rx1(self) -> int:
        return int(nsim_state(self.b)[("rx", 1)]["packets"])

    def __enter__(self) -> "Traffic":
        self.base_rx = self.rx1()
        self.p.start()
        wait_for(lambda: self.sent > 0, timeout=30, what="sender to start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.p.join()

    def lost(self) -> int:
        want = self.base_rx + self.sent
        try:
            wait_for(lambda: self.rx1() >= want, timeout=10, what="drain")
        except TimeoutError:
            pass
        return want - self.rx1()


def bench_reconfig(nd, ethnl, a, b, n: int) -> dict:
    ifx = b.ifindex
    res: dict[str, Any] = {}
    with Traffic(a, b) as tr:
        lat = []
        for _ in range(n):
            # same client layer as the ethtool side: one netlink do each
            t0 = time.perf_counter()
            q = nd.client.do("queue-create", {"ifindex": ifx, "type": "rx"})
            nd.client.do("queue-destroy", {"ifindex": ifx, "type": "rx", "id": q["id"]})
            lat.append(time.perf_counter() - t0)
    res["alloc_free"] = {"median_ms": statistics.median(lat) * 1e3,
                         "p90_ms": pct(lat, 0.9) * 1e3, "sent": tr.sent,
                         "lost_on_queue_1": tr.lost()}
    with Traffic(a, b) as tr:
        lat = []
        hdr = {"header": {"dev-index": ifx}}
        for _ in range(n):
            t0 = time.perf_counter()
            ethnl.channels_set({**hdr, "combined-count": 3})
            ethnl.channels_set({**hdr, "combined-count": 2})
            lat.append(time.perf_counter() - t0)
    res["ethtool_L"] = {"median_ms": statistics.median(lat) * 1e3,
                        "p90_ms": pct(lat, 0.9) * 1e3, "sent": tr.sent,
                        "lost_on_queue_1": tr.lost()}
    res["ratio_ethtool_over_alloc"] = (res["ethtool_L"]["median_ms"] /
                                       res["alloc_free"]["median_ms"])
    return res


def run(iterations: int) -> dict:
    """bench_reconfig on a fresh linked pair (2 live queues each, traffic
    pinned to queue 1)."""
    a, b = NetdevSim(queues=8), NetdevSim(queues=8)
    try:
        a.link(b)
        for d in (a, b):
            d.up()
            cmd(["ethtool", "-L", d.ifname, "combined", "2"])
        pin_tx_queue(a.ifname, 1)
        ethnl = ynl.YnlFamily(ynl.spec_path("ethtool"))
        with netdev() as nd:
            return bench_reconfig(nd, ethnl, a, b, iterations)
    finally:
        a.unlink()
        a.remove()
        b.remove()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=40)
    args = ap.parse_args()
    report({"kernel": os.uname().release, "iterations": args.iterations,
            "reconfig": run(args.iterations)}, "bench.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())

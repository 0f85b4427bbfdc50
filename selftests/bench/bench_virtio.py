#!/usr/bin/env python3
"""Benchmark (not a test): queue alloc/free on virtio-net, in the VM.

  scripts/vm-run.sh --vnet 4 -- selftests/bench/run-in-vm.sh virtio

Needs the virtio-net test bed (selftests/virtio-env.sh: NIC B here, NIC A in
a netns as the sender).  Figures, all from one run:
  P1. frames lost (sent by NIC A minus received by the device) while a
      queue pair is allocated and freed, against while ethtool -L goes
      +1/-1, under steady paced traffic over 32 flows; with alloc every
      frame must land on the static queues;
  P2. latency of an alloc+free of a queue pair (4 netlink requests, each
      timed) against an ethtool -L +1/-1 pair (2 requests): median, p90,
      ratio;
  flows moved: of 256 UDP flows, how many change rx queue during each
      operation, from the device's RSS key and table (Toeplitz);
  AF_XDP: frames/s one socket receives on an allocated queue, zero-copy
      against copy mode, all flows steered to it.
Results go to stdout and to $QM_RESULTS/bench-virtio.json.
"""
from __future__ import annotations

import argparse
import ctypes
import errno
import multiprocessing
import os
import socket
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from common import pct, report  # noqa: E402

from qctl import Netdev  # noqa: E402
from qctl.errors import KernelError  # noqa: E402
from qctl.xsk import XskSocket  # noqa: E402

from qmtest import ynl  # noqa: E402
from qmtest.qm import netdev  # noqa: E402
from qmtest.utils import cmd  # noqa: E402
from qmtest.vnet import CLONE_NEWNET, Rss, VNet  # noqa: E402

PORT = 9000


class Sender:
    """UDP from NIC A over `flows` source ports, in a forked process that
    enters the partner's netns; `pace` bursts of 8 per millisecond, or as
    fast as it can with pace=False."""

    def __init__(self, v: VNet, flows: int, pace: bool = True) -> None:
        self.v, self.flows, self.pace = v, flows, pace
        self.stop = multiprocessing.Event()
        self.count = multiprocessing.Value("q", 0)
        self.p = multiprocessing.Process(target=self._run)

    def _run(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        with open(f"/run/netns/{self.v.peer_ns}", "rb") as f:
            if libc.setns(f.fileno(), CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
        socks = []
        for _ in range(self.flows):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((self.v.peer_addr, 0))
            socks.append(s)
        dst = (self.v.addr, PORT)
        payload = bytes(18)
        i = 0
        while not self.stop.is_set():
            for _ in range(8):
                socks[i % self.flows].sendto(payload, dst)
                i += 1
            with self.count.get_lock():
                self.count.value += 8
            if self.pace:
                time.sleep(0.001)

    @property
    def sent(self) -> int:
        return int(self.count.value)

    def __enter__(self) -> Sender:
        self.p.start()
        deadline = time.monotonic() + 30
        while self.sent == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.p.join()


def link_rx(v: VNet) -> int:
    """rtnl's rx count: virtio-net sums it over every pair, live or not
    (its qstats base is 0, so a queue ethtool -L removed drops out of the
    qstats device total)."""
    with open(f"/sys/class/net/{v.ifname}/statistics/rx_packets", encoding="ascii") as f:
        return int(f.read())


def received(nd: Netdev, v: VNet, base: dict[int, int], static: int) -> tuple[int, int]:
    """Frames received since base: on the static queues, and on all."""
    now = v.rx_per_queue(nd)
    on_static = sum(now.get(q, 0) - base.get(q, 0) for q in range(static))
    return on_static, link_rx(v) - base[-1]


def timed(nd: Netdev, v: VNet, static: int, n: int, op: Any) -> dict[str, Any]:
    """Run op n times under paced traffic: latency, and frames lost (sent
    minus received by the device) while it ran."""
    Sender(v, 32).__enter__().__exit__()  # ARP and neighbour entries
    time.sleep(0.5)
    base = v.rx_per_queue(nd)
    base[-1] = link_rx(v)
    lat = []
    with Sender(v, 32) as tx:
        for _ in range(n):
            t0 = time.perf_counter()
            op()
            lat.append(time.perf_counter() - t0)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and received(nd, v, base, static)[1] < tx.sent:
        time.sleep(0.1)
    on_static, total = received(nd, v, base, static)
    return {"median_ms": statistics.median(lat) * 1e3, "p90_ms": pct(lat, 0.9) * 1e3,
            "min_ms": min(lat) * 1e3, "max_ms": max(lat) * 1e3, "sent": tx.sent,
            "lost": tx.sent - total, "received_on_static_queues": on_static}


def flows_moved(v: VNet, before: Rss, after: Rss, nflows: int = 256) -> int:
    return sum(before.queue(v.peer_addr, v.addr, p, PORT) !=
               after.queue(v.peer_addr, v.addr, p, PORT)
               for p in range(20000, 20000 + nflows))


def bench_reconfig(nd: Netdev, ethnl: Any, v: VNet, static: int, n: int) -> dict[str, Any]:
    ifx = nd.resolve(v.ifname)
    cmd(["ethtool", "-X", v.ifname, "default"])
    res: dict[str, Any] = {}

    steps: dict[str, list[float]] = {k: [] for k in
                                     ("rx_alloc", "tx_alloc", "rx_free", "tx_free")}

    def step(name: str, op: str, req: dict[str, Any]) -> Any:
        t0 = time.perf_counter()
        rsp = nd.client.do(op, req)
        steps[name].append(time.perf_counter() - t0)
        return rsp

    def alloc_free() -> None:
        r = step("rx_alloc", "queue-create", {"ifindex": ifx, "type": "rx"})["id"]
        t = step("tx_alloc", "queue-create", {"ifindex": ifx, "type": "tx"})["id"]
        step("rx_free", "queue-destroy", {"ifindex": ifx, "type": "rx", "id": r})
        step("tx_free", "queue-destroy", {"ifindex": ifx, "type": "tx", "id": t})

    hdr = {"header": {"dev-index": ifx}}

    def channels() -> None:
        ethnl.channels_set({**hdr, "combined-count": static + 1})
        ethnl.channels_set({**hdr, "combined-count": static})

    res["alloc_free_pair"] = timed(nd, v, static, n, alloc_free)
    res["alloc_free_pair"]["step_median_ms"] = {k: statistics.median(x) * 1e3
                                                for k, x in steps.items()}
    res["ethtool_L"] = timed(nd, v, static, n, channels)
    res["ratio_alloc_over_ethtool"] = (res["alloc_free_pair"]["median_ms"] /
                                       res["ethtool_L"]["median_ms"])

    before = Rss.read(v.ifname)
    r = nd.alloc(v.ifname, "rx").id
    during_alloc = Rss.read(v.ifname)
    nd.free(v.ifname, "rx", r)
    ethnl.channels_set({**hdr, "combined-count": static + 1})
    during_l = Rss.read(v.ifname)
    ethnl.channels_set({**hdr, "combined-count": static})
    after_l = Rss.read(v.ifname)
    res["flows_moved_of_256"] = {"alloc": flows_moved(v, before, during_alloc),
                                 "ethtool_L_plus_1": flows_moved(v, before, during_l),
                                 "ethtool_L_back": flows_moved(v, during_l, after_l)}
    return res


def xsk_rate(v: VNet, qid: int, mode: str, seconds: float) -> dict[str, Any]:
    with XskSocket(v.ifname, qid, mode=mode) as xsk:  # type: ignore[arg-type]
        time.sleep(0.5)
        with Sender(v, 16, pace=False) as tx:
            time.sleep(0.5)
            t0 = time.monotonic()
            n = 0
            while time.monotonic() - t0 < seconds:
                n += len(xsk.recv(256, 0.05))
            secs = time.monotonic() - t0
        return {"asked": mode, "granted": xsk.mode, "frames_per_s": n / secs,
                "sent": tx.sent}


def released(nd: Netdev, v: VNet, q: int) -> None:
    """Wait until the closed socket's pool has left the queue (a work item)."""
    for _ in range(100):
        if "xsk" not in nd.client.do("queue-get", {"ifindex": nd.resolve(v.ifname),
                                                   "type": "rx", "id": q}):
            return
        time.sleep(0.05)


def bench_xsk(nd: Netdev, v: VNet, static: int, seconds: float, rounds: int) -> dict[str, Any]:
    q = nd.alloc(v.ifname, "rx").id
    t = nd.alloc(v.ifname, "tx").id
    try:
        cmd(["ethtool", "-X", v.ifname, "weight"] + ["0"] * q + ["1"])
        zc, cp = [], []
        for _ in range(rounds):
            zc.append(xsk_rate(v, q, "zerocopy", seconds))
            released(nd, v, q)
            cp.append(xsk_rate(v, q, "copy", seconds))
            released(nd, v, q)
        z = statistics.median(r["frames_per_s"] for r in zc)
        c = statistics.median(r["frames_per_s"] for r in cp)
        return {"zerocopy": zc, "copy": cp, "zerocopy_median_fps": z,
                "copy_median_fps": c, "ratio_zerocopy_over_copy": z / c if c else None}
    finally:
        cmd(["ethtool", "-X", v.ifname, "weight"] + ["1"] * static + ["0"] * (q + 1 - static))
        for _ in range(50):
            try:
                nd.free(v.ifname, "rx", q)
                break
            except KernelError as e:  # the pool leaves from a work item
                if e.code != errno.EBUSY:
                    raise
                time.sleep(0.1)
        nd.free(v.ifname, "tx", t)
        cmd(["ethtool", "-X", v.ifname, "default"])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--xsk-seconds", type=float, default=3.0)
    ap.add_argument("--xsk-rounds", type=int, default=3)
    args = ap.parse_args()
    v = VNet.from_env()
    if v is None:
        print("no virtio-net test bed: boot with scripts/vm-run.sh --vnet and source "
              "selftests/virtio-env.sh", file=sys.stderr)
        return 2
    static = v.static_rx()
    ethnl = ynl.YnlFamily(ynl.spec_path("ethtool"))
    with netdev() as nd:
        out = {"kernel": os.uname().release, "driver": "virtio_net",
               "iterations": args.iterations, "static_queue_pairs": static,
               "reconfig": bench_reconfig(nd, ethnl, v, static, args.iterations),
               "af_xdp": bench_xsk(nd, v, static, args.xsk_seconds, args.xsk_rounds)}
    report(out, "bench-virtio.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())

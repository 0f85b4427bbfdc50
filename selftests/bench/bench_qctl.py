#!/usr/bin/env python3
"""Benchmarks (not tests) of qctl itself: P3 op rate, P4 scale, P6 start-up.

P3  queue-get do and dump through qctl (GenlClient, and the Netdev API)
    against a hand-built request on a bare netlink socket that decodes its
    reply into the same dict.  All variants run in one process, round by
    round with the order rotated; a ratio is the median of the per-round
    ratios to the raw variant.
P4  the cost of allocating the k-th queue for k from 8 to 1024, and the
    time of a queue-get dump against the number of queues.
P6  cold start of `qctl --help` and `qctl -j queues DEV` against
    `python -c 'import click'`, as paired runs (A, B, A, B, ...): the
    median of the per-pair ratios.

Each function returns a dict; suite.py runs them (one VM boot) and
cold_start() also runs on the host (scripts/bench.sh).
"""
from __future__ import annotations

import os
import socket
import statistics
import struct
import subprocess
import sys
import time
from typing import Any, Callable

from common import spread
from qctl import Netdev
from qctl.client import GenlClient

NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 1, 4, 0x300
_HDR = struct.Struct("=IHHII")
_NLA = struct.Struct("=HH")
_U32 = struct.Struct("=I")


class RawQueueGet:
    """queue-get by hand: one socket, prebuilt bytes, a decode written out
    for the queue set that yields what qctl's codec yields."""

    # queue attribute set of netdev.yaml: id 1, ifindex 2, type 3 (enum),
    # napi-id 4, dynamic 9 (flag); nests (xsk, lease, io-uring) are skipped
    # here and absent on the bench device
    TYPES = {0: "rx", 1: "tx"}

    def __init__(self, family_id: int, ifindex: int) -> None:
        self.fid = family_id
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)
        for opt in (10, 11, 12):     # CAP_ACK, EXT_ACK, GET_STRICT_CHK
            self.s.setsockopt(270, opt, 1)
        self.s.bind((0, 0))
        self.buf = bytearray(1 << 17)
        self.seq = 0
        do_attrs = (_NLA.pack(8, 2) + _U32.pack(ifindex) + _NLA.pack(8, 3) + _U32.pack(0) +
                    _NLA.pack(8, 1) + _U32.pack(0))
        self.do_body = struct.pack("BBH", 10, 1, 0) + do_attrs
        self.dump_body = struct.pack("BBH", 10, 1, 0) + _NLA.pack(8, 2) + _U32.pack(ifindex)

    def _decode(self, buf: bytearray, pos: int, end: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        while pos + 4 <= end:
            ln, t = _NLA.unpack_from(buf, pos)
            t &= 0x3fff
            if t == 1:
                out["id"] = _U32.unpack_from(buf, pos + 4)[0]
            elif t == 2:
                out["ifindex"] = _U32.unpack_from(buf, pos + 4)[0]
            elif t == 3:
                v = _U32.unpack_from(buf, pos + 4)[0]
                out["type"] = self.TYPES.get(v, v)
            elif t == 4:
                out["napi-id"] = _U32.unpack_from(buf, pos + 4)[0]
            elif t == 9:
                out["dynamic"] = True
            pos += (ln + 3) & ~3
        return out

    def _run(self, body: bytes, flags: int) -> list[dict[str, Any]]:
        self.seq += 1
        self.s.send(_HDR.pack(16 + len(body), self.fid, flags, self.seq, 0) + body)
        out = []
        while True:
            n = self.s.recv_into(self.buf)
            pos = 0
            while pos < n:
                ln, mtype, _, seq, _ = _HDR.unpack_from(self.buf, pos)
                if seq == self.seq:
                    if mtype == self.fid:
                        out.append(self._decode(self.buf, pos + 20, pos + ln))
                    elif mtype in (NLMSG_ERROR, NLMSG_DONE):
                        err = struct.unpack_from("=i", self.buf, pos + 16)[0]
                        if err:
                            raise OSError(-err, os.strerror(-err))
                        return out
                pos += (ln + 3) & ~3

    def do(self) -> dict[str, Any]:
        return self._run(self.do_body, NLM_F_REQUEST | NLM_F_ACK)[0]

    def dump(self) -> list[dict[str, Any]]:
        return self._run(self.dump_body, NLM_F_REQUEST | NLM_F_DUMP)

    def close(self) -> None:
        self.s.close()


def _rate(fn: Callable[[], object], seconds: float) -> float:
    n = 0
    t0 = time.perf_counter()
    end = t0 + seconds
    while True:
        for _ in range(10):
            fn()
        n += 10
        t = time.perf_counter()
        if t >= end:
            return n / (t - t0)


def interleaved(variants: dict[str, Callable[[], object]], rounds: int,
                seconds: float) -> dict[str, Any]:
    """ops/s of each variant, round by round in rotated order; ratios to 'raw'."""
    names = list(variants)
    rates: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            rates[n].append(_rate(variants[n], seconds))
    out: dict[str, Any] = {}
    for n in names:
        ratios = [x / raw for x, raw in zip(rates[n], rates["raw"], strict=True)]
        out[n] = {"ops_s": spread(rates[n]), "vs_raw": spread(ratios)}
    return out


def op_rate(ifname: str, rounds: int = 9, seconds: float = 0.3) -> dict[str, Any]:
    """P3 on one device: do (one queue) and dump (all its queues)."""
    with Netdev() as nd:
        ifindex = nd.resolve(ifname)
        cl: GenlClient = nd.client
        cl.kernel_has("queue-get")
        assert cl._family is not None
        raw = RawQueueGet(cl._family.id, ifindex)
        req = {"ifindex": ifindex, "type": "rx", "id": 0}
        # the same decoding: the baseline must produce what qctl produces
        assert raw.do() == cl.do("queue-get", req), (raw.do(), cl.do("queue-get", req))
        assert raw.dump() == cl.dump("queue-get", {"ifindex": ifindex})
        nq = len(raw.dump())
        do = interleaved({
            "raw": raw.do,
            "client": lambda: cl.do("queue-get", req),
            "api_ifindex": lambda: nd.queue(ifindex, "rx", 0),
            "api_name": lambda: nd.queue(ifname, "rx", 0),
        }, rounds, seconds)
        dump = interleaved({
            "raw": raw.dump,
            "client": lambda: cl.dump("queue-get", {"ifindex": ifindex}),
            "api_ifindex": lambda: nd.queues(ifindex),
        }, rounds, seconds)
        raw.close()
    return {"device_queues": nq, "rounds": rounds, "seconds_per_variant": seconds,
            "do": do, "dump": dump}


def scale(ifname: str, top: int = 1024, static: int = 8) -> dict[str, Any]:
    """P4: alloc cost of one more queue, and dump time, as queues grow.

    The device must have `static` live rx queues and a pool of `top`.  The
    alloc figure at N queues is the median of the allocations from N to
    N+8 (the last 8 before N at the top)."""
    checkpoints = [c for c in (8, 16, 32, 64, 128, 256, 512, 1024) if static <= c <= top]
    dumps: dict[int, tuple[list[float], int]] = {}
    lat: dict[int, float] = {}             # queues before the alloc -> seconds
    allocated: list[int] = []
    with Netdev() as nd:
        ifindex = nd.resolve(ifname)
        cl = nd.client
        try:
            for k in range(static, top + 1):
                if k in checkpoints:
                    # udev's work on the queues just added must not be timed
                    subprocess.run(["udevadm", "settle", "--timeout=120"], check=False)
                    times = []
                    for _ in range(5):
                        t0 = time.perf_counter()
                        n = len(cl.dump("queue-get", {"ifindex": ifindex}))
                        times.append(time.perf_counter() - t0)
                    dumps[k] = (times, n)
                if k == top:
                    break
                t0 = time.perf_counter()
                q = cl.do("queue-create", {"ifindex": ifindex, "type": "rx"})
                lat[k] = time.perf_counter() - t0
                allocated.append(int(q["id"]))
        finally:
            t0 = time.perf_counter()
            for qid in reversed(allocated):
                cl.do("queue-destroy", {"ifindex": ifindex, "type": "rx", "id": qid})
            free_s = time.perf_counter() - t0
    points = []
    for c in checkpoints:
        window = [lat[j] for j in range(c, c + 8) if j in lat] or \
            [lat[j] for j in range(c - 8, c) if j in lat]
        dump_ms = spread([1e3 * x for x in dumps[c][0]])
        points.append({"queues": c, "dump_entries": dumps[c][1], "dump_ms": dump_ms["median"],
                       "dump_ms_spread": dump_ms, "alloc_ms": 1e3 * statistics.median(window)})
    return {"points": points, "allocated": len(allocated),
            "alloc_ms_all": spread([1e3 * x for x in lat.values()]), "free_all_s": free_s}


def _wall(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def cold_start(dev: str, pairs: int = 15, warmup: int = 2) -> dict[str, Any]:
    """P6: whole-process wall time, paired against `python -c 'import click'`."""
    py = sys.executable
    base = [py, "-c", "import click"]
    cmds = {"help": [py, "-m", "qctl", "--help"],
            "queues_json": [py, "-m", "qctl", "-j", "queues", dev]}
    out: dict[str, Any] = {"pairs": pairs, "device": dev}
    for name, argv in cmds.items():
        for _ in range(warmup):
            _wall(argv)
            _wall(base)
        a, b = [], []
        for _ in range(pairs):
            a.append(_wall(argv))
            b.append(_wall(base))
        out[name] = {"ms": spread([1e3 * x for x in a]),
                     "import_click_ms": spread([1e3 * x for x in b]),
                     "ratio": spread([x / y for x, y in zip(a, b, strict=True)])}
    return out


if __name__ == "__main__":
    import json
    print(json.dumps(cold_start(sys.argv[1] if len(sys.argv) > 1 else "lo"), indent=2))

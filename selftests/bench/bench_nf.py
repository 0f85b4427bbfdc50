#!/usr/bin/env python3
"""Benchmark (not a test): the reflector in a pod on a slice against the same
reflector on the parent's own queues on the host, in one run (#11).

Peer and parent are a linked netdevsim pair.  Each round floods for
`seconds` from the peer with pktblast (C) to the reflector's MAC and counts
the echoes the peer receives; rounds alternate pod/host.  Also the
launcher's start-up: its own set-up time (report) and the time until its
report line, from the Popen.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from bench_slices import pktblast  # noqa: E402
from common import spread  # noqa: E402

from qmtest.cni import Runtime  # noqa: E402
from qmtest.nsim import NetdevSim  # noqa: E402
from qmtest.pod import Pod, launched, start_nf, stop_nf  # noqa: E402
from qmtest.qm import nsim_state  # noqa: E402
from qmtest.traffic import dev_mac  # noqa: E402
from qmtest.utils import cmd  # noqa: E402


def _peer_rx(peer: NetdevSim) -> int:
    return sum(int(v["packets"]) for (t, _), v in nsim_state(peer).items() if t == "rx")


def _round(peer: NetdevSim, pod: Pod | None, dev: str, dst: str, seconds: float
           ) -> dict[str, float]:
    t0 = time.monotonic()
    nf = start_nf(pod, dev)
    rep = launched(nf)
    up = time.monotonic() - t0
    try:
        before = _peer_rx(peer)
        t1 = time.monotonic()
        cmd([pktblast(), peer.ifname, dst, str(seconds), "16"], timeout=seconds + 60)
        time.sleep(0.5)
        echoes = _peer_rx(peer) - before
        elapsed = time.monotonic() - t1
    finally:
        stats = stop_nf(nf)
    rx = sum(q["rx"] for q in stats["queues"].values())
    return {"echo_pps": echoes / elapsed, "reflector_rx": rx, "echoes": echoes,
            "setup_s": rep["setup_seconds"], "up_s": up, "modes": rep["modes"], "xdp": rep["xdp"]}


def run(rounds: int, seconds: float, tmp: str) -> dict[str, Any]:
    peer, parent = NetdevSim(queues=8), NetdevSim(queues=8)
    pod = None
    rt = None
    try:
        peer.link(parent)
        for d in (peer, parent):
            d.up()
            cmd(["ethtool", "-L", d.ifname, "combined", "2"])
        rt = Runtime(tmp, parent.ifname)
        rt.conf.pop("ipam")
        pod = Pod()
        rc, res = rt.call("ADD", "bench", pod.netns)
        if rc != 0 or res is None:
            raise RuntimeError(f"CNI ADD failed: {res}")
        pod.ip("link", "set", "net1", "up")
        slice_mac = res["interfaces"][0]["mac"]
        runs: dict[str, list[dict[str, Any]]] = {"pod": [], "host": []}
        for _ in range(rounds):
            runs["pod"].append(_round(peer, pod, "net1", slice_mac, seconds))
            runs["host"].append(_round(peer, None, parent.ifname, dev_mac(parent.ifname),
                                       seconds))
        ratios = [p["echo_pps"] / h["echo_pps"] for p, h in zip(runs["pod"], runs["host"],
                                                                  strict=True)]
        return {"rounds": runs, "seconds": seconds,
                "pod_echo_pps": spread([r["echo_pps"] for r in runs["pod"]]),
                "host_echo_pps": spread([r["echo_pps"] for r in runs["host"]]),
                "ratio_pod_over_host": spread(ratios),
                "launcher_setup_s": spread([r["setup_s"] for r in runs["pod"] + runs["host"]]),
                "launcher_up_s": spread([r["up_s"] for r in runs["pod"]])}
    finally:
        if rt is not None and pod is not None:
            rt.call("DEL", "bench", pod.netns)
        if pod is not None:
            pod.kill()
        peer.unlink()
        peer.remove()
        parent.remove()

"""An AF_XDP network function in a pod, end to end (issue #11).

A pod-like sandbox (a new user namespace and a network namespace it owns)
gets a slice from qmgmt-cni ADD; `qctl run` starts the reflector in it
with no capability; the peer port sends N frames over K flows to the
slice's MAC and must get N echoes back, payloads intact; the parent and a
second pod see none of them; CNI DEL leaves nothing behind.  Again with the
pod killed (SIGKILL) before DEL.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from qmtest.cni import Runtime
from qmtest.defer import DeferStack
from qmtest.echo import N, exchange
from qmtest.nsim import NetdevSim
from qmtest.pod import Pod, function_status, launched, start_nf, stop_nf
from qmtest.qm import nsim_state
from qmtest.slices import owned
from qmtest.traffic import dev_mac
from qmtest.utils import cmd, wait_for

# The function's frames never pass a qdisc (AF_XDP transmits with a direct
# xmit); the peer's raw-socket sends do, as in every other traffic test.
# The qdisc lane (mq + locked children) has nothing to add here.
pytestmark = pytest.mark.no_qdisc

@pytest.fixture
def pods(defer: DeferStack) -> Callable[[], Pod]:
    def make() -> Pod:
        p = Pod()
        defer(p.kill)
        return p
    return make


def rx_packets(dev: NetdevSim, queues: list[int]) -> int:
    st = nsim_state(dev)
    return sum(int(st[("rx", q)]["packets"]) for q in queues)


def bpf_progs() -> list[str]:
    out = cmd(["bpftool", "-j", "prog", "show"], check=False).stdout or "[]"
    return sorted(p.get("name", "") for p in json.loads(out))


@pytest.mark.parametrize("die", [False, True], ids=["clean", "sigkill"])
def test_reflector_in_a_pod(nsim_pair: Callable[..., tuple[NetdevSim, NetdevSim]],
                            pods: Callable[[], Pod], tmp_path: Any, die: bool) -> None:
    peer, parent = nsim_pair(queues=8)
    for d in (peer, parent):
        cmd(["ethtool", "-L", d.ifname, "combined", "2"])
    rt = Runtime(str(tmp_path), parent.ifname)
    rt.conf.pop("ipam")
    progs_before = bpf_progs()
    pod, other = pods(), pods()
    rc, res = rt.call("ADD", "nf1", pod.netns)
    assert rc == 0 and res is not None, res
    rc, res2 = rt.call("ADD", "nf2", other.netns)
    assert rc == 0 and res2 is not None, res2
    mac, mac2 = res["interfaces"][0]["mac"], res2["interfaces"][0]["mac"]
    mine, theirs = owned(parent)["rx"][:2], owned(parent)["rx"][2:]
    pod.ip("link", "set", "net1", "up")
    other.ip("link", "set", "net1", "up")
    before = {"parent": rx_packets(parent, [0, 1]), "other": rx_packets(parent, theirs)}

    t0 = time.monotonic()
    nf = start_nf(pod)
    rep = launched(nf)
    assert rep["queues"] == [0, 1] and rep["umem_bytes"] == 2 * 4096 * 2048
    setup_s = time.monotonic() - t0
    st = wait_for(lambda: function_status(nf), timeout=30, what="the function")
    assert {st[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")} == \
        {"0000000000000000"} and st["NoNewPrivs"].strip() == "1", st
    back = exchange(peer, mac)
    assert back == set(range(N)), f"{N - len(back)} of {N} echoes missing"
    assert rx_packets(parent, [0, 1]) == before["parent"]
    assert rx_packets(parent, theirs) == before["other"]
    assert rx_packets(parent, mine) >= N
    print(f"# launcher: report {rep['setup_seconds']:.3f} s, up after {setup_s:.2f} s")

    if die:
        os.killpg(nf.pid, signal.SIGKILL)  # launcher and function: nothing tears down
        pod.kill()                          # and the pod with them
        nf.wait()
    else:
        stats = stop_nf(nf)
        # the launcher detached its program in the pod's namespace
        assert "prog/xdp" not in pod.ip("-d", "link", "show", "net1")
        assert sum(q["rx"] for q in stats["queues"].values()) == N
        assert sum(q["tx"] for q in stats["queues"].values()) == N
    assert rt.call("DEL", "nf1", "" if die else pod.netns)[0] == 0
    assert rt.call("DEL", "nf2", other.netns)[0] == 0
    # nothing left: no slice, no queue owned, no program, nothing pinned
    wait_for(lambda: owned(parent) == {"rx": [], "tx": []}, timeout=30,
             what="every queue back")
    assert json.loads(cmd([sys.executable, "-m", "qctl", "-j", "slice", "list",
                           parent.ifname]).stdout) == []
    wait_for(lambda: bpf_progs() == progs_before, timeout=30, what="XDP program freed")
    assert not os.path.exists("/sys/fs/bpf/xdp")
    assert mac2 != mac


def test_run_exit_status(nsim_pair: Callable[..., tuple[NetdevSim, NetdevSim]],
                         tmp_path: Any) -> None:
    """qctl run exits with the function's status; 127 when it cannot start."""
    _, parent = nsim_pair(queues=2)
    cmd(["ip", "link", "set", parent.ifname, "up"])
    qrun = [sys.executable, "-m", "qctl", "run", parent.ifname, "--frames", "64", "--"]
    r = cmd([*qrun, "sh", "-c", "exit 7"], check=False)
    assert r.returncode == 7, r.stderr
    # a command that is not there is refused before anything is set up
    r = cmd([*qrun, "/nonexistent/function"], check=False)
    assert r.returncode == 2 and "no executable '/nonexistent/function'" in r.stderr, r.stderr
    assert "qctl run: {" not in r.stderr
    # one that is there but cannot be exec'd fails in the child: 127
    bad = tmp_path / "function"
    bad.write_text("#!/nonexistent/interpreter\n")
    bad.chmod(0o755)
    r = cmd([*qrun, str(bad)], check=False)
    assert r.returncode == 127 and f"cannot exec {bad}" in r.stderr, r.stderr


@pytest.mark.parametrize("threads", [False, True], ids=["processes", "threads"])
def test_reflector_per_queue(nsim_pair: Callable[..., tuple[NetdevSim, NetdevSim]],
                             threads: bool) -> None:
    """The packet-access library from several processes or threads, one per
    queue: every queue reflects its own flows, none is lost or crossed."""
    peer, parent = nsim_pair(queues=8)
    for d in (peer, parent):
        cmd(["ethtool", "-L", d.ifname, "combined", "2"])
    cmd([sys.executable, "-m", "qctl", "slice", "create", parent.ifname, "--rx", "3",
         "--tx", "3", "--name", "nf0"])
    cmd(["ip", "link", "set", "nf0", "up"])
    try:
        nf = start_nf(None, "nf0", threads=threads)
        assert launched(nf)["queues"] == [0, 1, 2]
        back = exchange(peer, dev_mac("nf0"))
        stats = stop_nf(nf)
    finally:
        cmd([sys.executable, "-m", "qctl", "slice", "delete", "nf0"], check=False)
    assert back == set(range(N)), f"{N - len(back)} of {N} echoes missing"
    per = {int(q): v for q, v in stats["queues"].items()}
    assert sorted(per) == [0, 1, 2] and all(v["rx"] > 0 for v in per.values()), per
    assert all(v["rx"] == v["tx"] for v in per.values()), per
    assert sum(v["rx"] for v in per.values()) == N, per

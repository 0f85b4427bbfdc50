"""queue-create / queue-destroy on netdevsim, through real netlink (qctl's API).

Every test starts from a netdevsim port with 8 hardware queues of which
`ethtool -L combined 2` leaves 2 active, so the pool has ids 2..7 free.
"""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from qctl import KernelError, Netdev
from qmtest import ynl
from qmtest.qm import (EventCollector, dynamic_ids, expect_refusal, ip_link_numqueues,
                       nsim_state, queue_ids, snapshot)
from qmtest.traffic import dev_mac, pin_tx_queue, send_frames
from qmtest.utils import cmd, wait_for
from qmtest.xsk import XskSocket

QCTL = [sys.executable, "-m", "qctl.cli"]


@pytest.mark.debug_lane
def test_alloc_then_free_rx_and_tx(dev2, nd, defer):
    assert queue_ids(nd, dev2) == {"rx": [0, 1], "tx": [0, 1]}
    assert ip_link_numqueues(dev2) == (8, 8)

    q = nd.alloc(dev2.ifindex, "rx")
    defer(lambda: nd.free(dev2.ifindex, "rx", q.id) if q.id in queue_ids(nd, dev2)["rx"] else None)
    assert (q.type, q.id, q.dynamic) == ("rx", 2, True)
    assert queue_ids(nd, dev2) == {"rx": [0, 1, 2], "tx": [0, 1]}
    assert dynamic_ids(nd, dev2) == {"rx": [2], "tx": []}
    assert dev2.sysfs_queues() == {"rx": [0, 1, 2], "tx": [0, 1]}
    ch = dev2.ethtool_channels()
    assert (ch["combined"], ch["rx"], ch["tx"]) == (2, 1, 0)
    assert ip_link_numqueues(dev2) == (8, 8)
    st = nsim_state(dev2)
    assert st[("rx", 2)]["state"] == "live" and st[("rx", 2)]["napi"] == "up"
    napi = [x for x in nd.queues(dev2.ifindex) if x.type == "rx" and x.id == 2][0].napi_id
    assert napi, "a live RX queue of a running device has a NAPI instance"

    t = nd.alloc(dev2.ifindex, "tx")
    assert (t.type, t.id) == ("tx", 2)
    assert queue_ids(nd, dev2) == {"rx": [0, 1, 2], "tx": [0, 1, 2]}
    assert dev2.sysfs_queues() == {"rx": [0, 1, 2], "tx": [0, 1, 2]}
    ch = dev2.ethtool_channels()
    assert (ch["combined"], ch["rx"], ch["tx"]) == (3, 0, 0)

    nd.free(dev2.ifindex, "rx", 2)
    assert queue_ids(nd, dev2) == {"rx": [0, 1], "tx": [0, 1, 2]}
    assert dev2.sysfs_queues() == {"rx": [0, 1], "tx": [0, 1, 2]}
    assert nsim_state(dev2)[("rx", 2)]["napi"] == "down"
    nd.free(dev2.ifindex, "tx", 2)
    assert queue_ids(nd, dev2) == {"rx": [0, 1], "tx": [0, 1]}
    assert dev2.sysfs_queues() == {"rx": [0, 1], "tx": [0, 1]}
    ch = dev2.ethtool_channels()
    assert (ch["combined"], ch["rx"], ch["tx"]) == (2, 0, 0)
    assert ip_link_numqueues(dev2) == (8, 8)


def test_requested_id_makes_holes(dev2, nd):
    q = nd.alloc(dev2.ifindex, "rx", 5)
    assert q.id == 5
    # 2..4 are holes: not reported, but sysfs mirrors the index range
    assert queue_ids(nd, dev2)["rx"] == [0, 1, 5]
    assert dev2.sysfs_queues()["rx"] == [0, 1, 2, 3, 4, 5]
    st = nsim_state(dev2)
    assert [st[("rx", i)]["state"] for i in range(8)] == \
        ["live", "live", "hole", "hole", "hole", "live", "off", "off"]
    assert dev2.ethtool_channels()["rx"] == 1     # 3 live rx, 2 live tx
    with pytest.raises(KernelError) as ei:
        nd.queue(dev2.ifindex, "rx", 3)
    assert ei.value.code == errno.ENOENT

    # driver policy: the lowest free id fills a hole
    assert nd.alloc(dev2.ifindex, "rx").id == 2
    assert queue_ids(nd, dev2)["rx"] == [0, 1, 2, 5]

    # freeing the top shrinks past trailing holes (3, 4)
    nd.free(dev2.ifindex, "rx", 5)
    assert dev2.sysfs_queues()["rx"] == [0, 1, 2]
    nd.free(dev2.ifindex, "rx", 2)
    assert dev2.sysfs_queues()["rx"] == [0, 1]
    assert [s["state"] for (t, i), s in sorted(nsim_state(dev2).items()) if t == "rx"] == \
        ["live", "live"] + ["off"] * 6


def test_middle_free_leaves_hole_everywhere(dev2, nd):
    for _ in range(3):
        nd.alloc(dev2.ifindex, "rx")      # 2, 3, 4
    nd.free(dev2.ifindex, "rx", 3)
    assert queue_ids(nd, dev2)["rx"] == [0, 1, 2, 4]
    nf = ynl.netdev_family()
    per_q = ynl.qstats_by_queue(nf, dev2.ifindex)
    assert ("rx", 3) not in per_q and ("rx", 4) in per_q
    assert nsim_state(dev2)[("rx", 3)] == {"state": "hole", "origin": "static",
                                           "napi": "down", "packets": "0", "bytes": "0"}
    ch = dev2.ethtool_channels()
    assert ch["combined"] + ch["rx"] == 4
    # ynl, the kernel's own client, agrees with qctl
    ynl_ids = sorted(q["id"] for q in nf.queue_get({"ifindex": dev2.ifindex}, dump=True)
                     if q["type"] == "rx")
    assert ynl_ids == [0, 1, 2, 4]


def test_no_traffic_lands_on_a_hole(nsim_pair, nd):
    a, b = nsim_pair(queues=8)
    for d in (a, b):
        cmd(["ethtool", "-L", d.ifname, "combined", "2"])
    for _ in range(3):
        nd.alloc(b.ifindex, "rx")          # b: rx 2, 3, 4
        nd.alloc(a.ifindex, "tx")          # a: tx 2, 3, 4
    nd.free(b.ifindex, "rx", 3)             # hole at b rx 3
    sent = {}
    for q in range(5):
        pin_tx_queue(a.ifname, q)
        sent[q] = send_frames(a.ifname, dev_mac(b.ifname), 10 + q)
    total = sum(sent.values())

    def rx_total():
        st = nsim_state(b)
        n = sum(int(st[("rx", i)]["packets"]) for i in range(8))
        return st if n >= total else None

    st = wait_for(rx_total, what="peer to receive everything")
    assert st[("rx", 3)]["packets"] == "0", "a hole received traffic"
    # frames for tx 3 fold onto b's static queues: 3 % 2 == 1
    assert int(st[("rx", 1)]["packets"]) == sent[1] + sent[3]
    for q in (0, 2, 4):
        assert int(st[("rx", q)]["packets"]) == sent[q]


def test_refusals_leave_nothing_behind(dev2, nd):
    ifx = dev2.ifindex
    nd.alloc(ifx, "rx")                                  # rx 2 dynamic
    expect_refusal(lambda: nd.alloc(ifx, "rx", 8), errno.ERANGE, nd=nd, dev=dev2,
                   extack_has="out of range")
    expect_refusal(lambda: nd.alloc(ifx, "rx", 1), errno.EBUSY, nd=nd, dev=dev2,
                   extack_has="already in use")
    expect_refusal(lambda: nd.free(ifx, "rx", 6), errno.ENOENT, nd=nd, dev=dev2,
                   extack_has="not active")
    expect_refusal(lambda: nd.free(ifx, "rx", 9), errno.ERANGE, nd=nd, dev=dev2)
    expect_refusal(lambda: nd.free(ifx, "rx", 0), errno.EINVAL, nd=nd, dev=dev2,
                   extack_has="not allocated dynamically")
    # a queue type that does not exist: rejected by the netlink policy
    e = expect_refusal(lambda: nd.client.do("queue-create", {"ifindex": ifx, "type": 7}),
                       errno.ERANGE, nd=nd, dev=dev2)
    assert e.bad_attr == "type"                 # the extack's offset, by name
    # missing attribute
    e = expect_refusal(lambda: nd.client.do("queue-destroy", {"ifindex": ifx, "type": "rx"}),
                       errno.EINVAL, nd=nd, dev=dev2)
    assert e.missing_attr == "id"
    # exhausted hardware pool
    dev2.debugfs_write("queues/pool_rx", "3")
    expect_refusal(lambda: nd.alloc(ifx, "rx"), errno.ENOSPC, nd=nd, dev=dev2,
                   extack_has="in use")
    expect_refusal(lambda: nd.alloc(ifx, "rx", 5), errno.ERANGE, nd=nd, dev=dev2,
                   extack_has="pool")


def test_device_without_ops_is_refused(nd):
    cmd(["ip", "link", "add", "qmdummy0", "type", "dummy"])
    try:
        ifx = nd.resolve("qmdummy0")
        expect_refusal(lambda: nd.alloc(ifx, "rx"), errno.EOPNOTSUPP, nd=nd, dev=None,
                       extack_has="does not support")
        expect_refusal(lambda: nd.free(ifx, "tx", 0), errno.EOPNOTSUPP, nd=nd, dev=None)
    finally:
        cmd(["ip", "link", "del", "qmdummy0"])


@pytest.mark.debug_lane
def test_free_busy_with_af_xdp(dev2, nd):
    q = nd.alloc(dev2.ifindex, "rx")
    xsk = XskSocket(dev2.ifindex, q.id)
    try:
        expect_refusal(lambda: nd.free(dev2.ifindex, "rx", q.id), errno.EBUSY, nd=nd,
                       dev=dev2, extack_has="AF_XDP")
    finally:
        xsk.close()
    wait_for(lambda: _try_free(nd, dev2.ifindex, q.id), what="AF_XDP pool release")
    assert queue_ids(nd, dev2)["rx"] == [0, 1]


def _try_free(nd, ifx, qid):
    try:
        nd.free(ifx, "rx", qid)
        return True
    except KernelError as e:
        if e.code == errno.EBUSY:
            return False
        raise


def test_ethtool_L_refused_while_dynamic(dev2, nd):
    q = nd.alloc(dev2.ifindex, "tx")
    before = snapshot(nd, dev2)
    r = cmd(["ethtool", "-L", dev2.ifname, "combined", "4"], check=False)
    assert r.returncode != 0
    assert "dynamically allocated" in r.stderr, r.stderr
    assert snapshot(nd, dev2) == before
    nd.free(dev2.ifindex, "tx", q.id)
    cmd(["ethtool", "-L", dev2.ifname, "combined", "4"])
    assert queue_ids(nd, dev2) == {"rx": [0, 1, 2, 3], "tx": [0, 1, 2, 3]}


@pytest.mark.debug_lane
@pytest.mark.parametrize("step,code,msg", [
    (1, errno.EIO, "injected failure picking a queue id"),  # ndo_queue_reserve
    (2, errno.ENOMEM, "memory of rx queue 2"),               # ndo_queue_mem_alloc
    (3, errno.EIO, "failed to start rx queue 2"),            # ndo_queue_start
])
def test_fault_injection_rolls_back(dev2, nd, step, code, msg):
    dev2.debugfs_write("queues/fail_alloc_step", str(step))
    e = expect_refusal(lambda: nd.alloc(dev2.ifindex, "rx"), code, nd=nd, dev=dev2)
    assert msg in e.extack
    assert nsim_state(dev2)[("rx", 2)]["napi"] == "down"
    # one shot: the next allocation works and gets the same id
    assert nd.alloc(dev2.ifindex, "rx").id == 2


def test_alloc_on_a_down_device_starts_with_it(dev2, nd):
    cmd(["ip", "link", "set", dev2.ifname, "down"])
    q = nd.alloc(dev2.ifindex, "rx")
    assert nsim_state(dev2)[("rx", q.id)]["napi"] == "down"
    dev2.up()
    st = nsim_state(dev2)
    assert st[("rx", q.id)]["napi"] == "up" and st[("rx", q.id)]["state"] == "live"


def _in_child(fn):
    """Run fn() in a forked child; return its errno (0: no error), or fail
    with what else it raised."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        res = "0"
        try:
            fn()
        except KernelError as e:
            res = str(e.code)
        except BaseException as e:  # noqa: BLE001 - reported through the pipe
            res = f"{type(e).__name__}: {e}"
        os.write(w, res.encode())
        os._exit(0)
    os.close(w)
    out = os.read(r, 4096).decode()
    os.close(r)
    os.waitpid(pid, 0)
    assert out.lstrip("-").isdigit(), f"the child raised {out}"
    return int(out)


def test_permissions(dev2, nd):
    ifx = dev2.ifindex
    nd.queues(ifx)            # warm up imports before dropping privileges

    # the spec as loaded here: the child may not be able to read the tree
    # (a CI clone in a 0700 directory) once it is nobody
    spec = nd.client.spec

    def as_nobody():
        os.setgroups([])
        os.setresgid(65534, 65534, 65534)
        os.setresuid(65534, 65534, 65534)
        with Netdev(spec=spec) as n:
            n.client.do("queue-create", {"ifindex": ifx, "type": "rx"})

    def as_userns_root():
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        assert libc.unshare(0x10000000) == 0          # CLONE_NEWUSER
        with Netdev(spec=spec) as n:
            n.client.do("queue-create", {"ifindex": ifx, "type": "rx"})

    before = snapshot(nd, dev2)
    assert _in_child(as_nobody) == errno.EPERM
    assert _in_child(as_userns_root) == errno.EPERM
    assert snapshot(nd, dev2) == before


def test_notifications_in_order(dev2, nd):
    col = EventCollector(
        lambda name, a: (name, a["type"], a["id"], a.get("dynamic", False))
        if a.get("ifindex") == dev2.ifindex and name.startswith("queue-") else None, 6)
    a = nd.alloc(dev2.ifindex, "rx")
    b = nd.alloc(dev2.ifindex, "tx", 6)
    c = nd.alloc(dev2.ifindex, "rx")
    nd.free(dev2.ifindex, "rx", a.id)
    nd.free(dev2.ifindex, "tx", b.id)
    nd.free(dev2.ifindex, "rx", c.id)
    assert col.wait() == [
        ("queue-add-ntf", "rx", 2, True), ("queue-add-ntf", "tx", 6, True),
        ("queue-add-ntf", "rx", 3, True), ("queue-del-ntf", "rx", 2, True),
        ("queue-del-ntf", "tx", 6, True), ("queue-del-ntf", "rx", 3, True)]


def test_cli_shows_extack_and_fails(dev2):
    env = dict(os.environ)
    r = subprocess.run(QCTL + ["free", str(dev2.ifindex), "0", "--type", "rx"],
                       capture_output=True, text=True, env=env, check=False)
    assert r.returncode == 1
    assert "EINVAL" in r.stderr and "not allocated dynamically" in r.stderr
    assert "Traceback" not in r.stderr
    r = subprocess.run(QCTL + ["-j", "alloc", dev2.ifname, "--type", "tx"],
                       capture_output=True, text=True, env=env, check=True)
    out = json.loads(r.stdout)
    assert out["id"] == 2 and out["type"] == "tx" and out["dynamic"] is True
    r = subprocess.run(QCTL + ["-j", "queues", dev2.ifname], capture_output=True,
                       text=True, env=env, check=True)
    assert {(q["type"], q["id"], q["origin"]) for q in json.loads(r.stdout)} == {
        ("rx", 0, "static"), ("rx", 1, "static"), ("tx", 0, "static"),
        ("tx", 1, "static"), ("tx", 2, "dynamic")}


def test_interop_with_kernel_ynl(dev2, nd):
    cli = ynl.cli() + ["--output-json"]
    r = cmd(cli + ["--do", "queue-create", "--json",
                   json.dumps({"ifindex": dev2.ifindex, "type": "rx"})])
    got = json.loads(r.stdout)
    assert got == {"id": 2}                             # upstream's queue-create reply
    assert dynamic_ids(nd, dev2)["rx"] == [2]           # qctl sees ynl's queue
    q = nd.alloc(dev2.ifindex, "tx", 4)                  # ynl sees qctl's queue
    r = cmd(cli + ["--dump", "queue-get", "--json", json.dumps({"ifindex": dev2.ifindex})])
    dyn = {(x["type"], x["id"]) for x in json.loads(r.stdout) if x.get("dynamic")}
    assert dyn == {("rx", 2), ("tx", 4)}
    cmd(cli + ["--do", "queue-destroy", "--json",
               json.dumps({"ifindex": dev2.ifindex, "type": "tx", "id": q.id})])
    cmd(cli + ["--do", "queue-destroy", "--json",
               json.dumps({"ifindex": dev2.ifindex, "type": "rx", "id": 2})])
    assert dynamic_ids(nd, dev2) == {"rx": [], "tx": []}


@pytest.mark.slow
def test_traffic_on_other_queues_undisturbed(nsim_pair, nd):
    """1000 alloc/free cycles on both ends while queue 1 carries traffic."""
    a, b = nsim_pair(queues=8)
    for d in (a, b):
        cmd(["ethtool", "-L", d.ifname, "combined", "2"])
    pin_tx_queue(a.ifname, 1)
    stop = threading.Event()
    sent = [0]

    def sender():
        dst = dev_mac(b.ifname)
        while not stop.is_set():
            sent[0] += send_frames(a.ifname, dst, 16)
            time.sleep(0.001)

    t = threading.Thread(target=sender)
    t.start()
    try:
        for i in range(1000):
            qa = nd.alloc(a.ifindex, "tx" if i % 2 else "rx")
            qb = nd.alloc(b.ifindex, "rx")
            nd.free(b.ifindex, "rx", qb.id)
            nd.free(a.ifindex, qa.type, qa.id)
    finally:
        stop.set()
        t.join()
    assert sent[0] > 0

    def settled():
        st = nsim_state(b)
        return st if int(st[("rx", 1)]["packets"]) >= sent[0] else None

    st = wait_for(settled, timeout=20, what="receiver to drain")
    assert int(nsim_state(a)[("tx", 1)]["packets"]) == sent[0]
    assert int(st[("rx", 1)]["packets"]) == sent[0]
    nf = ynl.netdev_family()
    assert ynl.qstats_by_queue(nf, b.ifindex)[("rx", 1)].get("rx-hw-drops", 0) == 0

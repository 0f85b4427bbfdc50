"""Netdev slices on netdevsim, through real netlink (qctl's API, the kernel's
ynl, iproute2 and sysfs).

The parent is a netdevsim port with 8 hardware queues of which
`ethtool -L combined 2` leaves 2 static, so ids 2..7 of each type are free
for slices.
"""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import pytest

from qctl import KernelError
from qmtest import ynl
from qmtest.qm import (EventCollector, dynamic_ids, expect_refusal, link_info, netdev,
                       nsim_state, queue_ids)
from qmtest.nsim import sysfs_queues
from qmtest.slices import DmesgMark, full_snapshot, links, owned
from qmtest.traffic import dev_mac, send_frames, send_udp_flows
from qmtest.utils import cmd, ip, wait_for
from qmtest.xsk import XskSocket

QCTL = [sys.executable, "-m", "qctl.cli"]
SELFTESTS = os.path.dirname(os.path.abspath(__file__))
MAC1, MAC2 = "02:51:1c:00:00:01", "02:51:1c:00:00:02"


@pytest.fixture
def parent(dev2):
    """The parent of the slices: conftest's dev2 (8 queues, 2 static)."""
    return dev2


@pytest.fixture
def mk_slice(nd, defer):
    """Factory: slice_create() that deletes the slice at teardown if it
    still exists (by parent and id, wherever it lives)."""

    def make(parent, *args, **kw):
        s = nd.slice_create(parent.ifindex, *args, **kw)

        def cleanup():
            if not parent.exists():
                return
            try:
                nd.slice_delete(parent=parent.ifindex, slice_id=s.id)
            except KernelError as e:
                if e.code not in (errno.ENOENT, errno.ENODEV):
                    raise
        defer(cleanup)
        return s

    return make


def no_slices_left(nd, dev) -> bool:
    """The parent got every queue back and no slice remains."""
    return (dynamic_ids(nd, dev) == {"rx": [], "tx": []} and owned(dev) == {"rx": [], "tx": []}
            and nd.slices(dev.ifindex) == [])


def test_create_and_check(parent, nd, mk_slice):
    s = mk_slice(parent, 2, 2, name="qmsl0", mac=MAC1)
    assert (s.name, s.mac, s.rx_queues, s.tx_queues, s.max_queues) == ("qmsl0", MAC1, 2, 2, 2)
    assert s.parent_ifindex == parent.ifindex and s.netns_id is None
    # the driver picked the lowest free parent ids
    assert [(q.type, q.id, q.parent_id) for q in s.queues] == [
        ("rx", 0, 2), ("rx", 1, 3), ("tx", 0, 2), ("tx", 1, 3)]

    # ip link: a netdevice of kind slice linked to its parent, max-queues deep
    info = link_info("qmsl0")
    assert info["address"] == MAC1
    assert info["linkinfo"]["info_kind"] == "slice"
    assert info["link"] == parent.ifname
    assert (info["num_rx_queues"], info["num_tx_queues"]) == (2, 2)
    # sysfs agrees on both sides
    assert sysfs_queues("qmsl0") == {"rx": [0, 1], "tx": [0, 1]}
    assert parent.sysfs_queues() == {"rx": [0, 1, 2, 3], "tx": [0, 1, 2, 3]}

    # queue-get: as for a netkit lease, the physical (parent) queue names
    # the queue it serves in its lease nest; the slice's own queues do not
    cmd(["ip", "link", "set", "qmsl0", "up"])
    sq = {(q.type, q.id): q for q in nd.queues("qmsl0")}
    assert sorted(sq) == [("rx", 0), ("rx", 1), ("tx", 0), ("tx", 1)]
    assert all(q.lease is None for q in sq.values())
    pq = {(q.type, q.id): q for q in nd.queues(parent.ifindex)}
    for t in ("rx", "tx"):
        assert pq[(t, 0)].lease is None and pq[(t, 1)].lease is None
        for i in (2, 3):
            assert pq[(t, i)].dynamic
            assert (pq[(t, i)].lease.ifindex, pq[(t, i)].lease.type,
                    pq[(t, i)].lease.id, pq[(t, i)].lease.netns_id) == \
                (s.ifindex, t, i - 2, None)
    assert owned(parent) == {"rx": [2, 3], "tx": [2, 3]}

    # slice-get do (both ways of naming it) and dump agree with the reply
    assert nd.slice("qmsl0") == s
    assert nd.slice_by_id(parent.ifindex, s.id) == s
    assert nd.slices(parent.ifindex) == [s]

    # the parent cannot free or AF_XDP-bind a queue the slice owns
    expect_refusal(lambda: nd.free(parent.ifindex, "rx", 2), errno.EBUSY, nd=nd,
                   dev=parent, extack_has="owned by slice qmsl0")
    with pytest.raises(OSError) as ei:
        XskSocket(parent.ifindex, 3)
    assert ei.value.errno == errno.EBUSY

    deleted = nd.slice_delete("qmsl0")
    assert deleted.id == s.id
    assert "qmsl0" not in links()
    assert no_slices_left(nd, parent)
    assert parent.sysfs_queues() == {"rx": [0, 1], "tx": [0, 1]}


def test_explicit_parent_queues_and_qctl_cli(parent, nd, mk_slice):
    s = mk_slice(parent, parent_ids=[("rx", 6), ("tx", 5)], max_queues=2, name="qmsl1")
    assert [(q.type, q.id, q.parent_id) for q in s.queues] == [("rx", 0, 6), ("tx", 0, 5)]
    # parent ids 2..5 skipped over on rx are holes now, not queues
    assert queue_ids(nd, parent) == {"rx": [0, 1, 6], "tx": [0, 1, 5]}

    r = subprocess.run(QCTL + ["-j", "slice", "show", "qmsl1"], capture_output=True,
                       text=True, check=True)
    assert json.loads(r.stdout)["queues"] == [
        {"type": "rx", "id": 0, "parent_id": 6}, {"type": "tx", "id": 0, "parent_id": 5}]
    r = subprocess.run(QCTL + ["show", parent.ifname], capture_output=True, text=True,
                       check=True)
    assert f"{parent.ifname} (ifindex {parent.ifindex})" in r.stdout
    line = next(ln for ln in r.stdout.splitlines() if "rx 6 " in ln)
    assert "dynamic" in line and line.endswith("-> slice qmsl1 rx 0")
    assert "rx 0   <- " + parent.ifname + " rx 6" in r.stdout
    r = subprocess.run(QCTL + ["-j", "show", parent.ifname], capture_output=True, text=True,
                       check=True)
    tree = json.loads(r.stdout)
    assert [x["name"] for x in tree["slices"]] == ["qmsl1"]
    # a refusal through the CLI: errno and extack on stderr, non-zero exit
    r = subprocess.run(QCTL + ["slice", "create", parent.ifname, "--rx", "1", "--tx", "1",
                               "--name", "qmsl1"], capture_output=True, text=True, check=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "EEXIST" in r.stderr and "qmsl1 already exists" in r.stderr


def test_traffic_isolation(nsim_pair, nd, mk_slice):
    a, b = nsim_pair(queues=8)
    for d in (a, b):
        cmd(["ethtool", "-L", d.ifname, "combined", "2"])
    s1 = mk_slice(b, 2, 1, mac=MAC1, name="qmsl1")
    s2 = mk_slice(b, 2, 1, mac=MAC2, name="qmsl2")
    for name in ("qmsl1", "qmsl2"):
        cmd(["sysctl", "-qw", f"net.ipv6.conf.{name}.disable_ipv6=1"])
        cmd(["ip", "link", "set", name, "up"])
    rx1 = [q.parent_id for q in s1.queues_of("rx")]
    rx2 = [q.parent_id for q in s2.queues_of("rx")]
    assert rx1 == [2, 3] and rx2 == [4, 5]

    n1 = send_udp_flows(a.ifname, MAC1, flows=64)
    n2 = send_frames(a.ifname, MAC2, 40)
    n0 = send_frames(a.ifname, dev_mac(b.ifname), 30)
    total = n1 + n2 + n0

    def received():
        st = nsim_state(b)
        got = {i: int(st[("rx", i)]["packets"]) for i in range(8)}
        return got if sum(got.values()) >= total else None

    got = wait_for(received, what="b to receive every frame")
    assert sum(got[i] for i in rx1) == n1, got
    assert sum(got[i] for i in rx2) == n2, got
    assert got[0] + got[1] == n0, got
    assert sum(got[i] for i in (6, 7)) == 0, got
    # RSS spreads the 64 flows over both of the slice's queues
    assert all(got[i] > 0 for i in rx1), got

    # the slices' own qstats are those queues, seen from the slice
    nf = ynl.netdev_family()
    q1 = ynl.qstats_by_queue(nf, s1.ifindex)
    assert [q1[("rx", i)]["rx-packets"] for i in (0, 1)] == [got[2], got[3]]
    assert ynl.qstats_by_queue(nf, s2.ifindex)[("rx", 0)]["rx-packets"] + \
        ynl.qstats_by_queue(nf, s2.ifindex)[("rx", 1)]["rx-packets"] == n2
    # ... and the slice netdevice counts them as its own
    assert ip("-s link show qmsl1", json_out=True)[0]["stats64"]["rx"]["packets"] == n1

    # TX: a slice sends through its parent queue to the peer
    before = nsim_state(b)[("tx", 2)]["packets"]
    sent = send_frames("qmsl1", dev_mac(a.ifname), 25)
    wait_for(lambda: int(nsim_state(b)[("tx", 2)]["packets"]) - int(before) == sent,
             what="slice TX counted on parent tx 2")
    assert ynl.qstats_by_queue(nf, s1.ifindex)[("tx", 0)]["tx-packets"] == sent


def test_container_admin(parent, nd, mk_slice):
    s = mk_slice(parent, 1, 1, name="qmsl1", max_queues=3)
    other = mk_slice(parent, 1, 1, name="qmsl2")
    env = dict(os.environ, PYTHONPATH=SELFTESTS)
    child = subprocess.Popen(["unshare", "-Urn", sys.executable, "-m", "qmtest.container",
                              str(parent.ifindex), str(other.ifindex)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    try:
        # wait until the child is in its own netns, then give it the slice
        own = os.readlink("/proc/self/ns/net")
        wait_for(lambda: os.readlink(f"/proc/{child.pid}/ns/net") != own,
                 what="container netns")
        cmd(["ip", "link", "set", "qmsl1", "netns", str(child.pid)])
        out, err = child.communicate("qmsl1\n", timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    res = json.loads(out)

    assert res["links"] == ["lo", "qmsl1"]
    assert res["initial"] == [["rx", 0], ["tx", 0]]
    # nothing inside names a host device or netns: no lease on slice queues
    assert res["lease"] == []
    # grown to the quota of 3, and no further
    assert res["grow"][:2] == [{"ok": 1}, {"ok": 2}]
    assert res["grow"][2]["errno"] == "EDQUOT" and "quota" in res["grow"][2]["extack"]
    assert res["grow_tx"][:2] == [{"ok": 1}, {"ok": 2}]
    assert res["grow_tx"][2]["errno"] == "EDQUOT"
    assert res["after_grow"] == [["rx", 0], ["rx", 1], ["rx", 2], ["tx", 0], ["tx", 1],
                                 ["tx", 2]]
    assert res["free_busy"]["errno"] == "EBUSY" and "AF_XDP" in res["free_busy"]["extack"]
    assert res["free_static"]["errno"] == "EINVAL"
    # the parent and the other slice cannot be addressed from inside
    for key in ("parent_alloc", "parent_queues", "other_alloc", "other_get"):
        assert res[key].get("errno") == "ENODEV", (key, res[key])
    # no slice of a slice; deleting its own link is the admin's right
    assert res["nested_create"]["errno"] == "EOPNOTSUPP"
    assert "cannot be the parent" in res["nested_create"]["extack"]
    assert res["delete"] == {"ok": "qmsl1"}
    # nothing names the host: slice-get has no parent ifindex or parent
    # queue ids, the link no @ifN and no link-netnsid
    assert res["dump"] == [["qmsl1", None, [None] * 6]]
    assert res["get"]["parent_ifindex"] is None
    assert {q["parent_id"] for q in res["get"]["queues"]} == {None}
    assert res["iflink"] in (None, res["ifindex"]) and res["link_netnsid"] is None

    # the container deleted its slice and exited: the parent got its
    # queues back (the other slice keeps its own)
    wait_for(lambda: [x.name for x in nd.slices(parent.ifindex)] == ["qmsl2"],
             timeout=60, what="slice deleted from inside the container")
    assert owned(parent) == {"rx": [3], "tx": [3]}
    assert s.id != other.id


def test_ping_through_a_slice_in_a_netns(nsim_pair, nd, mk_slice, netns):
    """IP both ways between the peer and a slice in a container netns: the
    peer's ARP broadcast must reach the slice, its replies come back by MAC."""
    a, b = nsim_pair(queues=8)
    for d in (a, b):
        cmd(["ethtool", "-L", d.ifname, "combined", "2"])
    ns = netns()
    mk_slice(b, 1, 1, name="qmsl1", move_to=ns.name)
    cmd(["ip", "addr", "add", "192.0.2.1/24", "dev", a.ifname])
    cmd(["ip", "addr", "add", "192.0.2.2/24", "dev", "qmsl1"], ns=ns.name)
    cmd(["ip", "link", "set", "qmsl1", "up"], ns=ns.name)
    # the peer resolves the slice first (broadcast in), then the reverse
    cmd(["ping", "-c", "3", "-W", "5", "192.0.2.2"])
    cmd(["ip", "neigh", "flush", "dev", "qmsl1"], ns=ns.name)
    cmd(["ip", "neigh", "flush", "dev", a.ifname])
    cmd(["ping", "-c", "3", "-W", "5", "192.0.2.1"], ns=ns.name)
    # every frame for the slice landed on the parent queue behind its rx 0
    st = nsim_state(b)
    assert int(st[("rx", 2)]["packets"]) >= 6, st


@pytest.mark.debug_lane
def test_lifetime_parent_unregisters(parent, nd):
    mark = DmesgMark()
    ns_names = []
    for i in range(3):
        nd.slice_create(parent.ifindex, 1, 1, name=f"qmsl{i}")
        ns_names.append(f"qmsl{i}")
    cmd(["ip", "link", "set", "qmsl0", "up"])
    parent.remove()                        # netdevsim del_device
    assert not set(ns_names) & set(links())
    assert not parent.exists()
    assert mark.splats() == []


def test_lifetime_netns_move_keeps_queues_and_traffic(nsim_pair, nd, mk_slice, netns):
    a, b = nsim_pair(queues=8)
    for d in (a, b):
        cmd(["ethtool", "-L", d.ifname, "combined", "2"])
    s = mk_slice(b, 2, 1, mac=MAC1, name="qmsl1")
    ns = netns()
    cmd(["ip", "link", "set", "qmsl1", "netns", ns.name])
    cmd(["ip", "link", "set", "qmsl1", "up"], ns=ns.name)
    with netdev(ns.name) as inner:
        moved = inner.slice("qmsl1")
        # the parent is named in its own netns only
        assert [(q.type, q.id, q.parent_id) for q in moved.queues] == \
            [(q.type, q.id, None) for q in s.queues]
        assert moved.parent_ifindex is None
        qs = inner.queues("qmsl1")
        assert [(q.type, q.id, q.lease) for q in qs] == [("rx", 0, None), ("rx", 1, None),
                                                          ("tx", 0, None)]
    # from the parent's side it now lives elsewhere, and the parent queues'
    # lease names the slice queue with the slice's netns id
    seen = nd.slice_by_id(b.ifindex, s.id)
    assert seen.netns_id is not None and seen.queues == s.queues
    pq = {(q.type, q.id): q.lease for q in nd.queues(b.ifindex)}
    assert (pq[("rx", 3)].id, pq[("rx", 3)].netns_id) == (1, seen.netns_id)
    n = send_udp_flows(a.ifname, MAC1, flows=16)
    wait_for(lambda: sum(int(nsim_state(b)[("rx", i)]["packets"]) for i in (2, 3)) == n,
             what="traffic to the moved slice")
    stats = ip("-s link show qmsl1", ns=ns.name, json_out=True)
    assert stats[0]["stats64"]["rx"]["packets"] == n


@pytest.mark.debug_lane
def test_lifetime_netns_deleted(parent, nd, netns):
    mark = DmesgMark()
    ns = netns()
    nd.slice_create(parent.ifindex, 2, 2, name="qmsl1", move_to=ns.name)
    assert "qmsl1" in links(ns.name)
    assert owned(parent) == {"rx": [2, 3], "tx": [2, 3]}
    ns.remove()
    wait_for(lambda: no_slices_left(nd, parent), timeout=60,
             what="slice destroyed with its netns")
    assert queue_ids(nd, parent) == {"rx": [0, 1], "tx": [0, 1]}
    assert mark.splats() == []


@pytest.mark.debug_lane
def test_lifetime_explicit_delete_both_sides(parent, nd, netns):
    mark = DmesgMark()
    ns = netns()
    a = nd.slice_create(parent.ifindex, 1, 1, name="qmsl1", move_to=ns.name)
    nd.slice_create(parent.ifindex, 1, 1, name="qmsl2", move_to=ns.name)
    # parent side: by parent and id, though the slice lives in another netns
    gone = nd.slice_delete(parent=parent.ifindex, slice_id=a.id)
    assert gone.name == "qmsl1" and links(ns.name) == ["lo", "qmsl2"]
    # slice side: ip link del inside the netns
    cmd(["ip", "link", "del", "qmsl2"], ns=ns.name)
    assert links(ns.name) == ["lo"]
    assert no_slices_left(nd, parent)
    expect_refusal(lambda: nd.slice_delete(parent=parent.ifindex, slice_id=a.id),
                   errno.ENOENT, nd=nd, dev=parent, extack_has="has no slice")
    assert mark.splats() == []


def test_refusals_leave_nothing_behind(parent, nd, mk_slice):
    ifx = parent.ifindex
    mk_slice(parent, 1, 1, name="qmsl0")

    def refuse(code, has="", parent_dev=ifx, rx=1, tx=1, **kw):
        return expect_refusal(lambda: nd.slice_create(parent_dev, rx, tx, **kw), code, nd=nd,
                              dev=None, extack_has=has,
                              snap=lambda: full_snapshot(nd, parent))

    refuse(errno.ENODEV, "no such parent", parent_dev=99999)
    refuse(errno.ERANGE, "", rx=0)                          # the policy's range
    refuse(errno.EINVAL, "exceed the quota", rx=3, max_queues=2)
    # quota over what the parent could ever give
    refuse(errno.ERANGE, "exceeds the 8 rx queues", max_queues=9)
    refuse(errno.EEXIST, name="qmsl0")
    refuse(errno.EEXIST, name=parent.ifname)
    # (a multicast MAC is refused by qctl itself, and by the kernel in
    # qmgmt_hardening.py's slice_mac_policy)
    # more queues than the hardware pool has left (5 rx free): the queues
    # taken before the pool ran dry are given back
    refuse(errno.ENOSPC, "in use", rx=6)
    refuse(errno.EBUSY, "already in use", parent_ids=[("rx", 0), ("tx", 5)])
    # a slice is no parent
    refuse(errno.EOPNOTSUPP, "cannot be the parent", parent_dev=nd.resolve("qmsl0"))
    # a device whose driver has no slice ops
    cmd(["ip", "link", "add", "qmdummy0", "type", "dummy"])
    try:
        refuse(errno.EOPNOTSUPP, "does not support slices",
               parent_dev=nd.resolve("qmdummy0"))
    finally:
        cmd(["ip", "link", "del", "qmdummy0"])
    # deleting or getting a device that is no slice
    expect_refusal(lambda: nd.slice_delete(parent.ifname),
                   errno.EINVAL, nd=nd, dev=parent, extack_has="not a slice")
    expect_refusal(lambda: nd.client.do("slice-get", {"parent-ifindex": ifx}),
                   errno.EINVAL, nd=nd, dev=parent, extack_has="missing attribute")


@pytest.mark.debug_lane
@pytest.mark.parametrize("step", [1, 2])
def test_fault_injection_rolls_back(parent, nd, step):
    mark = DmesgMark()
    before = full_snapshot(nd, parent)
    parent.debugfs_write("queues/fail_slice_step", str(step))
    e = expect_refusal(lambda: nd.slice_create(parent.ifindex, 2, 2, name="qmsl1"),
                       errno.EIO, nd=nd, dev=None, extack_has="injected")
    assert ("initialising" if step == 1 else "steering") in e.extack
    assert full_snapshot(nd, parent) == before
    assert "qmsl1" not in links()
    assert mark.splats() == []
    # one shot: the next create works and takes the same queues
    s = nd.slice_create(parent.ifindex, 2, 2, name="qmsl1")
    assert [q.parent_id for q in s.queues_of("rx")] == [2, 3]
    nd.slice_delete("qmsl1")


def test_notifications(parent, nd):
    col = EventCollector(
        lambda name, a: (name, a["name"], a["parent-ifindex"], len(a.get("queue", [])))
        if name.startswith("slice-") else None, 2)
    nd.slice_create(parent.ifindex, 2, 1, name="qmsl1")
    nd.slice_delete("qmsl1")
    assert col.wait() == [("slice-add-ntf", "qmsl1", parent.ifindex, 3),
                      ("slice-del-ntf", "qmsl1", parent.ifindex, 3)]


def test_interop_with_kernel_ynl(parent, nd):
    """The tree's ynl creates a slice through the rt-link spec and reads it
    through the netdev spec; qctl and ynl see each other's slices."""
    rtnl = ynl.cli("rt-link") + ["--output-json"]
    cli = ynl.cli() + ["--output-json"]
    cmd(rtnl + ["--do", "newlink", "--create", "--excl", "--json",
                json.dumps({"ifname": "qmsl1", "link": parent.ifindex,
                            "linkinfo": {"kind": "slice",
                                         "data": {"rx-queues": 2, "tx-queues": 1}}})])
    made = nd.slice("qmsl1")
    assert made.rx_queues == 2 and made.max_queues == 2                 # qctl sees it
    r = cmd(rtnl + ["--do", "getlink", "--json", json.dumps({"ifname": "qmsl1"})])
    info = json.loads(r.stdout)["linkinfo"]
    assert info["kind"] == "slice" and info["data"] == {"rx-queues": 2, "tx-queues": 1}
    s = nd.slice_create(parent.ifindex, 1, 1, name="qmsl2")             # ynl sees qctl's
    r = cmd(cli + ["--dump", "slice-get", "--json",
                   json.dumps({"parent-ifindex": parent.ifindex})])
    assert sorted(x["name"] for x in json.loads(r.stdout)) == ["qmsl1", "qmsl2"]
    cmd(["ip", "link", "set", "qmsl1", "up"])
    r = cmd(cli + ["--do", "queue-get", "--json",
                   json.dumps({"ifindex": parent.ifindex, "type": "rx", "id": 3})])
    assert json.loads(r.stdout)["lease"] == {"ifindex": made.ifindex,
                                             "queue": {"id": 1, "type": "rx"}}
    for ifindex in (made.ifindex, s.ifindex):
        cmd(rtnl + ["--do", "dellink", "--json", json.dumps({"ifi-index": ifindex})])
    assert no_slices_left(nd, parent)

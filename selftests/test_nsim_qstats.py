"""netdevsim reports real per-queue counters (patch 0003).

Frames pinned to one TX queue of the sender must show up on exactly that TX
queue of the sender and the same-numbered RX queue of the peer, and the
per-queue counters must add up to the rtnl link stats.  Upstream 7.3
netdevsim reports everything on queue 0 ("random fakery"), so this fails
on an unpatched kernel.
"""
from __future__ import annotations

from qmtest import ynl
from qmtest.traffic import dev_mac, pin_tx_queue, send_frames
from qmtest.utils import ip

ETH_HLEN = 14


def test_counters_follow_the_queue(nsim_pair, defer):
    a, b = nsim_pair(queues=4)
    nf = ynl.netdev_family()
    sent = {0: 7, 2: 11, 3: 5}
    for q, n in sent.items():
        pin_tx_queue(a.ifname, q)
        assert send_frames(a.ifname, dev_mac(b.ifname), n, size=100) == n

    def settled():
        st = ynl.qstats_by_queue(nf, b.ifindex)
        return st if sum(st[("rx", q)]["rx-packets"] for q in range(4)) >= 23 else None

    from qmtest.utils import wait_for
    rx = wait_for(settled, what="peer RX counters")
    tx = ynl.qstats_by_queue(nf, a.ifindex)
    for q in range(4):
        want = sent.get(q, 0)
        assert tx[("tx", q)]["tx-packets"] == want, f"tx queue {q}"
        assert tx[("tx", q)]["tx-bytes"] == want * 100, f"tx queue {q}"
        assert rx[("rx", q)]["rx-packets"] == want, f"rx queue {q}"
        # RX bytes exclude the Ethernet header, as netdevsim's rtnl stats
        # (counted after eth_type_trans()) always have
        assert rx[("rx", q)]["rx-bytes"] == want * (100 - ETH_HLEN), f"rx queue {q}"


def test_qstats_add_up_to_rtnl_stats(nsim_pair):
    a, b = nsim_pair(queues=3)
    nf = ynl.netdev_family()
    pin_tx_queue(a.ifname, 1)
    send_frames(a.ifname, dev_mac(b.ifname), 9)
    for dev in (a, b):
        link = ip(f"-s link show dev {dev.ifname}", json_out=True)[0]["stats64"]
        tot = ynl.qstats_dev(nf, dev.ifindex)
        assert tot["tx-packets"] == link["tx"]["packets"]
        assert tot["rx-packets"] == link["rx"]["packets"]
        assert tot["tx-bytes"] == link["tx"]["bytes"]


def test_history_survives_channel_shrink(nsim_pair):
    """Counts of a queue that goes away move into the base stats."""
    a, b = nsim_pair(queues=4)
    nf = ynl.netdev_family()
    pin_tx_queue(a.ifname, 3)
    send_frames(a.ifname, dev_mac(b.ifname), 6)
    from qmtest.utils import cmd
    cmd(["ethtool", "-L", a.ifname, "combined", "2"])
    per_q = ynl.qstats_by_queue(nf, a.ifindex)
    assert ("tx", 3) not in per_q
    assert ynl.qstats_dev(nf, a.ifindex)["tx-packets"] == 6

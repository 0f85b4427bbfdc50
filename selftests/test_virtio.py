"""qctl on a real driver: virtio-net in the VM (run-in-vm.sh --suite virtio).

The kernel-facing checks of queue allocation on a NIC are upstream style in
the series (drivers/net/hw/queue_alloc.py); these test qctl's library on the
same NICs: Netdev.alloc/free, the kernel's refusal surfacing as KernelError,
and qctl.xsk (libxdp by ctypes) moving real frames in zero-copy mode on an
allocated queue.
"""
from __future__ import annotations

import errno
import json
import time

import pytest
from qctl import Netdev
from qctl.errors import KernelError
from qctl.xsk import XskSocket

from qmtest.defer import DeferStack
from qmtest.utils import cmd
from qmtest.vnet import Rss, VNet, peer_mac, udp4_frame, udp4_payload
from qmtest.traffic import dev_mac

pytestmark = pytest.mark.virtio

PORT = 9000
FLOWS = 32
ROUNDS = 4
# a Python process start under TCG takes seconds, many more on a busy host
CLI_TIMEOUT = 240


@pytest.fixture
def vnet() -> VNet:
    v = VNet.from_env()
    if v is None:
        pytest.fail("no virtio-net test bed (scripts/vm-run.sh --vnet, virtio-env.sh)")
    return v


def steer(v: VNet, weights: list[int]) -> None:
    cmd(["ethtool", "-X", v.ifname, "weight"] + [str(w) for w in weights])


def alloc_steered(nd: Netdev, v: VNet, defer: DeferStack) -> int:
    """A queue pair from qctl, and a third of the RSS table pointing at it."""
    n = v.static_rx()
    # last, once the queues are gone: the driver's own table again, so that
    # ethtool -L may re-spread it (the upstream NIC tests need that)
    defer(cmd, ["ethtool", "-X", v.ifname, "default"])
    rxq = nd.alloc(v.ifname, "rx").id
    defer(nd.free, v.ifname, "rx", rxq)
    txq = nd.alloc(v.ifname, "tx").id
    defer(nd.free, v.ifname, "tx", txq)
    assert rxq == txq == n, "virtio-net hands out the first spare pair"
    defer(steer, v, [1] * n + [0] * (rxq + 1 - n))
    steer(v, [1] * n + [0] * (rxq - n) + [n // 2 or 1])
    return rxq


def wait_released(nd: Netdev, v: VNet, rxq: int) -> None:
    """The pool leaves the queue from a work item after the socket closes."""
    for _ in range(50):
        q = nd.client.do("queue-get", {"ifindex": nd.resolve(v.ifname), "type": "rx",
                                       "id": rxq})
        if "xsk" not in q:
            return
        time.sleep(0.1)


def test_xsk_zerocopy_on_allocated_queue(nd: Netdev, vnet: VNet, defer: DeferStack) -> None:
    rxq = alloc_steered(nd, vnet, defer)
    rss = Rss.read(vnet.ifname)
    socks = vnet.flows(FLOWS)
    for s in socks:
        defer(s.close)
    ports = [s.getsockname()[1] for s in socks]
    steered = {p for p in ports if rss.queue(vnet.peer_addr, vnet.addr, p, PORT) == rxq}
    assert 0 < len(steered) < FLOWS, f"{len(steered)} of {FLOWS} flows on queue {rxq}"

    xsk = XskSocket(vnet.ifname, rxq, mode="zerocopy")
    defer(wait_released, nd, vnet, rxq)
    defer(xsk.close)
    assert xsk.mode == "zerocopy"
    assert "xsk" in nd.client.do("queue-get", {"ifindex": nd.resolve(vnet.ifname),
                                                "type": "rx", "id": rxq})

    # ARP first, then let NAPI post the fill ring to the device
    for s in socks:
        s.sendto(b"warm", (vnet.addr, PORT))
    xsk.recv(len(steered), 2.0)
    time.sleep(0.5)
    before = vnet.rx_per_queue(nd)
    want = set()
    for r in range(ROUNDS):
        for s, p in zip(socks, ports, strict=True):
            msg = f"qmgmt {p} {r}".encode()
            s.sendto(msg, (vnet.addr, PORT))
            if p in steered:
                want.add((p, msg))
    got = {udp4_payload(f.data) for f in xsk.recv(len(want), 10.0)}
    got |= {udp4_payload(f.data) for f in xsk.recv(FLOWS, 0.5)}  # nothing extra
    assert got == want, "the socket holds exactly the steered flows' frames"
    time.sleep(0.5)
    after = vnet.rx_per_queue(nd)
    others = sum(after[q] - before.get(q, 0) for q in after if q != rxq)
    assert others == (FLOWS - len(steered)) * ROUNDS, "the rest, none lost"

    # free is refused while the socket is bound: the kernel's errno and text
    with pytest.raises(KernelError) as ei:
        nd.free(vnet.ifname, "rx", rxq)
    assert ei.value.code == errno.EBUSY
    assert "AF_XDP" in ei.value.extack

    # TX from the socket reaches NIC A
    rx = vnet.peer_socket()
    defer(rx.close)
    rx.bind((vnet.peer_addr, PORT + 1))
    rx.settimeout(5)
    frame = udp4_frame(dev_mac(vnet.ifname), peer_mac(vnet), vnet.addr, vnet.peer_addr,
                       PORT + 2, PORT + 1, b"qmgmt xsk tx")
    assert xsk.send([frame]) == 1
    data, src = rx.recvfrom(64)
    assert (data, src) == (b"qmgmt xsk tx", (vnet.addr, PORT + 2))


def free_if_present(nd: Netdev, v: VNet, qtype: str, qid: int) -> None:
    """Cleanup after a test that frees the queue itself, unless it failed first."""
    try:
        nd.free(v.ifname, qtype, qid)
    except KernelError as e:
        if e.code not in (errno.ENOENT, errno.EINVAL):
            raise


def test_alloc_free_cli_json(nd: Netdev, vnet: VNet, defer: DeferStack) -> None:
    """qctl's CLI on the real driver: alloc/free round trip, --json."""
    q = json.loads(cmd(["qctl", "--json", "alloc", vnet.ifname, "--type", "rx"],
                       timeout=CLI_TIMEOUT).stdout)
    # in-process: a cleanup must not cost a Python start under TCG
    defer(free_if_present, nd, vnet, "rx", q["id"])
    assert q["id"] == vnet.static_rx() and q["type"] == "rx"
    shown = json.loads(cmd(["qctl", "--json", "queues", vnet.ifname],
                           timeout=CLI_TIMEOUT).stdout)
    assert {"type": "rx", "id": q["id"], "origin": "dynamic"}.items() <= \
        next(e for e in shown if e["type"] == "rx" and e["id"] == q["id"]).items()
    cmd(["qctl", "free", vnet.ifname, str(q["id"]), "--type", "rx"], timeout=CLI_TIMEOUT)
    # the kernel's refusal, verbatim, and a non-zero exit
    res = cmd(["qctl", "free", vnet.ifname, "0", "--type", "rx"], check=False,
              timeout=CLI_TIMEOUT)
    assert res.returncode != 0 and "EINVAL" in res.stderr


def test_slice_refused_with_kernel_text(nd: Netdev, vnet: VNet) -> None:
    with pytest.raises(KernelError) as ei:
        nd.slice_create(vnet.ifname, rx=1, tx=1)
    assert ei.value.code == errno.EOPNOTSUPP
    assert "ndo_slice_steer" in ei.value.extack
    assert nd.slices(vnet.ifname) == []

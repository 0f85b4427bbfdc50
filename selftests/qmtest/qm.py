"""qmgmt-specific helpers: the qctl client under test, state snapshots."""
from __future__ import annotations

import errno
from typing import Any, Callable

import pytest

from qctl import KernelError, Netdev

from .nsim import NetdevSim
from .utils import ip


def netdev(ns: str | None = None) -> Netdev:
    return Netdev(netns=ns)


def queue_ids(nd: Netdev, dev: NetdevSim) -> dict[str, list[int]]:
    res: dict[str, list[int]] = {"rx": [], "tx": []}
    for q in nd.queues(dev.ifindex):
        res[q.type].append(q.id)
    return res


def dynamic_ids(nd: Netdev, dev: NetdevSim) -> dict[str, list[int]]:
    res: dict[str, list[int]] = {"rx": [], "tx": []}
    for q in nd.queues(dev.ifindex):
        if q.dynamic:
            res[q.type].append(q.id)
    return res


def snapshot(nd: Netdev, dev: NetdevSim) -> dict[str, Any]:
    """Everything a refusal must leave untouched."""
    return {
        "queues": [q.to_json() for q in nd.queues(dev.ifindex)],
        "sysfs": dev.sysfs_queues(),
        "ethtool": dev.ethtool_channels(),
        "nsim": dev.debugfs_read("queues/state").splitlines(),
    }


def expect_refusal(fn: Callable[[], Any], code: int, *, nd: Netdev,
                   dev: NetdevSim | None, extack_has: str = "",
                   snap: Callable[[], Any] | None = None) -> KernelError:
    """fn() must fail with errno `code` and an extack; state must not change
    (snapshot(nd, dev), or `snap()` when given)."""
    if snap is None and dev is not None:
        snap = lambda: snapshot(nd, dev)  # noqa: E731
    before = snap() if snap else None
    with pytest.raises(KernelError) as ei:
        fn()
    e = ei.value
    assert e.code == code, f"expected {errno.errorcode[code]}, got {e.errno_name}: {e}"
    assert e.extack, f"no extack message for {e.errno_name}"
    assert extack_has in e.extack, f"extack '{e.extack}' lacks '{extack_has}'"
    if snap:
        assert snap() == before
    return e


def nsim_state(dev: NetdevSim) -> dict[tuple[str, int], dict[str, str]]:
    """Parse ports/0/queues/state of netdevsim: 'rx 3 live dynamic owned
    napi=up packets=0 bytes=0' -> {("rx", 3): {"state": "live", ...}}."""
    res: dict[tuple[str, int], dict[str, str]] = {}
    for line in dev.debugfs_read("queues/state").splitlines():
        f = line.split()
        entry = {"state": f[2], "origin": f[3]}
        for kv in f[4:]:
            k, eq, v = kv.partition("=")
            entry[k] = v if eq else "yes"        # bare words are flags: owned
        res[(f[0], int(f[1]))] = entry
    return res


def link_info(ifname: str, ns: str | None = None) -> dict[str, Any]:
    """`ip -j -d link show dev IFNAME`."""
    return ip(f"-d link show dev {ifname}", ns=ns, json_out=True)[0]


def ip_link_numqueues(dev: NetdevSim) -> tuple[int, int]:
    info = link_info(dev.ifname, dev.ns)
    return int(info["num_rx_queues"]), int(info["num_tx_queues"])


class EventCollector:
    """Listen on the netdev mgmt group in a thread, from before the test
    acts, keeping what `pick(name, attrs)` maps to a non-None value, until
    `count` were kept (or 60 s pass without any event)."""

    def __init__(self, pick: Callable[[str, dict[str, Any]], Any], count: int) -> None:
        import threading
        self.pick, self.count = pick, count
        self.events: list[Any] = []
        self._ready = threading.Event()
        self._t = threading.Thread(target=self._listen)
        self._t.start()
        self._ready.wait(5)

    def _listen(self) -> None:
        with netdev() as mon:
            mon.client.subscribe("mgmt")
            self._ready.set()
            for name, attrs in mon.client.notifications(timeout=60):
                ev = self.pick(name, attrs)
                if ev is not None:
                    self.events.append(ev)
                if len(self.events) == self.count:
                    return

    def wait(self, timeout: float = 120) -> list[Any]:
        self._t.join(timeout)
        return self.events

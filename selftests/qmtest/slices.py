"""Helpers for the slice selftests: link lists, snapshots, dmesg marks."""
from __future__ import annotations

from typing import Any

from qctl import Netdev

from .nsim import NetdevSim
from .qm import nsim_state, snapshot
from .utils import cmd, ip


# Per-netns fallback tunnel devices the kernel creates on its own.
FALLBACK_DEVS = frozenset({"sit0", "tunl0", "ip6tnl0", "gre0", "ip_vti0", "ip6_vti0"})


def links(ns: str | None = None) -> list[str]:
    """Names of the netdevices in a netns, without the fallback tunnels."""
    return sorted(d["ifname"] for d in ip("link", ns=ns, json_out=True)
                  if d["ifname"] not in FALLBACK_DEVS)


def full_snapshot(nd: Netdev, dev: NetdevSim) -> dict[str, Any]:
    """A refused slice operation must leave all of this untouched."""
    return {**snapshot(nd, dev), "links": links(),
            "slices": [s.to_json() for s in nd.slices()]}


def owned(dev: NetdevSim) -> dict[str, list[int]]:
    """Parent queues netdevsim marks as owned by a slice."""
    res: dict[str, list[int]] = {"rx": [], "tx": []}
    for (t, i), e in nsim_state(dev).items():
        if "owned" in e:
            res[t].append(i)
    return res


class DmesgMark:
    """Kernel log lines printed after this point."""

    BAD = ("WARNING:", "BUG:", "refcount_t", "ref_tracker", "unregister_netdevice: waiting",
           "KASAN", "possible circular locking", "leaked")

    def __init__(self) -> None:
        self.start = len(self._lines())

    @staticmethod
    def _lines() -> list[str]:
        return cmd(["dmesg"]).stdout.splitlines()

    def new_lines(self) -> list[str]:
        return self._lines()[self.start:]

    def splats(self) -> list[str]:
        return [ln for ln in self.new_lines() if any(b in ln for b in self.BAD)]


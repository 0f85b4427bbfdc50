"""Named network namespaces (ip netns) for the selftests."""
from __future__ import annotations

import itertools
import os

from .utils import cmd

_ids = itertools.count(1)


class NetNS:
    """A named netns, deleted by remove()."""

    def __init__(self, prefix: str = "qm") -> None:
        self.name = f"{prefix}{os.getpid()}-{next(_ids)}"
        cmd(["ip", "netns", "add", self.name])
        cmd(["ip", "link", "set", "lo", "up"], ns=self.name)

    @property
    def path(self) -> str:
        return f"/run/netns/{self.name}"

    def remove(self) -> None:
        if os.path.exists(self.path):
            cmd(["ip", "netns", "del", self.name])

    def __str__(self) -> str:
        return self.name

"""pytest fixtures for the qmgmt selftests (run as root inside the VM)."""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Callable, Iterator

import pytest

if TYPE_CHECKING:
    from qctl import Netdev

sys.path.insert(0, os.path.dirname(__file__))

from qmtest.defer import DeferStack  # noqa: E402
from qmtest.netns import NetNS  # noqa: E402
from qmtest.nsim import NetdevSim  # noqa: E402
from qmtest.qm import netdev  # noqa: E402
from qmtest.utils import cmd  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: long-running (skipped on the debug lane)")
    if os.geteuid() != 0:
        raise pytest.UsageError("the qmgmt selftests run as root inside the VM "
                                "(scripts/run-tests.sh boots it)")


@pytest.fixture
def defer() -> Iterator[DeferStack]:
    stack = DeferStack()
    yield stack
    stack.run()


@pytest.fixture
def nsim(defer: DeferStack) -> Callable[..., NetdevSim]:
    """Factory: nsim(queues=N, ns=None) -> NetdevSim, removed at teardown."""

    def make(queues: int = 4, ns: str | None = None) -> NetdevSim:
        dev = NetdevSim(queues=queues, ns=ns)
        defer(dev.remove)
        return dev

    return make


@pytest.fixture
def netns(defer: DeferStack) -> Callable[[], NetNS]:
    def make() -> NetNS:
        ns = NetNS()
        defer(ns.remove)
        return ns

    return make


@pytest.fixture
def nsim_pair(nsim: Callable[..., NetdevSim], defer: DeferStack
              ) -> Callable[..., tuple[NetdevSim, NetdevSim]]:
    """Factory: two netdevsim ports linked back to back, both up."""

    def make(queues: int = 4) -> tuple[NetdevSim, NetdevSim]:
        a, b = nsim(queues), nsim(queues)
        a.link(b)
        def unlink() -> None:
            if a.exists() and b.exists():
                a.unlink()
        defer(unlink)
        a.up()
        b.up()
        return a, b

    return make


@pytest.fixture
def nd() -> Iterator[Netdev]:
    """qctl's library in the initial netns: the client under test."""
    n = netdev()
    yield n
    n.close()


@pytest.fixture
def dev2(nsim: Callable[..., NetdevSim]) -> NetdevSim:
    """A running netdevsim port: 8 hardware queues, 2 active (static), so
    ids 2..7 of each type are free for queue-create and slices."""
    d = nsim(queues=8)
    d.up()
    cmd(["ethtool", "-L", d.ifname, "combined", "2"])
    return d

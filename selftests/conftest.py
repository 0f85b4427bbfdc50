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


# netdevsim ports of 7.3 get a real NIC's default qdisc, mq with a
# pfifo_fast (NOLOCK) child per TX queue, so every traffic test runs that
# path.  The qdisc lane (run-in-vm.sh --suite qdisc) runs them again with
# QMGMT_CHILD_QDISC=pfifo: mq with locked children, the other branch of
# the qdisc code a freed TX queue is drained through.
CHILD_QDISC = os.environ.get("QMGMT_CHILD_QDISC", "")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: long-running (skipped on the debug lane)")
    config.addinivalue_line("markers", "traffic: sends frames between linked ports "
                                       "(uses nsim_pair); the qdisc lane reruns these")
    config.addinivalue_line("markers", "no_qdisc: the frames under test never pass a "
                                       "qdisc (AF_XDP): the qdisc lane skips it")
    config.addinivalue_line("markers", "virtio: needs the VM's virtio-net NICs "
                                       "(run-in-vm.sh --suite virtio)")
    config.addinivalue_line("markers", "debug_lane: the kernel-facing core the debug lane "
                                       "runs (queue state changes and rollback, AF_XDP, "
                                       "every way a slice goes away)")
    config.addinivalue_line("markers", "podman: needs the sys lane's kernel (cgroups, "
                                       "seccomp) for podman (run-in-vm.sh --suite podman)")
    if os.geteuid() != 0:
        raise pytest.UsageError("the qmgmt selftests run as root inside the VM "
                                "(scripts/run-tests.sh boots it)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if ("nsim_pair" in getattr(item, "fixturenames", ())
                and not item.get_closest_marker("no_qdisc")):
            item.add_marker(pytest.mark.traffic)
    # The virtio tests need the NICs of vm-run.sh --vnet: only the virtio
    # suite (run-in-vm.sh, QM_VNET_REQUIRED=1) runs them; elsewhere they
    # are deselected rather than skipped.
    # Likewise the podman tests: only the podman suite (QM_PODMAN=1) runs them.
    for marker, env in (("virtio", "QM_VNET_REQUIRED"), ("podman", "QM_PODMAN")):
        if os.environ.get(env):
            continue
        drop = [i for i in items if i.get_closest_marker(marker)]
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = [i for i in items if not i.get_closest_marker(marker)]


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
        if CHILD_QDISC:
            for dev in (a, b):
                cmd(["tc", "qdisc", "replace", "dev", dev.ifname, "root", "handle",
                     "1:", "mq"])
                for i in range(1, queues + 1):
                    cmd(["tc", "qdisc", "replace", "dev", dev.ifname, "parent",
                         f"1:{i:x}", CHILD_QDISC])
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

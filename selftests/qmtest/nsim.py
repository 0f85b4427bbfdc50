"""netdevsim devices driven through /sys/bus/netdevsim."""
from __future__ import annotations

import errno
import glob
import itertools
import os
import random

from .utils import cmd, read_file, wait_for, write_file

BUS = "/sys/bus/netdevsim"
DEBUGFS = "/sys/kernel/debug/netdevsim"

# Device ids are global to the bus; start somewhere random so a leftover
# device from a crashed run cannot collide with the next one.
_ids = itertools.count(random.randint(1000, 30000))


def ensure_loaded() -> None:
    if not os.path.isdir(BUS):
        cmd(["modprobe", "netdevsim"])
    if not os.path.ismount("/sys/kernel/debug"):
        cmd(["mount", "-t", "debugfs", "none", "/sys/kernel/debug"])


def sysfs_queues(ifname: str, ns: str | None = None) -> dict[str, list[int]]:
    """Queue indexes under /sys/class/net/IFNAME/queues, by type."""
    out = cmd(["ls", f"/sys/class/net/{ifname}/queues"], ns=ns).stdout.split()
    res: dict[str, list[int]] = {"rx": [], "tx": []}
    for name in out:
        kind, idx = name.split("-")
        res[kind].append(int(idx))
    return {k: sorted(v) for k, v in res.items()}


class NetdevSim:
    """One netdevsim bus device with a single port (netdev).

    `queues` sets num_rx_queues = num_tx_queues = real counts at creation.
    """

    def __init__(self, queues: int = 1, ns: str | None = None) -> None:
        ensure_loaded()
        self.dev_id = next(_ids)
        self.queues = queues
        write_file(f"{BUS}/new_device", f"{self.dev_id} 1 {queues}")
        self.sysdir = f"{BUS}/devices/netdevsim{self.dev_id}"
        wait_for(self._find_ifname, what=f"netdevsim{self.dev_id} netdev")
        # udev in the guest renames ports (eniXnpY); wait until it is done
        cmd(["udevadm", "settle", "--timeout=10"], check=False)
        self.ifname: str = wait_for(self._find_ifname, what=f"netdevsim{self.dev_id} netdev")
        self.ns: str | None = None
        if ns:
            self.move(ns)
        self.ifindex = self._read_ifindex()

    def _find_ifname(self) -> str | None:
        names = glob.glob(f"{self.sysdir}/net/*")
        return os.path.basename(names[0]) if names else None

    def _read_ifindex(self) -> int:
        out = cmd(["cat", f"/sys/class/net/{self.ifname}/ifindex"], ns=self.ns).stdout
        return int(out)

    @property
    def debugfs(self) -> str:
        return f"{DEBUGFS}/netdevsim{self.dev_id}/ports/0"

    def move(self, ns: str) -> None:
        cmd(["ip", "link", "set", self.ifname, "netns", ns], ns=self.ns)
        self.ns = ns
        self.ifindex = self._read_ifindex()

    def up(self) -> None:
        """Bring the port up with IPv6 off, so the stack sends nothing on
        its own (router solicitations would land on random queues)."""
        cmd(["sysctl", "-qw", f"net.ipv6.conf.{self.ifname}.disable_ipv6=1"], ns=self.ns)
        cmd(["ip", "link", "set", self.ifname, "up"], ns=self.ns)

    def exists(self) -> bool:
        return os.path.isdir(self.sysdir)

    def remove(self) -> None:
        if not self.exists():
            return
        try:
            write_file(f"{BUS}/del_device", str(self.dev_id))
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise

    def nsfd_path(self) -> str:
        return f"/run/netns/{self.ns}" if self.ns else "/proc/self/ns/net"

    def link(self, peer: "NetdevSim") -> None:
        """Connect two ports back to back (link_device, Linux 6.9+)."""
        fds = [os.open(d.nsfd_path(), os.O_RDONLY) for d in (self, peer)]
        try:
            write_file(f"{BUS}/link_device",
                       f"{fds[0]}:{self.ifindex} {fds[1]}:{peer.ifindex}")
        finally:
            for fd in fds:
                os.close(fd)

    def unlink(self) -> None:
        fd = os.open(self.nsfd_path(), os.O_RDONLY)
        try:
            write_file(f"{BUS}/unlink_device", f"{fd}:{self.ifindex}")
        finally:
            os.close(fd)

    def sysfs_queues(self) -> dict[str, list[int]]:
        """Queue indexes under /sys/class/net/DEV/queues, by type."""
        return sysfs_queues(self.ifname, self.ns)

    def ethtool_channels(self) -> dict[str, int]:
        out = cmd(["ethtool", "-l", self.ifname], ns=self.ns).stdout
        cur = out.split("Current hardware settings:")[1]
        res: dict[str, int] = {}
        for line in cur.splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                v = v.strip()
                res[k.strip().lower()] = int(v) if v.isdigit() else 0
        return res

    def debugfs_read(self, name: str) -> str:
        return read_file(f"{self.debugfs}/{name}")

    def debugfs_write(self, name: str, val: str) -> None:
        write_file(f"{self.debugfs}/{name}", val)

    def __repr__(self) -> str:
        return f"NetdevSim({self.ifname}@{self.ns or 'init'}, ifindex {self.ifindex})"

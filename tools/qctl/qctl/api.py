"""The importable qctl API: queues of a device, allocated and freed by id,
and slices of a device.

Everything the CLI does goes through here, so tests and orchestrators (a
CNI plugin, a device plugin) get the same behaviour without the CLI.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, Iterator

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from .client import GenlClient
from .errors import DeviceError, QctlError
from .slices import Slice, parse_mac
from .spec import FamilySpec

QUEUE_TYPES = ("rx", "tx")


@dataclass(frozen=True)
class Lease:
    """The queue at the other end of a slice mapping (queue-get's lease)."""

    ifindex: int
    type: str
    id: int
    netns_id: int | None = None

    @classmethod
    def from_attrs(cls, a: dict[str, Any]) -> "Lease":
        q = a.get("queue", {})
        return cls(ifindex=int(a["ifindex"]), type=str(q.get("type", "")),
                   id=int(q.get("id", -1)), netns_id=a.get("netns-id"))


@dataclass(frozen=True)
class Queue:
    """One queue as queue-get reports it."""

    ifindex: int
    type: str
    id: int
    napi_id: int | None = None
    dynamic: bool = False
    lease: Lease | None = None

    @property
    def origin(self) -> str:
        return "dynamic" if self.dynamic else "static"

    @classmethod
    def from_attrs(cls, a: dict[str, Any]) -> "Queue":
        lease = Lease.from_attrs(a["lease"]) if "lease" in a else None
        return cls(ifindex=int(a["ifindex"]), type=str(a["type"]), id=int(a["id"]),
                   napi_id=a.get("napi-id"), dynamic=bool(a.get("dynamic", False)),
                   lease=lease)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["origin"] = self.origin
        return d


@dataclass(frozen=True)
class Event:
    """A notification from the netdev family's mgmt group."""

    name: str
    attrs: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"event": self.name, **self.attrs}


@dataclass(frozen=True)
class Overview:
    """What `qctl show` draws: a device, its queues, its slices, and the
    names of the slices that live in the same netns (by ifindex)."""

    ifindex: int
    name: str
    queues: list[Queue]
    slices: list[Slice]
    names: dict[int, str]

    def to_json(self) -> dict[str, Any]:
        return {"ifindex": self.ifindex, "name": self.name,
                "queues": [q.to_json() for q in self.queues],
                "slices": [s.to_json() for s in self.slices]}


def check_type(qtype: str) -> str:
    if qtype not in QUEUE_TYPES:
        raise QctlError(f"queue type must be rx or tx, not '{qtype}'")
    return qtype


class Netdev:
    """Queue management for devices of one network namespace."""

    def __init__(self, netns: str | None = None, spec: FamilySpec | None = None,
                 client: GenlClient | None = None) -> None:
        self.netns = netns
        self.client = client or GenlClient(spec=spec, netns=netns)
        self._ipr: IPRoute | None = None

    def close(self) -> None:
        self.client.close()
        if self._ipr is not None:
            self._ipr.close()
            self._ipr = None

    def __enter__(self) -> "Netdev":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- devices -----------------------------------------------------------
    def _rtnl(self) -> IPRoute:
        if self._ipr is None:
            try:
                self._ipr = IPRoute(netns=self.netns) if self.netns else IPRoute()
            except OSError as e:
                raise DeviceError(f"cannot enter netns '{self.netns}': {e.strerror}") from e
        return self._ipr

    def resolve(self, dev: str | int) -> int:
        """ifindex of a device given by name or ifindex (as int or digits)."""
        if isinstance(dev, int) or (isinstance(dev, str) and dev.isdigit()):
            ifindex = int(dev)
            try:
                self._rtnl().get_links(ifindex)
            except NetlinkError:
                raise DeviceError(f"no device with ifindex {ifindex}"
                                  f"{self._where()}") from None
            return ifindex
        found = self._rtnl().link_lookup(ifname=dev)
        if not found:
            raise DeviceError(f"no device named '{dev}'{self._where()}")
        return int(found[0])

    def ifname(self, ifindex: int) -> str:
        try:
            link = self._rtnl().get_links(ifindex)[0]
        except NetlinkError:
            return str(ifindex)
        return str(link.get_attr("IFLA_IFNAME"))

    def _where(self) -> str:
        return f" in netns '{self.netns}'" if self.netns else ""

    # --- queues ------------------------------------------------------------
    def queues(self, dev: str | int) -> list[Queue]:
        """Every live queue of a device, rx first, ordered by id."""
        ifindex = self.resolve(dev)
        res = [Queue.from_attrs(a) for a in self.client.dump("queue-get", {"ifindex": ifindex})]
        return sorted(res, key=lambda q: (QUEUE_TYPES.index(q.type), q.id))

    def queue(self, dev: str | int, qtype: str, qid: int) -> Queue:
        ifindex = self.resolve(dev)
        a = self.client.do("queue-get", {"ifindex": ifindex, "type": check_type(qtype), "id": qid})
        return Queue.from_attrs(a)

    def alloc(self, dev: str | int, qtype: str, qid: int | None = None) -> Queue:
        """Ask the driver for one queue; it picks the id unless `qid` is given."""
        req: dict[str, Any] = {"ifindex": self.resolve(dev), "type": check_type(qtype)}
        if qid is not None:
            req["id"] = qid
        # queue-create is upstream's (leases); without a lease it allocates
        # only on a kernel that also has the qmgmt queue-destroy.
        self.client.require("queue-destroy", "queue-create without a lease")
        rsp = self.client.do("queue-create", req)
        return Queue(ifindex=int(req["ifindex"]), type=str(req["type"]), id=int(rsp["id"]),
                     dynamic=True)

    def free(self, dev: str | int, qtype: str, qid: int) -> Queue:
        """Release a queue from alloc(); returns the queue that went away."""
        ifindex = self.resolve(dev)
        self.client.do("queue-destroy", {"ifindex": ifindex, "type": check_type(qtype), "id": qid})
        return Queue(ifindex=ifindex, type=qtype, id=qid, dynamic=True)

    def qstats(self, dev: str | int, per_queue: bool = False) -> list[dict[str, Any]]:
        req: dict[str, Any] = {"ifindex": self.resolve(dev)}
        if per_queue:
            req["scope"] = ["queue"]
        return self.client.dump("qstats-get", req)

    # --- slices ------------------------------------------------------------
    def slice_create(self, parent: str | int, rx: int | None = None, tx: int | None = None,
                     name: str | None = None, mac: str | None = None,
                     max_queues: int | None = None,
                     parent_ids: list[tuple[str, int]] | None = None,
                     netns: str | None = None) -> Slice:
        """Create a slice of `parent` with `rx`/`tx` queues (driver-chosen ids)
        or the explicit parent queues `parent_ids`; move it to `netns` if given.

        If the move fails the slice is deleted again: nothing is left behind.
        """
        req: dict[str, Any] = {"parent-ifindex": self.resolve(parent)}
        if parent_ids:
            req["queue"] = [{"type": check_type(t), "parent-id": i} for t, i in parent_ids]
        else:
            if rx is None or tx is None:
                raise QctlError("give --rx and --tx (or explicit parent queues)")
            req["rx-queues"] = rx
            req["tx-queues"] = tx
        if name is not None:
            req["name"] = name
        if mac is not None:
            req["mac"] = parse_mac(mac)
        if max_queues is not None:
            req["max-queues"] = max_queues
        sl = Slice.from_attrs(self.client.do("slice-create", req))
        if netns is None:
            return sl
        try:
            self._move(sl.ifindex, netns)
        except QctlError:
            self.client.do("slice-delete", {"ifindex": sl.ifindex})
            raise
        return self.slice_by_id(sl.parent_ifindex, sl.id)

    def _move(self, ifindex: int, netns: str) -> None:
        try:
            self._rtnl().link("set", index=ifindex, net_ns_fd=netns)
        except (NetlinkError, OSError) as e:
            code = getattr(e, "code", None) or getattr(e, "errno", None)
            raise DeviceError(f"cannot move ifindex {ifindex} to netns '{netns}': "
                              f"{os.strerror(code) if code else e}") from None

    def slice_by_id(self, parent: str | int, slice_id: int) -> Slice:
        return Slice.from_attrs(self.client.do(
            "slice-get", {"parent-ifindex": self.resolve(parent), "id": slice_id}))

    def slice(self, dev: str | int) -> Slice:
        """The slice named by its netdevice (name or ifindex) in this netns."""
        return Slice.from_attrs(self.client.do("slice-get", {"ifindex": self.resolve(dev)}))

    def slices(self, parent: str | int | None = None) -> list[Slice]:
        """Slices of every parent here (or of one), and slices living here."""
        req = {"parent-ifindex": self.resolve(parent)} if parent is not None else {}
        res = [Slice.from_attrs(a) for a in self.client.dump("slice-get", req)]
        return sorted(res, key=lambda s: (s.parent_ifindex, s.id))

    def slice_delete(self, dev: str | int | None = None, parent: str | int | None = None,
                     slice_id: int | None = None) -> Slice:
        """Delete a slice named by its netdevice, or by parent and slice id;
        returns what it was."""
        if dev is not None:
            sl = self.slice(dev)
            self.client.do("slice-delete", {"ifindex": sl.ifindex})
            return sl
        if parent is None or slice_id is None:
            raise QctlError("name the slice, or give both its parent and its id")
        sl = self.slice_by_id(parent, slice_id)
        self.client.do("slice-delete", {"parent-ifindex": sl.parent_ifindex, "id": sl.id})
        return sl

    def overview(self, dev: str | int) -> "Overview":
        """A device with its queues and, if the kernel has slices, its slices."""
        ifindex = self.resolve(dev)
        sls = self.slices(ifindex) if self.client.kernel_has("slice-get") else []
        return Overview(ifindex=ifindex, name=self.ifname(ifindex),
                        queues=self.queues(ifindex), slices=sls,
                        names={s.ifindex: self.ifname(s.ifindex)
                               for s in sls if s.netns_id is None})

    # --- events ------------------------------------------------------------
    def monitor(self, timeout: float | None = None) -> Iterator[Event]:
        """Stream mgmt notifications (queue add/del, device changes, ...)."""
        self.client.subscribe("mgmt")
        for name, attrs in self.client.notifications(timeout=timeout):
            yield Event(name, attrs)

"""The importable qctl API: queues of a device, allocated and freed by id,
and slices of a device.

Everything the CLI does goes through here, so tests and orchestrators (a
CNI plugin, a device plugin) get the same behaviour without the CLI.
"""
from __future__ import annotations

import errno
import os
import socket
from collections.abc import Iterator
from typing import Any, Literal, NamedTuple

from .client import GenlClient
from .consts import QUEUE_TYPES, json_attrs
from .errors import DeviceError, KernelError, UsageError
from .netns import Netns
from .rtnl import RtnlSocket, SliceLink
from .slices import Slice, parse_mac
from .spec import FamilySpec


class Lease(NamedTuple):
    """The queue at the other end of a slice mapping (queue-get's lease)."""

    ifindex: int
    type: str
    id: int
    netns_id: int | None = None

    @classmethod
    def from_attrs(cls, a: dict[str, Any]) -> Lease:
        q = a.get("queue", {})
        return cls(ifindex=int(a["ifindex"]), type=str(q.get("type", "")),
                   id=int(q.get("id", -1)), netns_id=a.get("netns-id"))


class Queue(NamedTuple):
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
    def from_attrs(cls, a: dict[str, Any]) -> Queue:
        lease = Lease.from_attrs(a["lease"]) if "lease" in a else None
        # the codec hands out ints and enum names already
        return cls(a["ifindex"], a["type"], a["id"], a.get("napi-id"), "dynamic" in a, lease)

    def to_json(self) -> dict[str, Any]:
        d = self._asdict()
        d["lease"] = self.lease._asdict() if self.lease is not None else None
        d["origin"] = self.origin
        return d


OwnerKind = Literal["own", "slice", "lease"]


class Owned(NamedTuple):
    """Who serves a device's queue: the device itself ("own"), one of its
    slices ("slice", `ifindex` the slice's), or the other end of any other
    lease ("lease": a netkit peer, say, `ifindex` as the lease reports it)."""

    queue: Queue
    kind: OwnerKind
    ifindex: int | None = None


def ownership(queues: list[Queue], slice_ifindexes: set[int]) -> list[Owned]:
    """The one rule: a leased queue is a slice's when its lease names one of
    the device's slices, some other lease's otherwise."""
    out = []
    for q in queues:
        if q.lease is None:
            out.append(Owned(q, "own"))
        elif q.lease.ifindex in slice_ifindexes:
            out.append(Owned(q, "slice", q.lease.ifindex))
        else:
            out.append(Owned(q, "lease", q.lease.ifindex))
    return out


class Event(NamedTuple):
    """A notification from the netdev family's mgmt group."""

    name: str
    attrs: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        attrs = json_attrs(self.attrs)
        assert isinstance(attrs, dict)
        return {"event": self.name, **attrs}


class Overview(NamedTuple):
    """What `qctl show` draws: a device, its queues, its slices, and the
    names of the slices that live in the same netns (by ifindex)."""

    ifindex: int
    name: str
    queues: list[Queue]
    slices: list[Slice]
    names: dict[int, str]

    @property
    def owners(self) -> list[Owned]:
        return ownership(self.queues, {s.ifindex for s in self.slices})

    def to_json(self) -> dict[str, Any]:
        return {"ifindex": self.ifindex, "name": self.name,
                "queues": [q.to_json() for q in self.queues],
                "slices": [s.to_json() for s in self.slices]}


_QORDER = {t: i for i, t in enumerate(QUEUE_TYPES)}


def _qkey(q: Queue) -> tuple[int, str, int]:
    """rx first, then tx, then any type this qctl does not know; by id."""
    return (_QORDER.get(q.type, len(_QORDER)), str(q.type), q.id)


def check_type(qtype: str) -> str:
    if qtype not in QUEUE_TYPES:
        raise UsageError(f"queue type must be rx or tx, not '{qtype}'")
    return qtype


class Netdev:
    """Queue management for devices of one network namespace.

    Devices are named by name or ifindex; a name is resolved once per call
    with if_nametoindex in the namespace (no rtnetlink dump).
    """

    def __init__(self, netns: str | Netns | None = None, spec: FamilySpec | None = None,
                 client: GenlClient | None = None) -> None:
        self._ns = netns if isinstance(netns, Netns) else Netns(netns)
        self.netns = self._ns.name
        self.client = client or GenlClient(spec=spec, netns=self._ns)

    def close(self) -> None:
        self.client.close()
        self._ns.close()

    def __enter__(self) -> Netdev:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- devices -----------------------------------------------------------
    def resolve(self, dev: str | int) -> int:
        """ifindex of a device given by name or ifindex (as int or digits).

        An ifindex is passed through: the kernel refuses one that does not
        exist (ENODEV, with its extack), so it is not looked up twice."""
        if isinstance(dev, int):
            return dev
        if dev.isdigit():
            return int(dev)
        try:
            if self.netns is None:
                return socket.if_nametoindex(dev)
            with self._ns.entered():
                return socket.if_nametoindex(dev)
        except OSError as e:
            # if_nametoindex() returning 0 raises OSError without an errno
            if e.errno in (None, errno.ENODEV, errno.ENXIO):
                raise DeviceError(f"no device named '{dev}'{self._ns}") from None
            raise DeviceError(f"cannot look up the device '{dev}'{self._ns}: "
                              f"{e.strerror}") from None
        except ValueError:
            raise UsageError(f"'{dev}' is not a device name or ifindex") from None

    def ifname(self, ifindex: int) -> str:
        """The name of ifindex here, or the number if it has none here."""
        try:
            with self._ns.entered():
                return socket.if_indextoname(ifindex)
        except OSError:
            return str(ifindex)

    # --- queues ------------------------------------------------------------
    def queues(self, dev: str | int) -> list[Queue]:
        """Every live queue of a device, rx first, ordered by id."""
        ifindex = self.resolve(dev)
        res = [Queue.from_attrs(a) for a in self.client.dump("queue-get", {"ifindex": ifindex})]
        res.sort(key=_qkey)
        return res

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
        new = Queue(ifindex=int(req["ifindex"]), type=str(req["type"]), id=int(rsp["id"]),
                    dynamic=True)
        try:        # the kernel's view, with the NAPI instance the driver gave it
            return Queue.from_attrs(self.client.do("queue-get", {
                "ifindex": new.ifindex, "type": new.type, "id": new.id}))
        except KernelError:     # a device that is down reports no queues
            return new

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
                     move_to: str | Netns | None = None,
                     move_name: str | None = None) -> Slice:
        """Create a slice of `parent` with `rx`/`tx` queues (driver-chosen ids)
        or the explicit parent queues `parent_ids`, through rtnetlink (ip link
        add link PARENT type slice); move it to the named netns `move_to` if
        given (named `move_name` there, if given).

        If the move fails the slice is deleted again: nothing is left behind.
        """
        if parent_ids:
            for t, _ in parent_ids:
                check_type(t)
        elif rx is None or tx is None:
            raise UsageError("give --rx and --tx (or explicit parent queues)")
        link = SliceLink(parent=self.resolve(parent), name=name,
                         mac=parse_mac(mac) if mac is not None else None, quota=max_queues,
                         rx=None if parent_ids else rx, tx=None if parent_ids else tx,
                         parent_ids=list(parent_ids or []))
        self.client.require("slice-get", "slices")
        owned = isinstance(move_to, str)
        target = Netns(move_to) if isinstance(move_to, str) else move_to
        try:
            if target is not None:
                target.fd()     # it must exist before anything is created
            with self._ns.entered():
                rtnl = RtnlSocket()
            with rtnl:
                try:
                    ifindex = rtnl.slice_add(link)
                except KernelError as e:
                    # rtnetlink refuses a taken name before the slice code
                    # runs, and says nothing: say which name
                    if e.code != errno.EEXIST or e.extack or name is None:
                        raise
                    raise KernelError(e.op, e.code,
                                      f"a device named {name} already exists{self._ns}") from None
                sl = self.slice(ifindex)
                if target is None:
                    return sl
                try:
                    self._move(sl.ifindex, target, move_name)
                except DeviceError:
                    rtnl.link_del(sl.ifindex)
                    raise
            return self.slice_by_id(link.parent, sl.id)
        finally:
            if owned and target is not None:
                target.close()

    def _move(self, ifindex: int, target: Netns, name: str | None = None) -> None:
        """RTM_NEWLINK with IFLA_NET_NS_FD (and IFLA_IFNAME: the name it gets
        there), through pyroute2 (loaded here only)."""
        from pyroute2 import IPRoute
        from pyroute2.netlink.exceptions import NetlinkError
        kw: dict[str, Any] = {"ifname": name} if name else {}
        try:
            with self._ns.entered():
                ipr = IPRoute()
            try:
                ipr.link("set", index=ifindex, net_ns_fd=target.fd(), **kw)
            finally:
                ipr.close()
        except (NetlinkError, OSError) as e:
            code = getattr(e, "code", None) or getattr(e, "errno", None)
            raise DeviceError(f"cannot move ifindex {ifindex} to netns '{target.name}': "
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
        # a slice whose parent is elsewhere has no parent ifindex here
        return sorted(res, key=lambda s: (s.parent_ifindex or 0, s.id))

    def slice_delete(self, dev: str | int | None = None, parent: str | int | None = None,
                     slice_id: int | None = None) -> Slice:
        """Delete a slice named by its netdevice, or by parent and slice id
        (ip link del); returns what it was."""
        if dev is not None:
            sl = self.slice(dev)
        elif parent is None or slice_id is None:
            raise UsageError("name the slice, or give both its parent and its id")
        else:
            sl = self.slice_by_id(parent, slice_id)
        with self._ns.entered():
            rtnl = RtnlSocket()
        with rtnl:
            rtnl.link_del(sl.ifindex, sl.netns_id)
        return sl

    def queue_owners(self, dev: str | int) -> list[Owned]:
        """Every queue of DEV with who serves it (see ownership())."""
        return self.overview(dev).owners

    def overview(self, dev: str | int) -> Overview:
        """A device with its queues and, if the kernel has slices, its slices."""
        ifindex = self.resolve(dev)
        sls = self.slices(ifindex) if self.client.kernel_has("slice-get") else []
        return Overview(ifindex=ifindex, name=self.ifname(ifindex),
                        queues=self.queues(ifindex), slices=sls,
                        names={s.ifindex: s.name for s in sls if s.netns_id is None})

    # --- events ------------------------------------------------------------
    def monitor(self, timeout: float | None = None) -> Iterator[Event]:
        """Stream mgmt notifications (queue add/del, device changes, ...)."""
        self.client.subscribe("mgmt")
        for name, attrs in self.client.notifications(timeout=timeout):
            yield Event(name, attrs)

"""The importable qctl API: queues of a device, allocated and freed by id.

Everything the CLI does goes through here, so tests and orchestrators (a
CNI plugin, a device plugin) get the same behaviour without the CLI.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterator

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from .client import GenlClient
from .errors import DeviceError, QctlError
from .spec import FamilySpec

QUEUE_TYPES = ("rx", "tx")


@dataclass(frozen=True)
class Queue:
    """One queue as queue-get reports it."""

    ifindex: int
    type: str
    id: int
    napi_id: int | None = None
    dynamic: bool = False

    @property
    def origin(self) -> str:
        return "dynamic" if self.dynamic else "static"

    @classmethod
    def from_attrs(cls, a: dict[str, Any]) -> "Queue":
        return cls(ifindex=int(a["ifindex"]), type=str(a["type"]), id=int(a["id"]),
                   napi_id=a.get("napi-id"), dynamic=bool(a.get("dynamic", False)))

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
        rsp = self.client.do("queue-alloc", req)
        return Queue(ifindex=int(rsp["ifindex"]), type=str(rsp["type"]), id=int(rsp["id"]),
                     dynamic=True)

    def free(self, dev: str | int, qtype: str, qid: int) -> Queue:
        """Release a queue from alloc(); returns the queue that went away."""
        ifindex = self.resolve(dev)
        self.client.do("queue-free", {"ifindex": ifindex, "type": check_type(qtype), "id": qid})
        return Queue(ifindex=ifindex, type=qtype, id=qid, dynamic=True)

    def qstats(self, dev: str | int, per_queue: bool = False) -> list[dict[str, Any]]:
        req: dict[str, Any] = {"ifindex": self.resolve(dev)}
        if per_queue:
            req["scope"] = ["queue"]
        return self.client.dump("qstats-get", req)

    # --- events ------------------------------------------------------------
    def monitor(self, timeout: float | None = None) -> Iterator[Event]:
        """Stream mgmt notifications (queue add/del, device changes, ...)."""
        self.client.subscribe("mgmt")
        for name, attrs in self.client.notifications(timeout=timeout):
            yield Event(name, attrs)

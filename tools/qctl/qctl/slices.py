"""Slices: child netdevices that own real queues of a parent.

Data classes for what slice-get reports, and the parsing of user input
(MAC addresses), kept free of sockets so they can be unit tested.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from .errors import UsageError

_MAC_RE = r"^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$"


def parse_mac(text: str) -> bytes:
    """'02:00:00:00:00:01' (or with dashes) -> 6 bytes; unicast only."""
    import re  # only on the path that parses one
    if not re.match(_MAC_RE, text):
        raise UsageError(f"'{text}' is not a MAC address (like 02:00:00:00:00:01)")
    mac = bytes(int(x, 16) for x in re.split("[:-]", text))
    if mac[0] & 1:
        raise UsageError(f"{text} is a multicast address; a slice needs a unicast MAC")
    if not any(mac):
        raise UsageError("the all-zero MAC address is not valid for a slice")
    return mac


def format_mac(value: str | bytes) -> str:
    """Hex string (as the codec decodes binary) or bytes -> aa:bb:..."""
    raw = bytes.fromhex(value) if isinstance(value, str) else value
    return ":".join(f"{b:02x}" for b in raw)


class SliceQueue(NamedTuple):
    """One slice queue and the parent queue behind it (None outside the
    parent's netns: the kernel names the parent there only)."""

    type: str
    id: int
    parent_id: int | None

    @classmethod
    def from_attrs(cls, a: dict[str, Any]) -> SliceQueue:
        pid = a.get("parent-id")
        return cls(type=str(a["type"]), id=int(a["id"]),
                   parent_id=None if pid is None else int(pid))


class Slice(NamedTuple):
    """A slice as slice-get reports it, seen from the requester's netns: the
    parent (its ifindex, the parent queue ids) only from the parent's."""

    id: int
    ifindex: int
    parent_ifindex: int | None
    name: str
    rx_queues: int
    tx_queues: int
    max_queues: int
    mac: str
    queues: tuple[SliceQueue, ...] = ()
    netns_id: int | None = None

    @classmethod
    def from_attrs(cls, a: dict[str, Any]) -> Slice:
        qs = tuple(sorted((SliceQueue.from_attrs(q) for q in a.get("queue", [])),
                          key=lambda q: (q.type != "rx", q.id)))
        parent = a.get("parent-ifindex")
        return cls(id=int(a["id"]), ifindex=int(a["ifindex"]),
                   parent_ifindex=None if parent is None else int(parent),
                   name=str(a["name"]),
                   rx_queues=int(a["rx-queues"]), tx_queues=int(a["tx-queues"]),
                   max_queues=int(a["max-queues"]), mac=format_mac(a["mac"]),
                   queues=qs, netns_id=a.get("netns-id"))

    def queues_of(self, qtype: str) -> list[SliceQueue]:
        return [q for q in self.queues if q.type == qtype]

    def to_json(self) -> dict[str, Any]:
        """JSON keys in snake_case, as `ip -j` and Queue.to_json use."""
        return {
            "id": self.id, "ifindex": self.ifindex, "name": self.name,
            "parent_ifindex": self.parent_ifindex, "mac": self.mac,
            "rx_queues": self.rx_queues, "tx_queues": self.tx_queues,
            "max_queues": self.max_queues, "netns_id": self.netns_id,
            "queues": [{"type": q.type, "id": q.id, "parent_id": q.parent_id}
                       for q in self.queues],
        }

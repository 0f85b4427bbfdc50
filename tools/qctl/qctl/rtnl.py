"""Slices through rtnetlink: ip link add link PARENT type slice, ip link del.

A slice is a child link of kind "slice" (IFLA_LINK names the parent,
numrxqueues/numtxqueues are its quota, IFLA_INFO_DATA its initial queues),
as the tree's rt-link spec describes (linkinfo-slice-attrs).  Only the few
attributes a slice needs are packed here; the reply is the kernel's echo of
the new link (NLM_F_ECHO), which names its ifindex.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

from . import netlink
from .errors import KernelError

NETLINK_ROUTE = 0
RTM_NEWLINK = 16
RTM_DELLINK = 17
NLM_F_ECHO = 0x8
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLA_F_NESTED = 0x8000

IFINFOMSG = struct.Struct("=BxHiII")
IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_LINK = 5
IFLA_LINKINFO = 18
IFLA_NUM_TX_QUEUES = 31
IFLA_NUM_RX_QUEUES = 32
IFLA_TARGET_NETNSID = 46
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
IFLA_SLICE_RX_QUEUES = 1
IFLA_SLICE_TX_QUEUES = 2
IFLA_SLICE_QUEUE = 3
IFLA_SLICE_QUEUE_TYPE = 1
IFLA_SLICE_QUEUE_PARENT_ID = 2
QUEUE_TYPE_IDS = {"rx": 0, "tx": 1}

_U32 = struct.Struct("=I")


def _attr(atype: int, payload: bytes) -> bytes:
    return (struct.pack("=HH", 4 + len(payload), atype) + payload
            + b"\0" * (-len(payload) & 3))


def _u32(atype: int, value: int) -> bytes:
    return _attr(atype, _U32.pack(value))


def _nest(atype: int, *parts: bytes) -> bytes:
    return _attr(atype | NLA_F_NESTED, b"".join(parts))


@dataclass
class SliceLink:
    """What `ip link add link PARENT type slice` asks for."""

    parent: int                             # ifindex, in the socket's netns
    name: str | None = None
    mac: bytes | None = None
    quota: int | None = None                # numrxqueues = numtxqueues
    rx: int | None = None
    tx: int | None = None
    parent_ids: list[tuple[str, int]] = field(default_factory=list)

    def pack(self) -> bytes:
        """The attributes of the RTM_NEWLINK request, after its ifinfomsg."""
        out = [_u32(IFLA_LINK, self.parent)]
        if self.name is not None:
            out.append(_attr(IFLA_IFNAME, self.name.encode() + b"\0"))
        if self.mac is not None:
            out.append(_attr(IFLA_ADDRESS, self.mac))
        if self.quota is not None:
            out += [_u32(IFLA_NUM_RX_QUEUES, self.quota), _u32(IFLA_NUM_TX_QUEUES, self.quota)]
        data = [_nest(IFLA_SLICE_QUEUE, _u32(IFLA_SLICE_QUEUE_TYPE, QUEUE_TYPE_IDS[t]),
                      _u32(IFLA_SLICE_QUEUE_PARENT_ID, i)) for t, i in self.parent_ids]
        if self.rx is not None:
            data.append(_u32(IFLA_SLICE_RX_QUEUES, self.rx))
        if self.tx is not None:
            data.append(_u32(IFLA_SLICE_TX_QUEUES, self.tx))
        out.append(_nest(IFLA_LINKINFO, _attr(IFLA_INFO_KIND, b"slice\0"),
                         _nest(IFLA_INFO_DATA, *data)))
        return b"".join(out)


class RtnlSocket:
    """An rtnetlink socket in the calling thread's network namespace."""

    def __init__(self) -> None:
        self.nl = netlink.NetlinkSocket(NETLINK_ROUTE)

    def close(self) -> None:
        self.nl.close()

    def __enter__(self) -> RtnlSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, op: str, mtype: int, flags: int, ifindex: int, body: bytes) -> int:
        """Send one request; the ifindex of an echoed RTM_NEWLINK, else 0."""
        seq = self.nl.next_seq()
        payload = IFINFOMSG.pack(0, 0, ifindex, 0, 0) + body
        self.nl.sock.send(netlink.NLMSGHDR.pack(netlink.NLMSGHDR.size + len(payload), mtype,
                                                flags | netlink.NLM_F_REQUEST | netlink.NLM_F_ACK,
                                                seq, 0) + payload)
        echoed = 0
        while True:
            n = self.nl.recv()
            pos = 0
            while pos + netlink.NLMSGHDR.size <= n:
                ln, mt, fl, mseq, _ = netlink.NLMSGHDR.unpack_from(self.nl.buf, pos)
                if ln < netlink.NLMSGHDR.size:
                    break
                if mseq == seq and mt == netlink.NLMSG_ERROR:
                    err = netlink.parse_error(self.nl.buf, pos, pos + ln, mt, fl)
                    if err.code:
                        raise KernelError(op, err.code, err.text)
                    return echoed
                if mt == RTM_NEWLINK and ln >= netlink.NLMSGHDR.size + IFINFOMSG.size:
                    echoed = IFINFOMSG.unpack_from(self.nl.buf, pos + netlink.NLMSGHDR.size)[2]
                pos += (ln + 3) & ~3

    def slice_add(self, link: SliceLink) -> int:
        """Create the slice; its ifindex."""
        return self._request("ip link add type slice", RTM_NEWLINK,
                             NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO, 0, link.pack())

    def link_del(self, ifindex: int, netnsid: int | None = None) -> None:
        """Delete a link by ifindex, in the netns of id `netnsid` if given."""
        body = b"" if netnsid is None else _attr(IFLA_TARGET_NETNSID, struct.pack("=i", netnsid))
        self._request("ip link del", RTM_DELLINK, 0, ifindex, body)

"""Generic netlink on one plain AF_NETLINK socket: framing, acks, extack.

No event loop and no message objects: a request is packed with struct, the
reply is read with recv_into into one buffer and walked in place.
"""
from __future__ import annotations

import errno
import socket
import struct

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NETLINK_GET_STRICT_CHK = 12

NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_CAPPED = 0x100
NLM_F_ACK_TLVS = 0x200

NLMSG_ERROR = 2
NLMSG_DONE = 3

NLMSGERR_ATTR_MSG = 1
NLMSGERR_ATTR_OFFS = 2
NLMSGERR_ATTR_MISS_TYPE = 5
NLMSGERR_ATTR_MISS_NEST = 6

GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
CTRL_ATTR_OPS = 6
CTRL_ATTR_MCAST_GROUPS = 7
CTRL_ATTR_OP_ID = 1
CTRL_ATTR_MCAST_GRP_NAME = 1
CTRL_ATTR_MCAST_GRP_ID = 2

NLMSGHDR = struct.Struct("=IHHII")
GENLHDR = struct.Struct("=BBH")
HDRLEN = NLMSGHDR.size + GENLHDR.size
_I32 = struct.Struct("=i")
_U32 = struct.Struct("=I")
_U16 = struct.Struct("=H")
_NLA = struct.Struct("=HH")
BUFSIZE = 1 << 17
Buf = bytes | bytearray | memoryview


class ErrorInfo:
    """What an NLMSG_ERROR or a failed NLMSG_DONE says."""

    __slots__ = ("code", "miss_nest", "miss_type", "offset", "text")

    def __init__(self, code: int, text: str | None = None) -> None:
        self.code = code                        # positive errno, 0 for an ack
        self.text = text
        self.offset: int | None = None          # into the request, from its nlmsghdr
        self.miss_type: int | None = None
        self.miss_nest: int | None = None


def parse_error(buf: Buf, pos: int, end: int, mtype: int,
                flags: int) -> ErrorInfo:
    """Decode the error code and extack TLVs of a message at buf[pos:end]."""
    body = pos + NLMSGHDR.size
    if end - body < 4:
        return ErrorInfo(0)
    info = ErrorInfo(-_I32.unpack_from(buf, body)[0])
    p = body + 4
    if mtype == NLMSG_ERROR:
        # the request's header, and its payload unless the ack is capped
        (orig_len,) = _U32.unpack_from(buf, p)
        p += NLMSGHDR.size if flags & NLM_F_CAPPED else (orig_len + 3) & ~3
    if not flags & NLM_F_ACK_TLVS:
        return info
    while p + 4 <= end:
        ln, atype = _NLA.unpack_from(buf, p)
        if ln < 4:
            break
        val = p + 4
        if atype == NLMSGERR_ATTR_MSG:
            info.text = bytes(buf[val:p + ln]).rstrip(b"\0").decode("utf-8", "replace")
        elif atype == NLMSGERR_ATTR_OFFS and ln >= 8:
            info.offset = _U32.unpack_from(buf, val)[0]
        elif atype == NLMSGERR_ATTR_MISS_TYPE and ln >= 8:
            info.miss_type = _U32.unpack_from(buf, val)[0]
        elif atype == NLMSGERR_ATTR_MISS_NEST and ln >= 8:
            info.miss_nest = _U32.unpack_from(buf, val)[0]
        p += (ln + 3) & ~3
    return info


def attrs(buf: Buf, pos: int, end: int) -> dict[int, tuple[int, int]]:
    """{type: (start, end)} of the payloads of the attributes in buf[pos:end]."""
    out = {}
    while pos + 4 <= end:
        ln, atype = _NLA.unpack_from(buf, pos)
        if ln < 4:
            break
        out[atype & 0x3fff] = (pos + 4, pos + ln)
        pos += (ln + 3) & ~3
    return out


class Family:
    """What CTRL_CMD_GETFAMILY tells of a family."""

    __slots__ = ("id", "mcast", "ops")

    def __init__(self, fid: int) -> None:
        self.id = fid
        self.ops: set[int] = set()
        self.mcast: dict[str, int] = {}


class NetlinkSocket:
    """A blocking netlink socket (generic netlink unless told otherwise):
    send a message, read datagrams.

    It is created in the calling thread's network namespace and stays there.
    """

    def __init__(self, proto: int = NETLINK_GENERIC) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, proto)
        try:
            for opt in (NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK):
                self.sock.setsockopt(SOL_NETLINK, opt, 1)
            self.sock.bind((0, 0))
        except OSError:
            self.sock.close()
            raise
        self.buf = bytearray(BUFSIZE)
        self.view = memoryview(self.buf)
        self.seq = 0

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.view.release()
        self.sock.close()

    def next_seq(self) -> int:
        self.seq = (self.seq + 1) & 0xffffffff or 1     # 0 is a notification's
        return self.seq

    def recv(self) -> int:
        """Read one datagram into self.buf; its length."""
        n = self.sock.recv_into(self.buf, BUFSIZE, socket.MSG_TRUNC)
        if n > BUFSIZE:
            raise OSError(errno.EMSGSIZE, f"netlink datagram of {n} bytes truncated")
        return n

    def join(self, group_id: int) -> None:
        self.sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group_id)

    def get_family(self, name: str) -> Family | ErrorInfo:
        """Resolve a family by name: its id, ops and multicast groups, or the
        kernel's error (ENOENT: no such family)."""
        seq = self.next_seq()
        nm = name.encode() + b"\0"
        attr = _NLA.pack(4 + len(nm), CTRL_ATTR_FAMILY_NAME) + nm + b"\0" * (-len(nm) & 3)
        self.sock.send(NLMSGHDR.pack(HDRLEN + len(attr), GENL_ID_CTRL,
                                     NLM_F_REQUEST | NLM_F_ACK, seq, 0)
                       + GENLHDR.pack(CTRL_CMD_GETFAMILY, 1, 0) + attr)
        fam: Family | None = None
        while True:
            n = self.recv()
            pos = 0
            while pos + NLMSGHDR.size <= n:
                ln, mtype, flags, mseq, _ = NLMSGHDR.unpack_from(self.buf, pos)
                if ln < NLMSGHDR.size:
                    break
                if mseq == seq:
                    if mtype == NLMSG_ERROR:
                        err = parse_error(self.buf, pos, pos + ln, mtype, flags)
                        if err.code:
                            return err
                        if fam is None:
                            return ErrorInfo(errno.EPROTO, "GETFAMILY: ack without a reply")
                        return fam
                    if mtype == GENL_ID_CTRL:
                        fam = _family(self.buf, pos + HDRLEN, pos + ln)
                pos += (ln + 3) & ~3


def _family(buf: Buf, pos: int, end: int) -> Family:
    top = attrs(buf, pos, end)
    s, _ = top[CTRL_ATTR_FAMILY_ID]
    fam = Family(_U16.unpack_from(buf, s)[0])
    if CTRL_ATTR_OPS in top:
        for s, e in attrs(buf, *top[CTRL_ATTR_OPS]).values():
            op = attrs(buf, s, e)
            if CTRL_ATTR_OP_ID in op:
                fam.ops.add(_U32.unpack_from(buf, op[CTRL_ATTR_OP_ID][0])[0])
    if CTRL_ATTR_MCAST_GROUPS in top:
        for s, e in attrs(buf, *top[CTRL_ATTR_MCAST_GROUPS]).values():
            g = attrs(buf, s, e)
            if CTRL_ATTR_MCAST_GRP_NAME in g and CTRL_ATTR_MCAST_GRP_ID in g:
                ns, ne = g[CTRL_ATTR_MCAST_GRP_NAME]
                gname = bytes(buf[ns:ne]).rstrip(b"\0").decode()
                fam.mcast[gname] = _U32.unpack_from(buf, g[CTRL_ATTR_MCAST_GRP_ID][0])[0]
    return fam

"""A generic-netlink client for one YNL family, on one socket per namespace.

Requests and notifications share the socket.  A notification that arrives
while a request waits for its reply is queued, and notifications() hands
it out first, in arrival order: neither steals the other's messages.
"""
from __future__ import annotations

import errno
import select
import socket
import struct
from collections import deque
from collections.abc import Iterator
from typing import Any

from . import codec, netlink
from .errors import FeatureMissing, KernelError, SpecError
from .netlink import HDRLEN, NLMSGHDR, Family, NetlinkSocket
from .netns import Netns
from .spec import FamilySpec, OpDef, load_spec

Notification = tuple[str, dict[str, Any]]
# op, its tables, genl header, nlmsg flags, socket, family id
_Prepared = tuple[OpDef, codec.Tables, bytes, int, NetlinkSocket, int]
_I32 = struct.Struct("=i")


# why a family can be missing, per family
_FAMILY_HINT = {
    "netdev": "Linux 6.5+; the qmgmt operations need the qmgmt patches",
    "devlink": "the kernel is built without CONFIG_NET_DEVLINK",
}


class GenlClient:
    """do/dump/notifications for one family; ids and layouts come from the spec.

    With `netns`, the socket is opened in that named network namespace.
    """

    def __init__(self, spec: FamilySpec | None = None, netns: str | Netns | None = None) -> None:
        self.spec = spec or load_spec()
        self.netns = netns if isinstance(netns, Netns) else Netns(netns)
        self._tables: codec.SetTables | None = None
        self._nl: NetlinkSocket | None = None
        self._family: Family | None = None
        self._kernel_ops: set[int] | None = None
        self._ntf: deque[Notification] = deque()
        self._joined: set[str] = set()
        self._do_prep: dict[str, _Prepared] = {}
        self._dump_prep: dict[str, _Prepared] = {}

    @property
    def tables(self) -> codec.SetTables:
        if self._tables is None:
            self._tables = codec.compile_sets(self.spec)
        return self._tables

    # --- socket ------------------------------------------------------------
    def _sock(self) -> NetlinkSocket:
        if self._nl is not None:
            return self._nl
        try:
            with self.netns.entered():
                nl = NetlinkSocket()
        except OSError as e:
            raise FeatureMissing(f"cannot open a generic netlink socket{self.netns}: "
                                 f"{e.strerror}") from e
        res = nl.get_family(self.spec.name)
        if isinstance(res, netlink.ErrorInfo):
            nl.close()
            if res.code == errno.ENOENT:
                raise FeatureMissing(
                    f"the kernel has no '{self.spec.name}' generic netlink family "
                    f"({_FAMILY_HINT.get(self.spec.name, 'not built in or loaded')})")
            raise KernelError("family lookup", res.code, res.text)
        self._nl, self._family = nl, res
        if self._kernel_ops is None:
            self._kernel_ops = res.ops
        return nl

    def close(self) -> None:
        if self._nl is not None:
            self._nl.close()
            self._nl = None
        self._joined.clear()
        self._do_prep.clear()
        self._dump_prep.clear()

    def __enter__(self) -> GenlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- capability --------------------------------------------------------
    def kernel_has(self, op_name: str) -> bool:
        op = self.spec.op(op_name)
        if self._kernel_ops is None:
            self._sock()
        return self._kernel_ops is not None and op.value in self._kernel_ops

    def require(self, op_name: str, feature: str | None = None) -> None:
        """Raise FeatureMissing unless the kernel's family lists `op_name`."""
        if self.kernel_has(op_name):
            return
        op = self.spec.op(op_name)
        what = f"{feature}, which needs " if feature else ""
        raise FeatureMissing(
            f"the running kernel does not implement {what}{self.spec.name} '{op.name}' "
            f"(command {op.value}); boot a kernel with the qmgmt patches")

    # --- requests ----------------------------------------------------------
    def _prepare(self, op_name: str, dump: bool) -> _Prepared:
        """What every request of an op needs, checked once: the op, its
        tables, its genl header, the flags, the socket and the family id."""
        op = self.spec.op(op_name)
        if dump and op.dump_reply is None and op.dump_request is None:
            raise SpecError(f"operation '{op_name}' has no dump")
        if not dump and op.do_request is None and op.do_reply is None:
            raise SpecError(f"operation '{op_name}' has no do")
        if not op.attr_set:
            raise SpecError(f"operation '{op.name}' has no attribute set")
        tables = self.tables[op.attr_set]
        self.require(op.name)
        nl = self._sock()
        assert self._family is not None
        flags = netlink.NLM_F_REQUEST | (netlink.NLM_F_DUMP if dump else netlink.NLM_F_ACK)
        prep = (op, tables, netlink.GENLHDR.pack(op.value, 1, 0), flags, nl, self._family.id)
        (self._dump_prep if dump else self._do_prep)[op_name] = prep
        return prep

    def _request(self, prep: _Prepared, attrs: dict[str, Any]) -> list[dict[str, Any]]:
        op, tables, genlhdr, flags, nl, fid = prep
        payload = codec.encode(tables, attrs)
        seq = nl.seq = (nl.seq + 1) & 0xffffffff or 1      # 0 is a notification's
        msg = NLMSGHDR.pack(HDRLEN + len(payload), fid, flags, seq, 0) + genlhdr + payload
        nl.sock.send(msg)
        out: list[dict[str, Any]] = []
        buf = nl.buf
        recv_into = nl.sock.recv_into
        unpack = NLMSGHDR.unpack_from
        decode = codec.decode
        while True:
            n = recv_into(buf, netlink.BUFSIZE, socket.MSG_TRUNC)
            if n > netlink.BUFSIZE:
                raise OSError(errno.EMSGSIZE, f"netlink datagram of {n} bytes truncated")
            pos = 0
            while pos + 16 <= n:
                ln, mtype, mflags, mseq, _ = unpack(buf, pos)
                if ln < 16:
                    break
                end = pos + ln
                if mseq != seq:
                    if mseq == 0 and mtype == fid:
                        self._queue_ntf(buf, pos, end)
                    # else: a stale reply to an interrupted request
                elif mtype == fid:
                    out.append(decode(tables, buf, pos + HDRLEN, end))
                elif mtype == netlink.NLMSG_ERROR or mtype == netlink.NLMSG_DONE:
                    if ln >= 20 and _I32.unpack_from(buf, pos + 16)[0]:
                        err = netlink.parse_error(buf, pos, end, mtype, mflags)
                        raise self._kernel_error(op, tables, msg, err)
                    if mtype == netlink.NLMSG_DONE or not flags & netlink.NLM_F_DUMP:
                        return out
                pos += (ln + 3) & ~3

    def _kernel_error(self, op: OpDef, tables: codec.Tables, msg: bytes,
                      err: netlink.ErrorInfo) -> KernelError:
        bad = missing = None
        if err.offset is not None:
            bad = codec.attr_path(tables, msg, HDRLEN, len(msg), err.offset)
        if err.miss_type is not None:
            where = tables
            if err.miss_nest is not None:
                where = codec.nest_at(tables, msg, HDRLEN, len(msg), err.miss_nest) or tables
            a = where.by_id.get(err.miss_type)
            missing = a.name if a else f"attr {err.miss_type}"
            if where is not tables:
                missing = f"{where.name}.{missing}"
        return KernelError(op.name, err.code, err.text, bad_attr=bad, missing_attr=missing)

    def do(self, op_name: str, attrs: dict[str, Any]) -> dict[str, Any]:
        prep = self._do_prep.get(op_name) or self._prepare(op_name, dump=False)
        res = self._request(prep, attrs)
        return res[0] if res else {}

    def dump(self, op_name: str, attrs: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        prep = self._dump_prep.get(op_name) or self._prepare(op_name, dump=True)
        return self._request(prep, attrs or {})

    # --- notifications -----------------------------------------------------
    def subscribe(self, group: str = "mgmt") -> None:
        """Join a multicast group; notifications are then read by notifications()."""
        if group not in self.spec.mcast_groups:
            raise SpecError(f"no multicast group '{group}' in the spec")
        nl = self._sock()
        assert self._family is not None
        if group not in self._family.mcast:
            raise FeatureMissing(f"the kernel's {self.spec.name} family has no "
                                 f"multicast group '{group}'")
        if group not in self._joined:
            nl.join(self._family.mcast[group])
            self._joined.add(group)

    def _queue_ntf(self, buf: netlink.Buf, pos: int, end: int) -> None:
        op = self.spec.op_by_value(buf[pos + NLMSGHDR.size])
        if op is None or not op.attr_set:
            return      # a notification newer than this spec: skipped, as ynl does
        self._ntf.append((op.name, codec.decode(self.tables[op.attr_set], buf,
                                                pos + HDRLEN, end)))

    def notifications(self, timeout: float | None = None) -> Iterator[Notification]:
        """Yield (op-name, attrs) for each notification in arrival order,
        those queued during requests first; stop after `timeout` seconds
        without one (None: never)."""
        nl = self._sock()
        while True:
            while self._ntf:
                yield self._ntf.popleft()
            if timeout is not None and not select.select([nl], [], [], timeout)[0]:
                return
            n = nl.recv()
            pos = 0
            while pos + 16 <= n:
                ln, mtype, _, mseq, _ = NLMSGHDR.unpack_from(nl.view, pos)
                if ln < 16:
                    break
                if mseq == 0 and self._family is not None and mtype == self._family.id:
                    self._queue_ntf(nl.view, pos, pos + ln)
                pos += (ln + 3) & ~3

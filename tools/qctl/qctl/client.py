"""A generic-netlink client for one YNL family, on pyroute2 sockets."""
from __future__ import annotations

import errno
import os
import select
import struct
from typing import Any, Iterator

from pyroute2.netlink import NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, SOL_NETLINK, nlmsgerr
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.generic import GenericNetlinkSocket

from .codec import build_classes, from_dict, to_dict
from .errors import FeatureMissing, KernelError, SpecError
from .spec import FamilySpec, OpDef, load_spec


NETLINK_CAP_ACK = 10
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_CAPPED = 0x100
NLMSGERR_ATTR_MSG = 1
NLMSGERR_ATTR_OFFS = 2


def _decode_error(flags: int, data: bytes, offset: int, length: int) -> Any:
    """Decode NLMSG_ERROR / NLMSG_DONE-with-extack ourselves.

    pyroute2 0.9 tries to parse the bytes after the error code as the
    original request, which breaks on capped acks and on dump errors
    (NLMSG_DONE carrying extack TLVs).
    """
    (key,) = struct.unpack_from("H", data, offset + 4)
    (err,) = struct.unpack_from("i", data, offset + 16)
    pos = offset + 20
    if key == NLMSG_ERROR:
        (orig_len,) = struct.unpack_from("I", data, pos)
        pos += 16 if flags & NLM_F_CAPPED else (orig_len + 3) & ~3
    text = None
    end = offset + length
    while pos + 4 <= end:
        alen, atype = struct.unpack_from("HH", data, pos)
        if alen < 4:
            break
        if atype == NLMSGERR_ATTR_MSG:
            text = data[pos + 4:pos + alen].rstrip(b"\0").decode("utf-8", "replace")
        pos += (alen + 3) & ~3
    msg = nlmsgerr()
    msg["header"] = {"length": length, "type": key, "flags": flags,
                     "sequence_number": struct.unpack_from("I", data, offset + 8)[0],
                     "pid": struct.unpack_from("I", data, offset + 12)[0]}
    msg["error"] = err
    if err:
        msg["header"]["error"] = NetlinkError(abs(err), text)
    return msg


def _done_failed(data: bytes, offset: int, length: int) -> bool:
    """NLMSG_DONE of a dump that failed: non-zero error code, with or
    without extack (pyroute2 ends the dump silently on the latter)."""
    return length >= 20 and struct.unpack_from("i", data, offset + 16)[0] != 0


def _harden_marshal(sock: GenericNetlinkSocket) -> None:
    marshal = sock.asyncore.marshal
    orig = marshal.parse_one_message

    def parse_one_message(key: int, flags: int, seq: int, data: bytes,
                          offset: int, length: int) -> Any:
        if key == NLMSG_ERROR or (key == NLMSG_DONE and _done_failed(data, offset, length)):
            return _decode_error(flags, data, offset, length)
        return orig(key, flags, seq, data, offset, length)

    marshal.parse_one_message = parse_one_message


def _extack(e: NetlinkError) -> str | None:
    msg = e.args[1] if len(e.args) > 1 else None
    if not msg or msg == os.strerror(e.code):
        return None
    return str(msg)


class GenlClient:
    """do/dump/notifications for one family; ids and layouts come from the spec.

    One pyroute2 socket per attribute set (pyroute2 parses every message of
    a socket with one class).  With `netns`, sockets are opened in that named
    network namespace.
    """

    def __init__(self, spec: FamilySpec | None = None, netns: str | None = None) -> None:
        self.spec = spec or load_spec()
        self.netns = netns
        self._classes = build_classes(self.spec)
        self._socks: dict[str, GenericNetlinkSocket] = {}
        self._kernel_ops: set[int] | None = None
        self._mcast: dict[str, int] = {}

    # --- sockets -----------------------------------------------------------
    def _open(self, attr_set: str) -> GenericNetlinkSocket:
        kw: dict[str, Any] = {"ext_ack": True, "strict_check": True}
        if self.netns:
            kw["netns"] = self.netns
        try:
            sock = GenericNetlinkSocket(**kw)
        except OSError as e:
            where = f" in netns '{self.netns}'" if self.netns else ""
            raise FeatureMissing(f"cannot open a generic netlink socket{where}: "
                                 f"{e.strerror}") from e
        # Without NETLINK_CAP_ACK the kernel echoes the whole request in
        # error messages, which pyroute2 then fails to parse.
        sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        _harden_marshal(sock)
        try:
            sock.bind(self.spec.name, self._classes[attr_set])
        except NetlinkError as e:
            sock.close()
            if e.code == errno.ENOENT:
                raise FeatureMissing(
                    f"the kernel has no '{self.spec.name}' generic netlink family "
                    "(needs Linux 6.5+; qmgmt operations need the qmgmt patches)") from e
            raise KernelError("family lookup", e.code, _extack(e)) from e
        if self._kernel_ops is None:
            self._learn_family(sock)
        return sock

    def _learn_family(self, sock: GenericNetlinkSocket) -> None:
        msg = sock.discovery(self.spec.name)
        ops = set()
        for op in msg.get_attr("CTRL_ATTR_OPS") or []:
            oid = op.get_attr("CTRL_ATTR_OP_ID")
            if oid is not None:
                ops.add(int(oid))
        self._kernel_ops = ops
        self._mcast = {g.get_attr("CTRL_ATTR_MCAST_GRP_NAME"):
                       g.get_attr("CTRL_ATTR_MCAST_GRP_ID")
                       for g in msg.get_attr("CTRL_ATTR_MCAST_GROUPS") or []}

    def _sock(self, attr_set: str) -> GenericNetlinkSocket:
        if attr_set not in self._socks:
            self._socks[attr_set] = self._open(attr_set)
        return self._socks[attr_set]

    def close(self) -> None:
        for s in self._socks.values():
            s.close()
        self._socks.clear()

    def __enter__(self) -> "GenlClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- capability --------------------------------------------------------
    def kernel_has(self, op_name: str) -> bool:
        op = self.spec.op(op_name)
        if self._kernel_ops is None:
            self._sock(op.attr_set or "")
        assert self._kernel_ops is not None
        return op.value in self._kernel_ops

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
    def _request(self, op: OpDef, attrs: dict[str, Any], flags: int) -> list[dict[str, Any]]:
        if not op.attr_set:
            raise SpecError(f"operation '{op.name}' has no attribute set")
        self.require(op.name)
        aset = self.spec.attr_set(op.attr_set)
        cls = self._classes[op.attr_set]
        msg = cls()
        msg["cmd"] = op.value
        msg["version"] = 1
        msg["attrs"] = from_dict(self.spec, aset, attrs)
        sock = self._sock(op.attr_set)
        try:
            replies = list(sock.nlm_request(msg, msg_type=sock.prid, msg_flags=flags))
        except NetlinkError as e:
            raise KernelError(op.name, e.code, _extack(e)) from e
        return [to_dict(self.spec, aset, r) for r in replies if r.get("attrs") is not None
                and r["header"]["type"] == sock.prid]

    def do(self, op_name: str, attrs: dict[str, Any]) -> dict[str, Any]:
        op = self.spec.op(op_name)
        if op.do_request is None and op.do_reply is None:
            raise SpecError(f"operation '{op_name}' has no do")
        res = self._request(op, attrs, NLM_F_REQUEST | NLM_F_ACK)
        return res[0] if res else {}

    def dump(self, op_name: str, attrs: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        op = self.spec.op(op_name)
        if op.dump_reply is None and op.dump_request is None:
            raise SpecError(f"operation '{op_name}' has no dump")
        return self._request(op, attrs or {}, NLM_F_REQUEST | NLM_F_DUMP)

    # --- notifications -----------------------------------------------------
    def subscribe(self, group: str = "mgmt") -> None:
        """Join a multicast group; notifications are then read by notifications()."""
        if group not in self.spec.mcast_groups:
            raise SpecError(f"no multicast group '{group}' in the spec")
        ntf_sets = {op.attr_set for op in self.spec.ops.values()
                    if op.mcgrp == group and op.attr_set}
        for s in ntf_sets:
            sock = self._sock(s)
            if group not in self._mcast:
                raise FeatureMissing(f"the kernel's {self.spec.name} family has no "
                                     f"multicast group '{group}'")
            sock.add_membership(group)

    def notifications(self, timeout: float | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """Yield (op-name, attrs) for each notification, in arrival order
        per socket; stops after `timeout` seconds without one."""
        socks = {s.fileno(): (name, s) for name, s in self._socks.items()}
        while True:
            ready, _, _ = select.select(list(socks), [], [], timeout)
            if not ready:
                return
            for fd in ready:
                set_name, sock = socks[fd]
                # Read the datagram ourselves: pyroute2's get() may keep
                # messages in its own queue, which select() cannot see.
                data = os.read(fd, 1 << 18)
                for m in sock.asyncore.marshal.parse(data):
                    if m.get("header", {}).get("error") is not None:
                        continue
                    op = self.spec.op_by_value(m["cmd"])
                    if op is None or op.attr_set != set_name:
                        continue
                    yield op.name, to_dict(self.spec, self.spec.attr_set(set_name), m)

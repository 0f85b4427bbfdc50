"""The RTM_NEWLINK request qctl packs for a slice (qctl.rtnl)."""
from __future__ import annotations

import struct

from qctl import netlink, rtnl


def _u32(buf: bytes, span: tuple[int, int]) -> int:
    return int(struct.unpack_from("=I", buf, span[0])[0])


def test_slice_link_layout() -> None:
    link = rtnl.SliceLink(parent=7, name="cnf0", mac=bytes.fromhex("02005e000001"),
                          quota=4, rx=2, tx=1)
    buf = link.pack()
    top = netlink.attrs(buf, 0, len(buf))
    assert _u32(buf, top[rtnl.IFLA_LINK]) == 7
    assert buf[slice(*top[rtnl.IFLA_IFNAME])] == b"cnf0\0"
    assert buf[slice(*top[rtnl.IFLA_ADDRESS])] == bytes.fromhex("02005e000001")
    assert _u32(buf, top[rtnl.IFLA_NUM_RX_QUEUES]) == _u32(buf, top[rtnl.IFLA_NUM_TX_QUEUES]) == 4
    info = netlink.attrs(buf, *top[rtnl.IFLA_LINKINFO])
    assert buf[slice(*info[rtnl.IFLA_INFO_KIND])] == b"slice\0"
    data = netlink.attrs(buf, *info[rtnl.IFLA_INFO_DATA])
    assert _u32(buf, data[rtnl.IFLA_SLICE_RX_QUEUES]) == 2
    assert _u32(buf, data[rtnl.IFLA_SLICE_TX_QUEUES]) == 1
    # nests carry NLA_F_NESTED, as the kernel's strict parsing wants
    (kind,) = struct.unpack_from("=H", buf, top[rtnl.IFLA_LINKINFO][0] - 2)
    assert kind & rtnl.NLA_F_NESTED


def test_slice_link_defaults_and_parent_queues() -> None:
    buf = rtnl.SliceLink(parent=3, parent_ids=[("rx", 4), ("tx", 5)]).pack()
    top = netlink.attrs(buf, 0, len(buf))
    assert rtnl.IFLA_IFNAME not in top and rtnl.IFLA_NUM_RX_QUEUES not in top
    info = netlink.attrs(buf, *top[rtnl.IFLA_LINKINFO])
    data = info[rtnl.IFLA_INFO_DATA]
    pos, entries = data[0], []
    while pos < data[1]:
        ln, atype = struct.unpack_from("=HH", buf, pos)
        assert atype & 0x3fff == rtnl.IFLA_SLICE_QUEUE
        q = netlink.attrs(buf, pos + 4, pos + ln)
        entries.append((_u32(buf, q[rtnl.IFLA_SLICE_QUEUE_TYPE]),
                        _u32(buf, q[rtnl.IFLA_SLICE_QUEUE_PARENT_ID])))
        pos += (ln + 3) & ~3
    assert entries == [(0, 4), (1, 5)]

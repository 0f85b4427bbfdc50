"""Message encoding/decoding against the spec (pure logic, no kernel)."""
from __future__ import annotations

import struct

import pytest

from qctl import codec, netlink
from qctl.errors import UsageError
from qctl.spec import load_spec

NLA_F_NESTED = 1 << 15


@pytest.fixture(scope="module")
def spec():
    return load_spec()


@pytest.fixture(scope="module")
def tables(spec):
    return codec.compile_sets(spec)


def _nlas(raw: bytes, start: int = 0):
    """Yield (type, payload) of the attributes in raw[start:]."""
    pos = start
    while pos + 4 <= len(raw):
        ln, ty = struct.unpack_from("HH", raw, pos)
        yield ty, raw[pos + 4:pos + ln]
        pos += (ln + 3) & ~3


def test_queue_alloc_wire_format(tables):
    raw = codec.encode(tables["queue"], {"ifindex": 7, "type": "tx", "id": 3})
    got = {t: struct.unpack("I", p)[0] for t, p in _nlas(raw)}
    assert got == {2: 7, 3: 1, 1: 3}           # ifindex=2, type=3 (tx=1), id=1


def test_roundtrip_decode(tables):
    raw = codec.encode(tables["queue"], {"ifindex": 4, "type": "rx", "id": 0,
                                         "dynamic": True})
    assert codec.decode(tables["queue"], raw, 0, len(raw)) == {
        "ifindex": 4, "type": "rx", "id": 0, "dynamic": True}


def test_false_flag_is_omitted(tables):
    raw = codec.encode(tables["queue"], {"ifindex": 4, "dynamic": False})
    assert [t for t, _ in _nlas(raw)] == [2]


def test_nest_carries_nla_f_nested(spec, tables):
    raw = codec.encode(tables["dmabuf"], {"ifindex": 2, "fd": 5,
                                          "queues": [{"id": 1, "type": "rx"}]})
    types = [t for t, _ in _nlas(raw)]
    queues = spec.attr_set("dmabuf")["queues"].value
    assert queues | NLA_F_NESTED in types
    inner = next(p for t, p in _nlas(raw) if t & ~NLA_F_NESTED == queues)
    assert {t: struct.unpack("I", p)[0] for t, p in _nlas(inner)} == {1: 1, 3: 0}
    # and back: a multi-attr nest decodes to a list of dicts
    assert codec.decode(tables["dmabuf"], raw, 0, len(raw))["queues"] == [
        {"id": 1, "type": "rx"}]


def test_variable_width_uint(tables):
    # qstats rx-packets (uint) may come as 4 or 8 bytes
    for size, fmt in ((4, "I"), (8, "Q")):
        raw = struct.pack("HHI", 8, 1, 3) + struct.pack("HH", 4 + size, 8) + \
            struct.pack(fmt, 123456)
        assert codec.decode(tables["qstats"], raw, 0, len(raw)) == {
            "ifindex": 3, "rx-packets": 123456}


def test_unknown_attribute_skipped(tables):
    raw = struct.pack("HHI", 8, 2, 9) + struct.pack("HHI", 8, 250, 1)
    assert codec.decode(tables["queue"], raw, 0, len(raw)) == {"ifindex": 9}


def test_flags_enum_encoding(spec, tables):
    raw = codec.encode(tables["qstats"], {"ifindex": 1, "scope": ["queue"]})
    scope = spec.attr_set("qstats")["scope"].value
    payload = next(p for t, p in _nlas(raw) if t == scope)
    assert int.from_bytes(payload, "little") == 1


def test_bad_enum_name(tables):
    with pytest.raises(UsageError, match="not a valid type"):
        codec.encode(tables["queue"], {"type": "bogus"})
    with pytest.raises(UsageError, match="not in set"):
        codec.encode(tables["queue"], {"nope": 1})


@pytest.mark.parametrize("value", [2**32, -1, True, "3"])
def test_out_of_range_is_a_usage_error(tables, value):
    """2**32 used to end in a struct.error traceback."""
    with pytest.raises(UsageError, match="id"):
        codec.encode(tables["queue"], {"ifindex": 1, "type": "rx", "id": value})


def test_spec_checks_bound_the_range(tables):
    # page-pool id: checks min 1, max u32-max (netdev.yaml)
    a = tables["page-pool"]["id"]
    assert (a.lo, a.hi) == (1, 2**32 - 1)
    with pytest.raises(UsageError, match="out of range"):
        codec.encode(tables["page-pool"], {"id": 0})


def _tlv(t: int, payload: bytes) -> bytes:
    b = struct.pack("HH", 4 + len(payload), t) + payload
    return b + b"\0" * ((4 - len(b) % 4) % 4)


def test_decode_capped_error_with_extack():
    text = b"queue id 9 out of range\0"
    orig_hdr = struct.pack("IHHII", 40, 0x20, 5, 7, 0)
    body = struct.pack("i", -34) + orig_hdr + _tlv(1, text) + _tlv(2, struct.pack("I", 36))
    raw = struct.pack("IHHII", 16 + len(body), 2, 0x100 | 0x200, 7, 99) + body
    err = netlink.parse_error(raw, 0, len(raw), 2, 0x100 | 0x200)
    assert (err.code, err.text, err.offset) == (34, "queue id 9 out of range", 36)


def test_decode_dump_done_with_extack():
    body = struct.pack("i", -19) + _tlv(1, b"no such device\0")
    raw = struct.pack("IHHII", 16 + len(body), 3, 0x202, 8, 99) + body
    err = netlink.parse_error(raw, 0, len(raw), 3, 0x202)
    assert (err.code, err.text) == (19, "no such device")


def test_plain_error_has_no_extack():
    body = struct.pack("i", -1) + struct.pack("IHHII", 20, 0x20, 5, 9, 0)
    raw = struct.pack("IHHII", 16 + len(body), 2, 0x100, 9, 1) + body
    err = netlink.parse_error(raw, 0, len(raw), 2, 0x100)
    assert (err.code, err.text, err.offset) == (1, None, None)


def test_extack_offset_names_the_attribute(tables):
    """NLMSGERR_ATTR_OFFS points into the request; name what it points at."""
    body = codec.encode(tables["slice"], {"parent-ifindex": 3,
                                          "queue": [{"type": "rx", "parent-id": 1},
                                                    {"type": "tx", "parent-id": 7}]})
    msg = b"\0" * netlink.HDRLEN + body
    # the second nest's parent-id: walk to it the way the kernel counts
    starts = [netlink.HDRLEN + off for off in _offsets(body)]
    second = starts[2]
    inner = [second + 4 + off for off in _offsets(body[second - netlink.HDRLEN + 4:])]
    path = codec.attr_path(tables["slice"], msg, netlink.HDRLEN, len(msg), inner[1])
    assert path == "queue.parent-id"
    assert codec.attr_path(tables["slice"], msg, netlink.HDRLEN, len(msg),
                           starts[0]) == "parent-ifindex"
    assert codec.nest_at(tables["slice"], msg, netlink.HDRLEN, len(msg),
                         second) is tables["slice"]["queue"].sub


def _offsets(raw: bytes) -> list[int]:
    offs, pos = [], 0
    while pos + 4 <= len(raw):
        ln, _ = struct.unpack_from("HH", raw, pos)
        offs.append(pos)
        pos += (ln + 3) & ~3
    return offs

"""Message encoding/decoding against the spec (pure logic, no kernel)."""
from __future__ import annotations

import struct

import pytest

from qctl import client as qclient
from qctl.codec import build_classes, from_dict, to_dict
from qctl.errors import SpecError
from qctl.spec import load_spec

NLA_F_NESTED = 1 << 15


@pytest.fixture(scope="module")
def spec():
    return load_spec()


@pytest.fixture(scope="module")
def classes(spec):
    return build_classes(spec)


def _nlas(raw: bytes, start: int):
    """Yield (type, payload) of the attributes in raw[start:]."""
    pos = start
    while pos + 4 <= len(raw):
        ln, ty = struct.unpack_from("HH", raw, pos)
        yield ty, raw[pos + 4:pos + ln]
        pos += (ln + 3) & ~3


def _encode(spec, classes, set_name, cmd, attrs):
    msg = classes[set_name]()
    msg["cmd"] = cmd
    msg["version"] = 1
    msg["attrs"] = from_dict(spec, spec.attr_set(set_name), attrs)
    msg["header"]["type"] = 0x20
    msg.encode()
    return msg.data


def test_queue_alloc_wire_format(spec, classes):
    raw = _encode(spec, classes, "queue", 17, {"ifindex": 7, "type": "tx", "id": 3})
    assert raw[16] == 17                       # genl cmd
    got = {t: struct.unpack("I", p)[0] for t, p in _nlas(raw, 20)}
    assert got == {2: 7, 3: 1, 1: 3}           # ifindex=2, type=3 (tx=1), id=1


def test_roundtrip_decode(spec, classes):
    raw = _encode(spec, classes, "queue", 10, {"ifindex": 4, "type": "rx", "id": 0,
                                                "dynamic": True})
    msg = classes["queue"](raw)
    msg.decode()
    assert to_dict(spec, spec.attr_set("queue"), msg) == {
        "ifindex": 4, "type": "rx", "id": 0, "dynamic": True}


def test_false_flag_is_omitted(spec, classes):
    raw = _encode(spec, classes, "queue", 10, {"ifindex": 4, "dynamic": False})
    assert [t for t, _ in _nlas(raw, 20)] == [2]


def test_nest_carries_nla_f_nested(spec, classes):
    raw = _encode(spec, classes, "dmabuf", 13,
                  {"ifindex": 2, "fd": 5, "queues": [{"id": 1, "type": "rx"}]})
    types = [t for t, _ in _nlas(raw, 20)]
    queues = spec.attr_set("dmabuf")["queues"].value
    assert queues | NLA_F_NESTED in types
    inner = [p for t, p in _nlas(raw, 20) if t & ~NLA_F_NESTED == queues][0]
    assert {t: struct.unpack("I", p)[0] for t, p in _nlas(inner, 0)} == {1: 1, 3: 0}


def test_variable_width_uint(spec, classes):
    # qstats rx-packets (uint) may come as 4 or 8 bytes
    for size, fmt in ((4, "I"), (8, "Q")):
        body = struct.pack("BBH", 12, 1, 0)
        body += struct.pack("HHI", 8, 1, 3)                       # ifindex
        body += struct.pack("HH", 4 + size, 8) + struct.pack(fmt, 123456)
        raw = struct.pack("IHHII", 16 + len(body), 0x20, 0, 1, 0) + body
        msg = classes["qstats"](raw)
        msg.decode()
        d = to_dict(spec, spec.attr_set("qstats"), msg)
        assert d == {"ifindex": 3, "rx-packets": 123456}


def test_flags_enum_encoding(spec, classes):
    raw = _encode(spec, classes, "qstats", 12, {"ifindex": 1, "scope": ["queue"]})
    scope = spec.attr_set("qstats")["scope"].value
    payload = [p for t, p in _nlas(raw, 20) if t == scope][0]
    assert int.from_bytes(payload, "little") == 1


def test_bad_enum_name(spec):
    with pytest.raises(SpecError, match="not a valid queue-type"):
        from_dict(spec, spec.attr_set("queue"), {"type": "bogus"})
    with pytest.raises(SpecError, match="not in set"):
        from_dict(spec, spec.attr_set("queue"), {"nope": 1})


def _tlv(t: int, payload: bytes) -> bytes:
    b = struct.pack("HH", 4 + len(payload), t) + payload
    return b + b"\0" * ((4 - len(b) % 4) % 4)


def test_decode_capped_error_with_extack():
    text = b"queue id 9 out of range\0"
    orig_hdr = struct.pack("IHHII", 40, 0x20, 5, 7, 0)
    body = struct.pack("i", -34) + orig_hdr + _tlv(1, text) + _tlv(2, struct.pack("I", 36))
    raw = struct.pack("IHHII", 16 + len(body), 2, 0x100 | 0x200, 7, 99) + body
    msg = qclient._decode_error(0x100 | 0x200, raw, 0, len(raw))
    err = msg["header"]["error"]
    assert err.code == 34 and err.args[1] == "queue id 9 out of range"
    assert qclient._extack(err) == "queue id 9 out of range"


def test_decode_dump_done_with_extack():
    body = struct.pack("i", -19) + _tlv(1, b"no such device\0")
    raw = struct.pack("IHHII", 16 + len(body), 3, 0x202, 8, 99) + body
    msg = qclient._decode_error(0x202, raw, 0, len(raw))
    assert msg["header"]["error"].code == 19
    assert qclient._extack(msg["header"]["error"]) == "no such device"


def test_plain_error_has_no_extack():
    body = struct.pack("i", -1) + struct.pack("IHHII", 20, 0x20, 5, 9, 0)
    raw = struct.pack("IHHII", 16 + len(body), 2, 0x100, 9, 1) + body
    msg = qclient._decode_error(0x100, raw, 0, len(raw))
    assert msg["header"]["error"].code == 1
    assert qclient._extack(msg["header"]["error"]) is None


def test_done_failed_only_on_nonzero_error():
    ok = struct.pack("IHHIIi", 20, 3, 2, 1, 0, 0)
    bad = struct.pack("IHHIIi", 20, 3, 2, 1, 0, -19)       # ENODEV, no extack
    assert not qclient._done_failed(ok, 0, len(ok))
    assert qclient._done_failed(bad, 0, len(bad))
    msg = qclient._decode_error(0x2, bad, 0, len(bad))
    assert msg["header"]["error"].code == 19

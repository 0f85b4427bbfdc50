"""Attribute encoding and decoding, compiled from the spec once.

Every attribute set becomes two tables: by id (decoding) and by name
(encoding), each row carrying what the wire needs: a struct for fixed-width
integers, the nested set's tables, the enum's maps.  Decoding a message is
then one walk with a dict lookup per attribute, as YNL's C code does.

Values map like ``ynl --output-json``: enums as names, flags enums as lists
of names, binary as hex, nests as dicts, multi-attr as lists, indexed-array
as a list of its entries.
"""
from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, NamedTuple

from .errors import SpecError, UsageError
from .netlink import Buf
from .spec import AttrDef, AttrSet, FamilySpec

NLA_F_NESTED = 1 << 15
NLA_F_NET_BYTEORDER = 1 << 14
NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff
_HDR = struct.Struct("=HH")

# fixed-width YNL scalar types: struct code
_FIXED = {"u8": "B", "u16": "H", "u32": "I", "u64": "Q",
          "s8": "b", "s16": "h", "s32": "i", "s64": "q"}
_BF32 = struct.Struct("=II")          # struct nla_bitfield32: value, selector
_RANGES = {"u8": (0, 0xff), "u16": (0, 0xffff), "u32": (0, 0xffffffff),
           "u64": (0, 2**64 - 1), "uint": (0, 2**64 - 1),
           "s8": (-0x80, 0x7f), "s16": (-0x8000, 0x7fff), "s32": (-2**31, 2**31 - 1),
           "s64": (-2**63, 2**63 - 1), "sint": (-2**63, 2**63 - 1)}
_VAR = {4: (struct.Struct("=I"), struct.Struct("=i")),
        8: (struct.Struct("=Q"), struct.Struct("=q"))}


class Attr(NamedTuple):
    """One attribute, ready for the wire."""

    name: str
    id: int
    kind: str                      # int, uint, sint, flag, string, binary, nest, array, pad
    type: str
    multi: bool = False
    st: struct.Struct | None = None
    sub: Tables | None = None
    enum_kind: str | None = None   # "enum" or "flags"
    enum_by_name: dict[str, int] | None = None
    enum_by_value: dict[int, str] | None = None
    lo: int = 0
    hi: int = 0


class Tables:
    """An attribute set, compiled: its rows by id and by name."""

    __slots__ = ("by_id", "by_name", "fast_dec", "fast_enc", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.by_id: dict[int, Attr] = {}
        self.by_name: dict[str, Attr] = {}
        # fixed-width integers (most attributes), ready to pack/unpack:
        # name -> (tlv header, pack, lo, hi, padding, enum names or None)
        self.fast_enc: dict[str, tuple[bytes, Callable[[int], bytes], int, int, bytes,
                                       dict[str, int] | None]] = {}
        # id -> (name, unpack_from, enum values or None)
        self.fast_dec: dict[int, tuple[str, Callable[[Buf, int], tuple[Any, ...]],
                                       dict[int, str] | None]] = {}

    def __getitem__(self, name: str) -> Attr:
        try:
            return self.by_name[name]
        except KeyError:
            raise UsageError(f"attribute '{name}' not in set '{self.name}'") from None


def _kind(a: AttrDef) -> str:
    if a.type in _FIXED:
        return "int"
    kinds = {"uint": "uint", "sint": "sint", "flag": "flag", "string": "string",
             "binary": "binary", "nest": "nest", "indexed-array": "array", "pad": "pad",
             "bitfield32": "bitfield32"}
    try:
        return kinds[a.type]
    except KeyError:
        raise SpecError(f"attribute '{a.name}': type '{a.type}' unsupported") from None


class SetTables(dict[str, Tables]):
    """Tables of the spec's attribute sets, each compiled on first use
    (a request touches two or three of them)."""

    def __init__(self, spec: FamilySpec) -> None:
        super().__init__()
        self.spec = spec

    def __missing__(self, name: str) -> Tables:
        aset = self.spec.attr_set(name)
        t = self[name] = Tables(name)       # before its rows: nests may loop back
        _fill(self.spec, aset, t, self)
        return t


def compile_sets(spec: FamilySpec) -> SetTables:
    """Tables for the attribute sets of the spec, compiled as they are used."""
    return SetTables(spec)


def _fill(spec: FamilySpec, aset: AttrSet, t: Tables, tables: SetTables) -> None:
    for a in aset.by_value.values():
        kind = _kind(a)
        kw: dict[str, Any] = {}
        if kind == "int":
            kw["st"] = struct.Struct((">" if a.big_endian else "=") + _FIXED[a.type])
        if kind in ("int", "uint", "sint"):
            lo, hi = _RANGES[a.type]
            kw["lo"] = lo if a.min is None else max(lo, a.min)
            kw["hi"] = hi if a.max is None else min(hi, a.max)
        if kind in ("nest", "array"):
            if not a.nested or a.nested not in spec.attr_sets:
                raise SpecError(f"nest '{a.name}' has no valid nested-attributes")
            kw["sub"] = tables[a.nested]
        e = spec.enums.get(a.enum) if a.enum else None
        if e is not None:
            kw.update(enum_kind=e.kind, enum_by_name=e.by_name, enum_by_value=e.by_value)
        row = Attr(a.name, a.value, kind, a.type, a.multi, **kw)
        t.by_id[a.value] = row
        t.by_name[a.name] = row
        st = kw.get("st")
        if st is not None and not a.multi and row.enum_kind != "flags":
            ln = 4 + st.size
            plain = row.enum_kind is None
            t.fast_enc[a.name] = (_HDR.pack(ln, a.value), st.pack, row.lo, row.hi,
                                  b"\0" * (-ln & 3), None if plain else row.enum_by_name)
            t.fast_dec[a.value] = (a.name, st.unpack_from, None if plain else row.enum_by_value)


# --- encoding ------------------------------------------------------------------
def _tlv(atype: int, payload: bytes) -> bytes:
    ln = 4 + len(payload)
    return _HDR.pack(ln, atype) + payload + b"\0" * (-ln & 3)


def _enum_value(a: Attr, value: Any) -> int:
    names = [value] if isinstance(value, str) else list(value)
    assert a.enum_by_name is not None
    if a.enum_kind == "enum" and len(names) != 1:
        raise UsageError(f"{a.name}: one value expected")
    bits = 0
    for n in names:
        try:
            v = a.enum_by_name[n]
        except KeyError:
            raise UsageError(f"'{n}' is not a valid {a.name} "
                             f"(one of {', '.join(a.enum_by_name)})") from None
        bits = v if a.enum_kind == "enum" else bits | v
    return bits


def _int(a: Attr, value: Any) -> int:
    if a.enum_kind and isinstance(value, (str, list, tuple, set)):
        value = _enum_value(a, value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{a.name}: an integer is expected, not {value!r}")
    if not a.lo <= value <= a.hi:
        raise UsageError(f"{a.name}: {value} is out of range ({a.lo}..{a.hi})")
    return value


def _encode_one(a: Attr, value: Any) -> bytes:
    k = a.kind
    if k == "int":
        assert a.st is not None
        return _tlv(a.id, a.st.pack(_int(a, value)))
    if k in ("uint", "sint"):
        v = _int(a, value)
        return _tlv(a.id, v.to_bytes(8, "little", signed=k == "sint"))
    if k == "flag":
        return _tlv(a.id, b"") if value else b""
    if k == "string":
        if not isinstance(value, str):
            raise UsageError(f"{a.name}: a string is expected, not {value!r}")
        return _tlv(a.id, value.encode() + b"\0")
    if k == "binary":
        if isinstance(value, str):
            value = bytes.fromhex(value)
        if not isinstance(value, (bytes, bytearray)):
            raise UsageError(f"{a.name}: bytes are expected, not {value!r}")
        return _tlv(a.id, bytes(value))
    if k == "bitfield32":
        if not isinstance(value, dict) or set(value) != {"value", "selector"}:
            raise UsageError(f"{a.name}: {{'value': int, 'selector': int}} is expected")
        try:
            return _tlv(a.id, _BF32.pack(value["value"], value["selector"]))
        except struct.error:
            raise UsageError(f"{a.name}: value and selector are u32s") from None
    assert a.sub is not None
    if k == "nest":
        return _tlv(a.id | NLA_F_NESTED, encode(a.sub, value))
    if k == "array":
        body = b"".join(_tlv(i | NLA_F_NESTED, encode(a.sub, v)) for i, v in enumerate(value))
        return _tlv(a.id | NLA_F_NESTED, body)
    raise UsageError(f"{a.name}: a {a.type} attribute cannot be sent")


def encode(t: Tables, values: dict[str, Any]) -> bytes:
    """{attr-name: value} of set `t` -> attribute bytes."""
    if not isinstance(values, dict):
        raise UsageError(f"set '{t.name}': a dict of attributes is expected")
    out = []
    fast = t.fast_enc
    for name, value in values.items():
        f = fast.get(name)
        if f is not None:
            hdr, pack, lo, hi, pad, names = f
            v = value if type(value) is int else (
                names.get(value) if names is not None and type(value) is str else None)
            if v is not None and lo <= v <= hi:
                out.append(hdr + pack(v) + pad)
                continue
        a = t[name]
        if a.multi and isinstance(value, list):
            out += [_encode_one(a, v) for v in value]
        else:
            out.append(_encode_one(a, value))
    return b"".join(out)


# --- decoding ------------------------------------------------------------------
def _decode_one(a: Attr, buf: Buf, pos: int, end: int) -> Any:
    k = a.kind
    if k == "int":
        assert a.st is not None
        v: Any = a.st.unpack_from(buf, pos)[0]
    elif k in ("uint", "sint"):
        n = end - pos
        if n not in _VAR:
            raise SpecError(f"{a.name}: variable-width integer of {n} bytes")
        v = _VAR[n][k == "sint"].unpack_from(buf, pos)[0]
    elif k == "flag":
        return True
    elif k == "string":
        return bytes(buf[pos:end]).rstrip(b"\0").decode("utf-8", "replace")
    elif k == "binary":
        return bytes(buf[pos:end]).hex()
    elif k == "bitfield32":
        value, selector = _BF32.unpack_from(buf, pos)
        return {"value": value, "selector": selector}
    elif k == "nest":
        assert a.sub is not None
        return decode(a.sub, buf, pos, end)
    elif k == "array":
        assert a.sub is not None
        return [decode(a.sub, buf, p + 4, p + ln) for _, p, ln in _walk(buf, pos, end)]
    else:
        return None
    if a.enum_kind == "enum":
        assert a.enum_by_value is not None
        return a.enum_by_value.get(v, v)
    if a.enum_kind == "flags":
        assert a.enum_by_name is not None
        return [n for n, bit in a.enum_by_name.items() if v & bit]
    return v


def _walk(buf: Buf, pos: int, end: int) -> list[tuple[int, int, int]]:
    """(type, offset, length) of every attribute in buf[pos:end]."""
    res = []
    unpack = _HDR.unpack_from
    while pos + 4 <= end:
        ln, atype = unpack(buf, pos)
        if ln < 4 or pos + ln > end:
            break
        res.append((atype & NLA_TYPE_MASK, pos, ln))
        pos += (ln + 3) & ~3
    return res


def decode(t: Tables, buf: Buf, pos: int, end: int) -> dict[str, Any]:
    """Attributes of set `t` in buf[pos:end] -> {attr-name: value}.

    Attributes this spec does not know are skipped, as YNL does."""
    out: dict[str, Any] = {}
    by_id = t.by_id
    fast = t.fast_dec
    unpack = _HDR.unpack_from
    while pos + 4 <= end:
        ln, atype = unpack(buf, pos)
        if ln < 4 or pos + ln > end:
            break
        f = fast.get(atype & NLA_TYPE_MASK)
        if f is not None:
            name, unpack_v, names = f
            v = unpack_v(buf, pos + 4)[0]
            out[name] = v if names is None else names.get(v, v)
            pos += (ln + 3) & ~3
            continue
        a = by_id.get(atype & NLA_TYPE_MASK)
        if a is not None:
            v = _decode_one(a, buf, pos + 4, pos + ln)
            if a.multi:
                out.setdefault(a.name, []).append(v)
            else:
                out[a.name] = v
        pos += (ln + 3) & ~3
    return out


def attr_path(t: Tables, buf: Buf, pos: int, end: int, offset: int) -> str | None:
    """Name the attribute at byte `offset` of a request (an extack's
    NLMSGERR_ATTR_OFFS): "queue.parent-id" for one inside a nest."""
    for atype, p, ln in _walk(buf, pos, end):
        if not p <= offset < p + ln:
            continue
        a = t.by_id.get(atype)
        name = a.name if a is not None else f"attr {atype}"
        if offset == p or a is None or a.sub is None:
            return name
        if a.kind == "array":
            for idx, q, qln in _walk(buf, p + 4, p + ln):
                if q <= offset < q + qln:
                    inner = attr_path(a.sub, buf, q + 4, q + qln, offset) if offset != q else None
                    return f"{name}[{idx}]" + (f".{inner}" if inner else "")
            return name
        inner = attr_path(a.sub, buf, p + 4, p + ln, offset)
        return f"{name}.{inner}" if inner else name
    return None


def nest_at(t: Tables, buf: Buf, pos: int, end: int, offset: int) -> Tables | None:
    """The set of the nest that starts at byte `offset` (NLMSGERR_ATTR_MISS_NEST)."""
    for atype, p, ln in _walk(buf, pos, end):
        if not p <= offset < p + ln:
            continue
        a = t.by_id.get(atype)
        if a is None or a.sub is None:
            return None
        return a.sub if offset == p else nest_at(a.sub, buf, p + 4, p + ln, offset)
    return None

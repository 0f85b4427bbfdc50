"""Spec-driven pyroute2 message classes, and their conversion to dicts.

Each attribute set of the spec becomes a pyroute2 NLA class whose nla_map is
computed from the spec ids; nests refer to the class of their set and carry
NLA_F_NESTED (strict kernel validation rejects a nest without it).
"""
from __future__ import annotations

import struct
from typing import Any

from pyroute2.netlink import genlmsg, nla, nla_base_string

from .errors import SpecError
from .spec import AttrDef, AttrSet, FamilySpec

# YNL scalar type -> pyroute2 NLA class name
_SCALARS = {
    "u8": "uint8", "u16": "uint16", "u32": "uint32", "u64": "uint64",
    "s8": "int8", "s16": "int16", "s32": "int32", "s64": "int64",
    "flag": "flag", "string": "asciiz", "binary": "cdata",
    "uint": "vuint", "sint": "vsint", "pad": "none",
}


class _VarInt(nla_base_string):
    """NLA_UINT / NLA_SINT: 4 or 8 bytes on the wire, 8 when we send."""

    __slots__ = ()
    signed = False

    def encode(self) -> None:
        self["value"] = struct.pack("<q" if self.signed else "<Q", int(self["value"]))
        nla_base_string.encode(self)

    def decode(self) -> None:
        nla_base_string.decode(self)
        raw = self["value"]
        if len(raw) not in (4, 8):
            raise ValueError(f"variable-width integer of {len(raw)} bytes")
        self.value = int.from_bytes(raw, "little", signed=self.signed)  # type: ignore[misc]  # pyroute2 nla keeps .value outside __slots__
        self["value"] = self.value


class _VarSInt(_VarInt):
    __slots__ = ()
    signed = True


def _class_name(set_name: str) -> str:
    return "set_" + set_name.replace("-", "_")


def _nla_map(aset: AttrSet) -> tuple[tuple[int, str, str], ...]:
    rows = []
    for a in sorted(aset.by_value.values(), key=lambda x: x.value):
        if a.type in ("nest", "indexed-array"):
            if not a.nested:
                raise SpecError(f"nest '{a.name}' has no nested-attributes")
            cls = f"{_class_name(a.nested)} | nested"
        elif a.type in _SCALARS:
            cls = _SCALARS[a.type]
        else:
            raise SpecError(f"attribute '{a.name}': type '{a.type}' unsupported")
        rows.append((a.value, a.name, cls))
    return tuple(rows)


def build_classes(spec: FamilySpec) -> dict[str, type]:
    """Message class (genlmsg) for every attribute set of the spec."""
    attrs: dict[str, Any] = {"vuint": _VarInt, "vsint": _VarSInt}
    # NLA classes for nests: every set, so any nest can point at any set.
    nla_classes: dict[str, type] = {}
    for name, aset in spec.attr_sets.items():
        nla_classes[_class_name(name)] = type(
            _class_name(name), (nla,), {"__slots__": (), "nla_map": _nla_map(aset)})
    attrs.update(nla_classes)
    for cls in nla_classes.values():
        for k, v in attrs.items():
            setattr(cls, k, v)
    msgs: dict[str, type] = {}
    for name, aset in spec.attr_sets.items():
        body = dict(attrs)
        body["__slots__"] = ()
        body["nla_map"] = _nla_map(aset)
        msgs[name] = type(f"msg_{_class_name(name)}", (genlmsg,), body)
    return msgs


def _convert(spec: FamilySpec, a: AttrDef, value: Any) -> Any:
    if a.type in ("nest", "indexed-array"):
        return to_dict(spec, spec.attr_set(a.nested or ""), value)
    if a.enum and isinstance(value, int):
        e = spec.enums.get(a.enum)
        if e and e.kind == "enum":
            return e.name_of(value)
        if e and e.kind == "flags":
            return [n for n, bit in e.by_name.items() if value & bit]
    if isinstance(value, bytes) and a.type == "binary":
        return value.hex()
    return value


def to_dict(spec: FamilySpec, aset: AttrSet, msg: Any) -> dict[str, Any]:
    """Decode a pyroute2 message/NLA of set `aset` into {attr-name: value}."""
    out: dict[str, Any] = {}
    for name, value in msg.get("attrs", []):
        a = aset.by_name.get(name)
        if a is None:
            continue    # unknown to this spec version: ignore, like ynl
        v = _convert(spec, a, value)
        if a.multi:
            out.setdefault(name, []).append(v)
        else:
            out[name] = v
    return out


def _encode_value(spec: FamilySpec, a: AttrDef, value: Any) -> Any:
    if a.type in ("nest", "indexed-array"):
        sub = spec.attr_set(a.nested or "")
        return {"attrs": from_dict(spec, sub, value)}
    if a.enum and isinstance(value, (str, list, tuple, set)):
        e = spec.enums[a.enum]
        names = [value] if isinstance(value, str) else list(value)
        if e.kind == "enum" and len(names) != 1:
            raise SpecError(f"{a.name}: one {a.enum} value expected")
        bits = 0
        for n in names:
            try:
                v = e.by_name[n]
            except KeyError:
                raise SpecError(f"'{n}' is not a valid {a.enum} "
                                f"(one of {', '.join(e.by_name)})") from None
            bits = v if e.kind == "enum" else bits | v
        return bits
    if a.type == "flag":
        return None if value else False
    return value


def from_dict(spec: FamilySpec, aset: AttrSet, values: dict[str, Any]
              ) -> list[list[Any]]:
    """Encode {attr-name: value} of set `aset` into a pyroute2 attrs list."""
    res: list[list[Any]] = []
    for name, value in values.items():
        a = aset[name]
        items = value if a.multi and isinstance(value, list) else [value]
        for v in items:
            if a.type == "flag" and not v:
                continue
            res.append([name, _encode_value(spec, a, v)])
    return res

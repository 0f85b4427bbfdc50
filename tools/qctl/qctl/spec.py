"""Load a YNL genetlink spec (netdev.yaml) and derive every id from it.

Numbering follows the kernel's tools/net/ynl rules, so ids always match the
generated UAPI header:
  * attributes count from 1 in list order; ``value:`` sets an id and the
    count continues from there; a ``subset-of`` set reuses its parent's ids;
  * operations (notifications included) count from 1 in list order, with
    the same ``value:`` override;
  * enum entries count from ``value-start`` (default 0); flags are bits.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import SpecError

SPEC_ENV = "QCTL_SPEC"
BUNDLED_SPEC = os.path.join(os.path.dirname(__file__), "specs", "netdev.yaml")


@dataclass(frozen=True)
class AttrDef:
    name: str
    value: int
    type: str
    doc: str = ""
    nested: str | None = None       # attribute-set name for type nest
    enum: str | None = None         # definitions entry for enums
    multi: bool = False


@dataclass
class AttrSet:
    name: str
    by_name: dict[str, AttrDef] = field(default_factory=dict)
    by_value: dict[int, AttrDef] = field(default_factory=dict)

    def __getitem__(self, name: str) -> AttrDef:
        try:
            return self.by_name[name]
        except KeyError:
            raise SpecError(f"attribute '{name}' not in set '{self.name}'") from None


@dataclass(frozen=True)
class EnumDef:
    name: str
    kind: str                       # "enum" or "flags"
    by_name: dict[str, int]

    def name_of(self, value: int) -> str | int:
        for k, v in self.by_name.items():
            if v == value:
                return k
        return value


@dataclass(frozen=True)
class OpDef:
    name: str
    value: int
    attr_set: str | None
    doc: str
    flags: tuple[str, ...] = ()
    do_request: tuple[str, ...] | None = None
    do_reply: tuple[str, ...] | None = None
    dump_request: tuple[str, ...] | None = None
    dump_reply: tuple[str, ...] | None = None
    notify: str | None = None
    mcgrp: str | None = None

    @property
    def is_ntf(self) -> bool:
        return self.notify is not None or self.mcgrp is not None


@dataclass
class FamilySpec:
    name: str
    path: str
    enums: dict[str, EnumDef]
    attr_sets: dict[str, AttrSet]
    ops: dict[str, OpDef]
    mcast_groups: tuple[str, ...]

    def op(self, name: str) -> OpDef:
        try:
            return self.ops[name]
        except KeyError:
            raise SpecError(f"operation '{name}' not in the {self.name} spec "
                            f"({self.path})") from None

    def op_by_value(self, value: int) -> OpDef | None:
        for op in self.ops.values():
            if op.value == value:
                return op
        return None

    def attr_set(self, name: str) -> AttrSet:
        try:
            return self.attr_sets[name]
        except KeyError:
            raise SpecError(f"attribute set '{name}' not in the spec") from None


def _attrs_of(sub: Any) -> tuple[str, ...] | None:
    if not isinstance(sub, dict):
        return None
    return tuple(sub.get("attributes", ()))


def _load_enums(defs: list[dict[str, Any]]) -> dict[str, EnumDef]:
    enums: dict[str, EnumDef] = {}
    for d in defs:
        kind = d.get("type")
        if kind not in ("enum", "flags"):
            continue
        val = int(d.get("value-start", 0))
        by_name: dict[str, int] = {}
        for e in d.get("entries", []):
            ename = e if isinstance(e, str) else e["name"]
            if isinstance(e, dict) and "value" in e:
                val = int(e["value"])
            by_name[ename] = (1 << val) if kind == "flags" else val
            val += 1
        enums[d["name"]] = EnumDef(d["name"], kind, by_name)
    return enums


def _load_sets(raw_sets: list[dict[str, Any]]) -> dict[str, AttrSet]:
    sets: dict[str, AttrSet] = {}
    for s in raw_sets:
        aset = AttrSet(s["name"])
        parent = s.get("subset-of")
        val = 1
        for a in s.get("attributes", []):
            if parent:
                if parent not in sets:
                    raise SpecError(f"set '{s['name']}' is a subset of unknown '{parent}'")
                base = sets[parent][a["name"]]
                attr = AttrDef(base.name, base.value, base.type, base.doc,
                               base.nested, base.enum, base.multi)
            else:
                if "value" in a:
                    val = int(a["value"])
                attr = AttrDef(
                    name=a["name"], value=val, type=a["type"], doc=a.get("doc", ""),
                    nested=a.get("nested-attributes"), enum=a.get("enum"),
                    multi=bool(a.get("multi-attr", False)))
                val += 1
            if attr.value in aset.by_value:
                raise SpecError(f"set '{s['name']}': id {attr.value} used twice")
            aset.by_name[attr.name] = attr
            aset.by_value[attr.value] = attr
        sets[aset.name] = aset
    return sets


def _load_ops(raw: dict[str, Any]) -> dict[str, OpDef]:
    ops: dict[str, OpDef] = {}
    by_name_raw = {o["name"]: o for o in raw.get("list", [])}
    val = 1
    seen: set[int] = set()
    for o in raw.get("list", []):
        if "value" in o:
            val = int(o["value"])
        if val in seen:
            raise SpecError(f"operation '{o['name']}': id {val} used twice")
        seen.add(val)
        do, dump = o.get("do"), o.get("dump")
        attr_set = o.get("attribute-set")
        if attr_set is None and "notify" in o:
            attr_set = by_name_raw.get(o["notify"], {}).get("attribute-set")
        ops[o["name"]] = OpDef(
            name=o["name"], value=val, attr_set=attr_set, doc=o.get("doc", ""),
            flags=tuple(o.get("flags", ())),
            do_request=_attrs_of(do.get("request")) if do else None,
            do_reply=_attrs_of(do.get("reply")) if do else None,
            dump_request=_attrs_of(dump.get("request")) if dump else None,
            dump_reply=_attrs_of(dump.get("reply")) if dump else None,
            notify=o.get("notify"), mcgrp=o.get("mcgrp"))
        val += 1
    return ops


def load_spec(path: str | None = None) -> FamilySpec:
    """Load a family spec: `path`, else $QCTL_SPEC, else the bundled copy."""
    path = path or os.environ.get(SPEC_ENV) or None
    try:
        path = path or BUNDLED_SPEC
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f)
    except OSError as e:
        raise SpecError(f"cannot read spec {path}: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise SpecError(f"spec {path} is not valid YAML: {e}") from e
    if not isinstance(raw, dict) or "name" not in raw:
        raise SpecError(f"{path} is not a YNL family spec")
    return FamilySpec(
        name=raw["name"], path=path,
        enums=_load_enums(raw.get("definitions", [])),
        attr_sets=_load_sets(raw.get("attribute-sets", [])),
        ops=_load_ops(raw.get("operations", {})),
        mcast_groups=tuple(g["name"] for g in raw.get("mcast-groups", {}).get("list", [])))

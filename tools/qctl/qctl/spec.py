"""Load a YNL genetlink spec (netdev.yaml) and derive every id from it.

YAML is parsed once: the bundled spec ships compiled next to its source
(specs/netdev.json, written by ``python -m qctl.spec compile``; a host test
fails on drift), and any other spec is compiled on first use into
$XDG_CACHE_HOME/qctl, keyed by its content.  Loading either is a json.loads.

Numbering follows the kernel's tools/net/ynl rules, so ids always match the
generated UAPI header:
  * attributes count from 1 in list order; ``value:`` sets an id and the
    count continues from there; a ``subset-of`` set reuses its parent's ids;
  * operations (notifications included) count from 1 in list order, with
    the same ``value:`` override; with ``enum-model: directional`` (devlink)
    an operation's id is its request's ``value:``;
  * enum entries count from ``value-start`` (default 0); flags are bits.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, NamedTuple

from .errors import SpecError

SPEC_ENV = "QCTL_SPEC"             # the netdev family's spec, instead of the bundled one
SPECS_DIR = os.path.join(os.path.dirname(__file__), "specs")
BUNDLED = ("netdev", "devlink")     # copies of the patched tree's specs


def bundled(family: str) -> str:
    return os.path.join(SPECS_DIR, f"{family}.yaml")


def compiled_of(path: str) -> str:
    return os.path.splitext(path)[0] + ".json"


BUNDLED_SPEC = bundled("netdev")
COMPILED_VERSION = 1


class AttrDef(NamedTuple):
    name: str
    value: int
    type: str
    doc: str = ""
    nested: str | None = None       # attribute-set name for type nest
    enum: str | None = None         # definitions entry for enums
    multi: bool = False
    big_endian: bool = False        # byte-order: big-endian
    min: int | None = None          # checks: min / max, as numbers
    max: int | None = None


class AttrSet:
    __slots__ = ("by_name", "by_value", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.by_name: dict[str, AttrDef] = {}
        self.by_value: dict[int, AttrDef] = {}

    def __getitem__(self, name: str) -> AttrDef:
        try:
            return self.by_name[name]
        except KeyError:
            raise SpecError(f"attribute '{name}' not in set '{self.name}'") from None


class EnumDef(NamedTuple):
    name: str
    kind: str                       # "enum" or "flags"
    by_name: dict[str, int]
    by_value: dict[int, str]


class OpDef(NamedTuple):
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


class FamilySpec:
    __slots__ = ("attr_sets", "enums", "mcast_groups", "name", "ops", "ops_by_value", "path")

    def __init__(self, name: str, path: str, enums: dict[str, EnumDef],
                 attr_sets: dict[str, AttrSet], ops: dict[str, OpDef],
                 mcast_groups: tuple[str, ...]) -> None:
        self.name = name
        self.path = path
        self.enums = enums
        self.attr_sets = attr_sets
        self.ops = ops
        self.mcast_groups = mcast_groups
        self.ops_by_value: dict[int, OpDef] = {}
        for op in ops.values():
            self.ops_by_value.setdefault(op.value, op)

    def op(self, name: str) -> OpDef:
        try:
            return self.ops[name]
        except KeyError:
            raise SpecError(f"operation '{name}' not in the {self.name} spec "
                            f"({self.path})") from None

    def op_by_value(self, value: int) -> OpDef | None:
        return self.ops_by_value.get(value)

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
        enums[d["name"]] = EnumDef(d["name"], kind, by_name,
                                   {v: k for k, v in by_name.items()})
    return enums


_NAMED_BOUNDS = {"u8-max": 0xff, "u16-max": 0xffff, "u32-max": 0xffffffff,
                 "s32-max": 0x7fffffff, "s32-min": -0x80000000}


def _bound(v: Any) -> int | None:
    """A checks: bound as a number; a named one the kernel defines, or None."""
    if v is None or isinstance(v, int):
        return v
    return _NAMED_BOUNDS.get(str(v))


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
                attr = sets[parent][a["name"]]
            else:
                if "value" in a:
                    val = int(a["value"])
                checks = a.get("checks", {})
                attr = AttrDef(
                    name=a["name"], value=val, type=a["type"], doc=a.get("doc", ""),
                    nested=a.get("nested-attributes"), enum=a.get("enum"),
                    multi=bool(a.get("multi-attr", False)),
                    big_endian=a.get("byte-order") == "big-endian",
                    min=_bound(checks.get("min")), max=_bound(checks.get("max")))
                val += 1
            same = aset.by_value.get(attr.value)
            if same is not None and parent and same.name == attr.name:
                continue        # a subset may list an attribute twice (devlink's does)
            if same is not None:
                raise SpecError(f"set '{s['name']}': id {attr.value} used twice")
            aset.by_name[attr.name] = attr
            aset.by_value[attr.value] = attr
        sets[aset.name] = aset
    return sets


def _load_ops(raw: dict[str, Any]) -> dict[str, OpDef]:
    ops: dict[str, OpDef] = {}
    by_name_raw = {o["name"]: o for o in raw.get("list", [])}
    directional = raw.get("enum-model") == "directional"
    val = 1
    seen: set[int] = set()
    for o in raw.get("list", []):
        do, dump = o.get("do"), o.get("dump")
        if directional:
            # each direction numbers its own messages, as ynl does: an op's
            # id is its request's, counted over the ops that have one
            if "notify" in o or "event" in o or not (do or dump):
                continue                # nothing to send
            mode = do if do else dump
            req = mode.get("request", {}) if isinstance(mode, dict) else {}
            if isinstance(req, dict) and req.get("value"):
                val = int(req["value"])
        elif "value" in o:
            val = int(o["value"])
        if val in seen and not directional:
            raise SpecError(f"operation '{o['name']}': id {val} used twice")
        seen.add(val)
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


def _parse_yaml(path: str) -> dict[str, Any]:
    import yaml  # only when a spec has to be compiled
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with open(path, encoding="utf-8") as f:
            raw = yaml.load(f, Loader=loader)
    except yaml.YAMLError as e:
        raise SpecError(f"spec {path} is not valid YAML: {e}") from e
    if not isinstance(raw, dict) or "name" not in raw:
        raise SpecError(f"{path} is not a YNL family spec")
    return raw


def _digest(path: str) -> str:
    import hashlib  # only for a spec that is not the bundled one
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError as e:
        raise SpecError(f"cannot read spec {path}: {e.strerror}") from e


def compile_spec(path: str, digest: str | None = None) -> dict[str, Any]:
    """The compiled form of a spec file: its parsed YAML and its digest."""
    return {"version": COMPILED_VERSION, "sha256": digest or _digest(path),
            "spec": _parse_yaml(path)}


def _cache_path(digest: str) -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "qctl", f"spec-{COMPILED_VERSION}-{digest}.json")


def _read_compiled(path: str, digest: str | None) -> dict[str, Any] | None:
    """A compiled spec file's content, if it is one for `digest` (any if None)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != COMPILED_VERSION:
        return None
    if digest is not None and data.get("sha256") != digest:
        return None
    spec = data.get("spec")
    return spec if isinstance(spec, dict) else None


def _raw_spec(path: str) -> dict[str, Any]:
    if os.path.dirname(path) == SPECS_DIR:
        raw = _read_compiled(compiled_of(path), None)
        if raw is not None:
            return raw
    digest = _digest(path)
    cache = _cache_path(digest)
    raw = _read_compiled(cache, digest)
    if raw is not None:
        return raw
    compiled = compile_spec(path, digest)
    try:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        tmp = f"{cache}.{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(compiled, f)
        os.replace(tmp, cache)
    except OSError:
        pass    # a read-only home only costs the next run a YAML parse
    return dict(compiled["spec"])


def load_spec(path: str | None = None, family: str = "netdev") -> FamilySpec:
    """Load a family spec: `path`, else for netdev $QCTL_SPEC, else the
    bundled copy of `family`'s."""
    if family not in BUNDLED:
        raise SpecError(f"no bundled spec for family '{family}'")
    env = os.environ.get(SPEC_ENV) if family == "netdev" else None
    path = path or env or bundled(family)
    raw = _raw_spec(path)
    return FamilySpec(
        name=raw["name"], path=path,
        enums=_load_enums(raw.get("definitions", [])),
        attr_sets=_load_sets(raw.get("attribute-sets", [])),
        ops=_load_ops(raw.get("operations", {})),
        mcast_groups=tuple(g["name"] for g in raw.get("mcast-groups", {}).get("list", [])))


def main(argv: list[str]) -> int:
    """python -m qctl.spec compile [SPEC [OUT]]: write the compiled spec
    (default: every bundled one, next to it); --check: exit 1 on drift."""
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    if not args or args[0] != "compile":
        print("usage: python -m qctl.spec compile [--check] [SPEC [OUT]]", file=sys.stderr)
        return 2
    if len(args) == 1:
        return max(_compile_one(bundled(f), compiled_of(bundled(f)), check) for f in BUNDLED)
    src = args[1]
    return _compile_one(src, args[2] if len(args) > 2 else compiled_of(src), check)


def _compile_one(src: str, out: str, check: bool) -> int:
    text = json.dumps(compile_spec(src), sort_keys=True, separators=(",", ":")) + "\n"
    if check:
        try:
            with open(out, encoding="utf-8") as f:
                same = f.read() == text
        except OSError:
            same = False
        if not same:
            print(f"DRIFT: {out} is not the compiled {src}; run python -m qctl.spec compile",
                  file=sys.stderr)
            return 1
        return 0
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

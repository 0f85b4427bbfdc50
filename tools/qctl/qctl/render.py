"""Human and JSON output for the CLI."""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api import Overview
    from .pool import Pool


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    rows = [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [len(h) for h in headers]
    for r in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, r, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*headers).rstrip()]
    lines += [fmt.format(*r).rstrip() for r in rows]
    return "\n".join(lines)


def event_line(name: str, attrs: dict[str, Any]) -> str:
    parts = [name]
    for k in ("ifindex", "type", "id"):
        if k in attrs:
            parts.append(f"{k} {attrs[k]}")
    rest = {k: v for k, v in attrs.items() if k not in ("ifindex", "type", "id")}
    parts += [f"{k} {v}" for k, v in sorted(rest.items())]
    return " ".join(parts)


def _branch(items: list[str], last_prefix: str = "") -> list[str]:
    out = []
    for i, item in enumerate(items):
        last = i == len(items) - 1
        lines = item.split("\n")
        out.append(last_prefix + ("└── " if last else "├── ") + lines[0])
        out += [last_prefix + ("    " if last else "│   ") + ln for ln in lines[1:]]
    return out


def device_tree(o: Overview) -> str:
    """A device, its queues (with who serves each) and its slices, as a tree.

    `o.names` maps ifindexes of this netns to names (slices elsewhere show
    their ifindex and netns id); a lease that is not one of the device's
    slices (a netkit peer) is shown as a lease.
    """
    def label(ifx: int, netns_id: int | None) -> str:
        if netns_id is not None:
            return f"ifindex {ifx} in netns id {netns_id}"
        return o.names.get(ifx, f"ifindex {ifx}")

    qlines = []
    for w in o.owners:
        q = w.queue
        line = f"{q.type} {q.id:<3} {q.origin}"
        if q.napi_id:
            line += f" napi {q.napi_id}"
        if q.lease is not None:
            line += f"  -> {w.kind} {label(q.lease.ifindex, q.lease.netns_id)}" \
                    f" {q.lease.type} {q.lease.id}"
        qlines.append(line)
    name, ifindex, queues, slices = o.name, o.ifindex, o.queues, o.slices
    slines = []
    for s in slices:
        where = f", netns id {s.netns_id}" if s.netns_id is not None else ""
        head = (f"{s.name} (slice {s.id}, ifindex {s.ifindex}{where}) mac {s.mac} "
                f"rx {s.rx_queues} tx {s.tx_queues} max {s.max_queues}")
        maps = [f"{q.type} {q.id:<3} <- {name} {q.type} {q.parent_id}" for q in s.queues]
        slines.append("\n".join([head] + _branch(maps)))
    parts = [f"queues ({len(queues)})\n" + "\n".join(_branch(qlines))]
    parts.append(f"slices ({len(slices)})" + ("\n" + "\n".join(_branch(slines)) if slines else ""))
    return "\n".join([f"{name} (ifindex {ifindex})"] + _branch(parts))


def _ids(ids: Sequence[int]) -> str:
    return ",".join(map(str, ids)) or "-"


def pool_tree(p: Pool) -> str:
    """A device's queue pools and their split (a pool.Pool), as a tree."""
    head = p.devlink + "  " + "  ".join(
        f"{t} pool {s.size} ({s.shared} shared, {s.free} free)" for t, s in p.pools.items())
    fns = []
    for f in p.functions:
        label = f"{f.name} (port {f.port_index}" + (f", {f.netdev})" if f.netdev else ")")
        label += "  " + "  ".join(f"{t} {s.used}/{s.share} used" for t, s in f.shares.items())
        users = [f"{u.kind} {u.name}: rx {_ids(u.rx)}  tx {_ids(u.tx)}" for u in f.users]
        fns.append("\n".join([label] + _branch(users)))
    return "\n".join([head] + _branch(fns))

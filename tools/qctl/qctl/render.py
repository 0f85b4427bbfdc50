"""Human and JSON output for the CLI."""
from __future__ import annotations

import json
from typing import Any, Iterable, Sequence


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    rows = [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [len(h) for h in headers]
    for r in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, r)]
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

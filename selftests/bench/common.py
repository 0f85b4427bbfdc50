"""Shared by the benchmarks: percentiles and the JSON report."""
from __future__ import annotations

import json
import os
import statistics
from typing import Any


def pct(xs: list[float], p: float) -> float:
    """The p-quantile (0..1) of xs, nearest rank."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]


def spread(xs: list[float]) -> dict[str, float]:
    """Median, min, max and count: how every benchmark figure is stated."""
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def report(out: dict[str, Any], name: str) -> None:
    """Print the figures and, in the VM, save them to $QM_RESULTS/name."""
    print(json.dumps(out, indent=2))
    res = os.environ.get("QM_RESULTS")
    if res:
        with open(os.path.join(res, name), "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2)

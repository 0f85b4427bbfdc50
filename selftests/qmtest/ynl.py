"""The kernel tree's own YNL library, loaded from the patched tree.

Tests use it as an independent netlink client: what qctl reports is checked
against what ynl reports, both driven by the tree's netdev.yaml.
"""
from __future__ import annotations

import os
import sys
from typing import Any

KDIR = os.environ.get("QM_KDIR", "")


def _import_ynl() -> tuple[Any, Any]:
    if not KDIR or not os.path.isdir(f"{KDIR}/tools/net/ynl/pyynl/lib"):
        raise RuntimeError("QM_KDIR must point at the patched kernel tree (tools/net/ynl/pyynl)")
    path = f"{KDIR}/tools/net/ynl"
    if path not in sys.path:
        sys.path.insert(0, path)
    from pyynl.lib import NlError, YnlFamily  # type: ignore[import-not-found]
    return YnlFamily, NlError


YnlFamily, NlError = _import_ynl()


def spec_path(family: str) -> str:
    return f"{KDIR}/Documentation/netlink/specs/{family}.yaml"


def netdev_family() -> Any:
    return YnlFamily(spec_path("netdev"))


def qstats_by_queue(nf: Any, ifindex: int) -> dict[tuple[str, int], dict[str, int]]:
    """Per-queue qstats of one device, keyed by (type, id)."""
    res: dict[tuple[str, int], dict[str, int]] = {}
    for e in nf.qstats_get({"ifindex": ifindex, "scope": "queue"}, dump=True):
        res[(e["queue-type"], e["queue-id"])] = e
    return res


def qstats_dev(nf: Any, ifindex: int) -> dict[str, int]:
    return nf.qstats_get({"ifindex": ifindex}, dump=True)[0]


def cli(family: str = "netdev") -> list[str]:
    """The tree's ynl command line, with the tree's (patched) spec of `family`."""
    return [sys.executable, f"{KDIR}/tools/net/ynl/pyynl/cli.py", "--spec", spec_path(family)]

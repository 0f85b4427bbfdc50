"""qctl: manage device queues and slices through the netdev netlink family.

The importable API lives in :mod:`qctl.api`; the CLI in :mod:`qctl.cli` is a
thin layer over it.  Names load on first use (PEP 562), so that importing
the CLI does not import the library.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Lease": "api", "Netdev": "api", "Queue": "api",
    "GenlClient": "client",
    "DeviceError": "errors", "FeatureMissing": "errors", "KernelError": "errors",
    "QctlError": "errors", "SpecError": "errors", "UsageError": "errors",
    "Slice": "slices", "SliceQueue": "slices",
    "FamilySpec": "spec", "load_spec": "spec",
}
__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version
        return version("qctl")
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'qctl' has no attribute '{name}'")
    return getattr(importlib.import_module(f".{mod}", __name__), name)

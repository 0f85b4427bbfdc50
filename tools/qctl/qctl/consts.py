"""Names the CLI needs before it loads anything else."""
from __future__ import annotations

QUEUE_TYPES = ("rx", "tx")
U32_MAX = 2**32 - 1


def json_key(name: str) -> str:
    """A spec name as a JSON key: snake_case, the style of `ip -j`."""
    return name.replace("-", "_")


def json_attrs(value: object) -> object:
    """Attributes as the kernel's spec names them -> JSON keys, recursively."""
    if isinstance(value, dict):
        return {json_key(k): json_attrs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_attrs(v) for v in value]
    return value

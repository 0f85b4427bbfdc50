"""What ADD made for one attachment, kept for DEL, CHECK and GC.

One JSON file per attachment under $QMGMT_CNI_STATE (default
/var/lib/cni/qmgmt): <network>/<container id>-<ifname>.json, written
atomically.  A slice is found again by its parent and slice id, which
works while the container's netns is gone or the slice was renamed.

The default directory is the one a runtime's clean-up finds: podman runs
DEL from a process of its own, without the environment of the call that
ran ADD.  A file that does not decode raises Corrupt, never a traceback.
"""
from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from typing import Any, NamedTuple

STATE_ENV = "QMGMT_CNI_STATE"
DEFAULT_DIR = "/var/lib/cni/qmgmt"


class Attachment(NamedTuple):
    network: str
    container_id: str
    ifname: str
    parent_ifindex: int
    slice_id: int
    netns: str
    ipam: dict[str, Any] | None      # the IPAM config ADD delegated with

    @property
    def key(self) -> tuple[str, str]:
        return (self.container_id, self.ifname)


class Corrupt(Exception):
    """A state file that exists but does not hold an attachment."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"state file {path} is corrupt ({why})")
        self.path = path


def _read(path: str) -> Attachment:
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        a = Attachment(**d)
    except (ValueError, TypeError) as e:
        raise Corrupt(path, str(e)) from None
    ints = (a.parent_ifindex, a.slice_id)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in ints) or \
            not (a.ipam is None or isinstance(a.ipam, dict)):
        raise Corrupt(path, "wrong field types")
    return a


def _base() -> str:
    return os.environ.get(STATE_ENV) or DEFAULT_DIR


def _path(network: str, container_id: str, ifname: str) -> str:
    for part in (network, container_id, ifname):
        # config.parse_env/parse_config refuse these first, with CNI codes
        if "/" in part or part in ("", ".", ".."):
            raise ValueError(f"'{part}' cannot name a state file")
    return os.path.join(_base(), network, f"{container_id}-{ifname}.json")



def save(a: Attachment) -> None:
    path = _path(a.network, a.container_id, a.ifname)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(a._asdict(), f)
    os.replace(tmp, path)


def load(network: str, container_id: str, ifname: str) -> Attachment | None:
    try:
        return _read(_path(network, container_id, ifname))
    except FileNotFoundError:
        return None


def remove(network: str, container_id: str, ifname: str) -> None:
    with contextlib.suppress(FileNotFoundError):     # DEL is idempotent
        os.unlink(_path(network, container_id, ifname))


def all_of(network: str) -> Iterator[Attachment | Corrupt]:
    """Every attachment recorded for a network; a file that does not
    decode comes as Corrupt (GC removes it)."""
    d = os.path.join(_base(), network)
    try:
        names = sorted(os.listdir(d))
    except FileNotFoundError:
        return
    for name in names:
        if name.endswith(".json"):
            try:
                yield _read(os.path.join(d, name))
            except FileNotFoundError:
                continue                # a concurrent DEL took it
            except Corrupt as e:
                yield e

"""Named network namespaces, entered by this thread for a moment.

A socket keeps the namespace it was created in, so entering NS, opening
the socket and coming back is enough: no helper process.  A name that
does not exist is an error; nothing here creates a namespace.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import DeviceError, UsageError

NETNS_RUN_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    fn = getattr(os, "setns", None)        # Python 3.12+
    if fn is not None:
        fn(fd, CLONE_NEWNET)
        return
    import ctypes  # Python 3.11: no os.setns; only for -n
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


class Netns:
    """The namespace NAME of `ip netns`, or the one a `path` names (a CNI
    runtime's CNI_NETNS, /proc/PID/ns/net); for neither, the caller's own."""

    def __init__(self, name: str | None, *, path: str | None = None) -> None:
        self.name = name if path is None else path
        self._path = path
        self._fd: int | None = None

    def __str__(self) -> str:
        return f" in netns '{self.name}'" if self.name else ""

    def fd(self) -> int:
        """An fd of the namespace, opened once (never created)."""
        if self.name is None:
            raise UsageError("the caller's own namespace has no name")
        if self._fd is None:
            if self._path is not None:
                path = self._path
            elif not self.name or "/" in self.name or self.name in (".", ".."):
                raise UsageError(f"'{self.name}' is not a network namespace name")
            else:
                path = os.path.join(NETNS_RUN_DIR, self.name)
            try:
                self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                raise DeviceError(f"no network namespace '{self.name}' "
                                  f"({path} does not exist; see ip netns list)") from None
            except OSError as e:
                raise DeviceError(f"cannot open {path}: {e.strerror}") from None
        return self._fd

    @contextmanager
    def entered(self) -> Iterator[None]:
        """Run the block in the namespace (this thread only)."""
        if self.name is None:
            yield
            return
        target = self.fd()
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            try:
                _setns(target)
            except OSError as e:
                raise DeviceError(f"cannot enter netns '{self.name}': {e.strerror}") from None
            try:
                yield
            finally:
                _setns(home)
        finally:
            os.close(home)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

"""Network namespaces (named or by path) entered by this thread for a
moment, and user namespaces by path for `qctl run`.

A socket keeps the namespace it was created in, so entering NS, opening
the socket and coming back is enough: no helper process.  A name that
does not exist is an error; nothing here creates a namespace.  A path
must name a namespace of the right kind, checked when it is opened.
"""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from .errors import DeviceError, UsageError

NETNS_RUN_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
NS_GET_NSTYPE = 0xB703                  # _IO(0xb7, 0x3), Linux 4.11+
Kind = Literal["network", "user"]
_NSTYPE = {"network": CLONE_NEWNET, "user": CLONE_NEWUSER}
_NSNAMES = {0x00020000: "mount", 0x02000000: "cgroup", 0x04000000: "uts",
            0x08000000: "ipc", CLONE_NEWUSER: "user", 0x20000000: "pid",
            CLONE_NEWNET: "network", 0x00000080: "time"}


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


def _check_kind(fd: int, path: str, kind: Kind) -> None:
    try:
        got = fcntl.ioctl(fd, NS_GET_NSTYPE)
    except OSError:
        raise UsageError(f"{path} is not a namespace (a {kind} namespace is "
                         f"/proc/PID/ns/{'net' if kind == 'network' else 'user'})") from None
    if got != _NSTYPE[kind]:
        raise UsageError(f"{path} is a {_NSNAMES.get(got, 'different')} namespace, "
                         f"not a {kind} namespace")


class Netns:
    """The namespace NAME of `ip netns`, or the one a `path` names (a CNI
    runtime's CNI_NETNS, /proc/PID/ns/net); for neither, the caller's own.
    kind="user" is a user namespace, by path only (qctl run --userns-path)."""

    def __init__(self, name: str | None, *, path: str | None = None,
                 kind: Kind = "network") -> None:
        if kind != "network" and path is None and name is not None:
            raise UsageError(f"a {kind} namespace is named by path")
        self.name = name if path is None else path
        self.kind = kind
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
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                hint = "" if self._path is not None else "; see ip netns list"
                raise DeviceError(f"no {self.kind} namespace '{self.name}' "
                                  f"({path} does not exist{hint})") from None
            except OSError as e:
                raise DeviceError(f"cannot open {self.kind} namespace {path}: "
                                  f"{e.strerror}") from None
            try:
                _check_kind(fd, path, self.kind)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
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
                raise DeviceError(f"cannot enter {self.kind} namespace '{self.name}': "
                                  f"{e.strerror}") from None
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

"""Exceptions qctl raises; the CLI turns them into one-line messages."""
from __future__ import annotations

import errno
import os


# errno.errorcode picks one name for aliased values; use the kernel's.
_PREFERRED = {errno.EOPNOTSUPP: "EOPNOTSUPP", errno.EAGAIN: "EAGAIN",
              errno.EDEADLK: "EDEADLK"}


def errno_name(code: int) -> str:
    return _PREFERRED.get(code) or errno.errorcode.get(code, f"errno {code}")


class QctlError(Exception):
    """Base class: a user-facing failure with a message and an exit code."""

    exit_code = 1


class SpecError(QctlError):
    """The family spec (netdev.yaml) is unreadable or inconsistent."""


class DeviceError(QctlError):
    """A device name/ifindex or netns could not be resolved."""


class FeatureMissing(QctlError):
    """The running kernel lacks something qctl needs; the message names it."""

    exit_code = 3


class KernelError(QctlError):
    """The kernel refused a request: errno plus extack message."""

    def __init__(self, op: str, code: int, extack: str | None = None,
                 bad_attr: str | None = None) -> None:
        self.op = op
        self.code = code
        self.extack = extack or ""
        self.bad_attr = bad_attr
        msg = f"{op}: {errno_name(code)} ({os.strerror(code)})"
        if self.extack:
            msg += f": {self.extack}"
        super().__init__(msg)

    @property
    def errno_name(self) -> str:
        return errno_name(self.code)

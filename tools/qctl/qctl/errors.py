"""Exceptions qctl raises; the CLI turns them into one-line messages.

Exit codes (the CLI's, documented in the README and tested):
  0 ok; 1 the kernel refused, or a device or netns does not exist;
  2 usage (bad input, caught before any request); 3 the kernel lacks the
  family or the operation.
"""
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


class UsageError(QctlError):
    """Input no request could carry: an unknown name, a number out of range."""

    exit_code = 2


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
                 bad_attr: str | None = None, missing_attr: str | None = None) -> None:
        self.op = op
        self.code = code
        self.extack = extack or ""
        self.bad_attr = bad_attr            # extack NLMSGERR_ATTR_OFFS, by name
        self.missing_attr = missing_attr    # extack NLMSGERR_ATTR_MISS_TYPE
        msg = f"{op}: {errno_name(code)} ({os.strerror(code)})"
        if self.extack:
            msg += f": {self.extack}"
        if bad_attr:
            msg += f" [attribute {bad_attr}]"
        if missing_attr:
            msg += f" [missing attribute {missing_attr}]"
        super().__init__(msg)

    @property
    def errno_name(self) -> str:
        return errno_name(self.code)

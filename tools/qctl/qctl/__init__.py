"""qctl: manage device queues and slices through the netdev netlink family.

The importable API lives in :mod:`qctl.api`; the CLI in :mod:`qctl.cli` is a
thin layer over it.
"""
from .api import Lease, Netdev, Queue  # noqa: F401
from .client import GenlClient  # noqa: F401
from .errors import DeviceError, FeatureMissing, KernelError, QctlError, SpecError  # noqa: F401
from .slices import Slice, SliceQueue  # noqa: F401
from .spec import FamilySpec, load_spec  # noqa: F401

__version__ = "0.1.0"

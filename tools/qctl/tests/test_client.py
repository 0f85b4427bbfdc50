"""Feature detection asks the kernel's family for its ops, not a number."""
from __future__ import annotations

import pytest

from qctl.client import GenlClient
from qctl.errors import FeatureMissing


def test_stock_kernel_with_queue_create_but_no_qmgmt():
    c = GenlClient()
    # what CTRL_CMD_GETFAMILY lists on a stock 7.1+ kernel: up to queue-create
    c._kernel_ops = set(range(1, 17))
    assert c.kernel_has("queue-create")
    with pytest.raises(FeatureMissing,
                       match=r"queue-create without a lease, which needs netdev "
                             r"'queue-destroy' \(command 64\)"):
        c.require("queue-destroy", "queue-create without a lease")


def test_patched_kernel_passes():
    c = GenlClient()
    c._kernel_ops = set(range(1, 17)) | set(range(64, 70))
    c.require("queue-destroy", "queue-create without a lease")
    c.require("slice-get")

"""qctl's edges on the patched kernel: the bugs qctl 0.1 had.

Each test failed on qctl 0.1 (pyroute2 sockets), as its docstring says.
"""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import pytest
from qctl import Netdev
from qctl.errors import KernelError, QctlError

from qmtest.nsim import NetdevSim

QCTL = [sys.executable, "-m", "qctl.cli"]


def qctl(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(QCTL + list(argv), capture_output=True, text=True, check=False,
                          timeout=120)


def test_missing_netns_is_an_error_and_not_created() -> None:
    """0.1 created /run/netns/NS, printed an empty table and exited 0."""
    assert not os.path.exists("/run/netns/qmtypo")
    r = qctl("-n", "qmtypo", "queues", "lo")
    assert r.returncode == 1 and "no network namespace 'qmtypo'" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert not os.path.exists("/run/netns/qmtypo")
    r = qctl("slice", "create", "lo", "--rx", "1", "--tx", "1", "--move-to", "qmtypo")
    assert r.returncode == 1 and not os.path.exists("/run/netns/qmtypo")


def test_requests_do_not_eat_notifications(dev2: NetdevSim) -> None:
    """0.1 lost the notifications that arrived before a request."""
    with Netdev() as mon, Netdev() as nd:
        mon.client.subscribe("mgmt")
        got = []
        for qid in (2, 3, 4):
            nd.alloc(dev2.ifindex, "rx", qid)
            # a request on the subscribed client while the ntf is pending
            assert len(mon.queues(dev2.ifindex)) >= 3
            nd.free(dev2.ifindex, "rx", qid)
            mon.client.do("queue-get", {"ifindex": dev2.ifindex, "type": "rx", "id": 0})
        for name, attrs in mon.client.notifications(timeout=2):
            if attrs.get("ifindex") == dev2.ifindex:
                got.append((name, attrs["type"], attrs["id"]))
    assert got == [(n, "rx", q) for q in (2, 3, 4)
                   for n in ("queue-add-ntf", "queue-del-ntf")]


def test_extack_names_the_attribute(dev2: NetdevSim) -> None:
    """0.1 dropped the extack's attribute offset and missing-attribute."""
    with Netdev() as nd:
        try:
            nd.client.do("queue-create", {"ifindex": dev2.ifindex, "type": 7})
        except KernelError as e:
            assert e.code == errno.ERANGE and e.bad_attr == "type", str(e)
        else:
            raise AssertionError("queue-create with type 7 succeeded")
    r = qctl("free", dev2.ifname, "0", "--type", "rx")
    assert r.returncode == 1 and "EINVAL" in r.stderr


def test_out_of_range_is_usage_not_traceback(dev2: NetdevSim) -> None:
    """0.1 ended in a struct.error traceback."""
    r = qctl("alloc", dev2.ifname, "--type", "rx", "--id", str(2**32))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    with Netdev() as nd, pytest.raises(QctlError, match="out of range") as ei:
        nd.queue(dev2.ifindex, "rx", 2**32)
    assert ei.value.exit_code == 2                      # a usage error


def test_json_alloc_reports_the_kernels_queue(dev2: NetdevSim) -> None:
    """`-j alloc` used to print a queue qctl built itself: napi_id null.
    Now it is the kernel's queue-get of the new queue."""
    r = qctl("-j", "alloc", dev2.ifname, "--type", "rx")
    assert r.returncode == 0, r.stderr
    q = json.loads(r.stdout)
    try:
        assert q["type"] == "rx" and q["origin"] == "dynamic"
        assert isinstance(q["napi_id"], int) and q["napi_id"] > 0, q
    finally:
        assert qctl("free", dev2.ifname, str(q["id"]), "--type", "rx").returncode == 0

"""qctl pool (issue #12): show and set a device's queue split, through the
devlink family on the patched kernel (netdevsim with two VFs)."""
from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from qmtest.nsim import BUS, NetdevSim
from qmtest.utils import cmd, write_file

QCTL = [sys.executable, "-m", "qctl"]


def qctl(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(QCTL + list(argv), capture_output=True, text=True, check=False,
                          timeout=120)


def qctl_j(*argv: str) -> Any:
    r = qctl("-j", *argv)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture
def dev(nsim: Callable[..., NetdevSim]) -> NetdevSim:
    """8 queues (2 live) on the PF, switchdev, 2 VFs: pools of 16."""
    d = nsim(queues=8)
    cmd(["ethtool", "-L", d.ifname, "combined", "2"])
    d.up()                  # queue-get reports the queues of running devices
    cmd(["devlink", "dev", "eswitch", "set", f"netdevsim/netdevsim{d.dev_id}",
         "mode", "switchdev"])
    write_file(f"{BUS}/devices/netdevsim{d.dev_id}/sriov_numvfs", "2")
    return d


def test_pool_show(dev: NetdevSim) -> None:
    p = qctl_j("pool", dev.ifname)
    assert p["devlink"] == f"netdevsim/netdevsim{dev.dev_id}"
    assert p["pool"]["rx"] == {"size": 16, "shared": 8, "free": 8}
    pf, vf0, vf1 = p["functions"]
    assert (pf["function"], pf["netdev"], pf["rx"]) == (
        "pf0", dev.ifname, {"share": 8, "used": 2, "free": 6})
    assert pf["users"] == [{"kind": "netdev", "name": dev.ifname, "rx": [0, 1], "tx": [0, 1]}]
    assert [vf0["function"], vf1["function"]] == ["vf0", "vf1"]
    assert vf0["rx"] == {"share": 0, "used": 0, "free": 0}
    text = qctl("pool", "show", dev.ifname).stdout
    assert "rx pool 16 (8 shared, 8 free)" in text and "pf0 (port 0," in text


def test_pool_set_split(dev: NetdevSim) -> None:
    r = qctl("pool", "set", dev.ifname, "pf0", "--rx", "4", "--tx", "4")
    assert r.returncode == 0, r.stderr
    f = qctl_j("pool", "set", dev.ifname, "vf1", "--rx", "6", "--tx", "5")
    assert (f["function"], f["rx"]["share"], f["tx"]["share"]) == ("vf1", 6, 5)
    p = qctl_j("pool", dev.ifname)
    assert p["pool"]["rx"] == {"size": 16, "shared": 10, "free": 6}
    assert p["pool"]["tx"]["shared"] == 9
    s = qctl_j("slice", "create", dev.ifname, "--rx", "1", "--tx", "1")
    p = qctl_j("pool", dev.ifname)
    users = p["functions"][0]["users"]
    assert users[1]["kind"] == "slice" and users[1]["name"] == s["name"]
    assert p["functions"][0]["rx"]["used"] == 3
    qctl("slice", "delete", s["name"])


def test_pool_set_refused_with_the_kernels_text(dev: NetdevSim) -> None:
    before = qctl_j("pool", dev.ifname)
    r = qctl("pool", "set", dev.ifname, "vf0", "--rx", "9")
    assert r.returncode == 1 and "ENOSPC" in r.stderr
    assert "rx queue pool has 8 free of 16" in r.stderr
    r = qctl("pool", "set", dev.ifname, "pf0", "--rx", "1")
    assert r.returncode == 1 and "EBUSY" in r.stderr and "rx queue 1 is in use" in r.stderr
    r = qctl("pool", "set", dev.ifname, "pf0", "--rx", "17")
    assert r.returncode == 1 and "ERANGE" in r.stderr
    assert "larger than the device's pool of 16" in r.stderr
    r = qctl("pool", "set", dev.ifname, "pf0", "--rx", "70000")   # the spec's max
    assert r.returncode == 2 and "out of range" in r.stderr
    assert qctl_j("pool", dev.ifname) == before


def test_pool_usage_errors(dev: NetdevSim) -> None:
    r = qctl("pool", "set", dev.ifname, "vf7", "--rx", "1")
    assert r.returncode == 2 and "no function 'vf7'" in r.stderr
    r = qctl("pool", "set", dev.ifname, "pf0")
    assert r.returncode == 2 and "--rx" in r.stderr
    r = qctl("pool", "lo")
    assert r.returncode == 1 and "lo has no devlink port" in r.stderr
    assert "Traceback" not in r.stderr

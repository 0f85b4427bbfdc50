"""qctl pool: the devlink spec, bitfield32, and the pool tree (pure logic)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from qctl import codec
from qctl.cli import cli
from qctl.errors import UsageError
from qctl.pool import Function, Pool, PoolSize, Share, User
from qctl.render import pool_tree
from qctl.spec import load_spec


@pytest.fixture(scope="module")
def devlink():
    return load_spec(family="devlink")


def test_devlink_spec_has_the_share_attributes(devlink):
    fn = devlink.attr_set("dl-port-function")
    # pinned from 64, clear of upstream's appends after max-io-eqs (6); the
    # ids match include/uapi/linux/devlink.h
    assert [fn[n].value for n in ("max-io-eqs", "rx-queues", "tx-queues",
                                  "rx-queues-used", "tx-queues-used")] == [6, 64, 65, 66, 67]
    assert fn["rx-queues"].max == 0xffff and fn["rx-queues"].doc
    assert "admin-perm" in devlink.op("port-set").flags


def test_every_devlink_set_compiles(devlink):
    t = codec.compile_sets(devlink)
    for name in devlink.attr_sets:
        assert t[name].name == name


def test_bitfield32_round_trip(devlink):
    t = codec.compile_sets(devlink)["dl-port-function"]
    raw = codec.encode(t, {"caps": {"value": 1, "selector": 3}, "rx-queues": 4})
    assert codec.decode(t, raw, 0, len(raw)) == {"caps": {"value": 1, "selector": 3},
                                                 "rx-queues": 4}
    with pytest.raises(UsageError):
        codec.encode(t, {"caps": 1})
    with pytest.raises(UsageError):
        codec.encode(t, {"rx-queues": 1 << 16})     # the spec's checks: max


def _pool() -> Pool:
    sh = {"rx": Share(4, 3), "tx": Share(4, 2)}
    pf = Function("pf0", 0, "physical", "eth0", sh,
                  (User("netdev", "eth0", (0, 1), (0, 1)), User("slice", "sl0", (2,), ())))
    vf = Function("vf0", 128, "pci-vf", "eth0vf0", {"rx": Share(6, 6), "tx": Share(6, 0)})
    return Pool("netdevsim/netdevsim1", {"rx": PoolSize(16, 10), "tx": PoolSize(16, 10)},
                (pf, vf))


def test_pool_json_is_snake_case_and_counts_free():
    j = _pool().to_json()
    assert j["pool"]["rx"] == {"size": 16, "shared": 10, "free": 6}
    assert j["functions"][0]["rx"] == {"share": 4, "used": 3, "free": 1}
    assert j["functions"][0]["users"][1] == {"kind": "slice", "name": "sl0", "rx": [2],
                                             "tx": []}
    assert all("_" not in k or k.islower() for k in json.loads(json.dumps(j)))


def test_pool_tree():
    text = pool_tree(_pool())
    assert text.splitlines()[0] == ("netdevsim/netdevsim1  rx pool 16 (10 shared, 6 free)"
                                    "  tx pool 16 (10 shared, 6 free)")
    assert "├── pf0 (port 0, eth0)  rx 3/4 used  tx 2/4 used" in text
    assert "slice sl0: rx 2  tx -" in text
    assert "└── vf0 (port 128, eth0vf0)  rx 6/6 used  tx 0/6 used" in text


def test_pool_dev_means_show():
    r = CliRunner().invoke(cli, ["pool", "--help"])
    assert r.exit_code == 0 and "set" in r.output and "show" in r.output
    r = CliRunner().invoke(cli, ["pool", "set", "--help"])
    assert r.exit_code == 0 and "FUNCTION" in r.output
    r = CliRunner().invoke(cli, ["pool", "set", "eth0", "vf0", "--rx", "-1"])
    assert r.exit_code == 2

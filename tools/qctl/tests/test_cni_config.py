"""qmgmt-cni's config and environment handling (pure logic, no kernel)."""
from __future__ import annotations

import json

import pytest

from qctl.cni import plugin
from qctl.cni.config import CniError, parse_config, parse_env, request

ENV = {"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_NETNS": "/run/netns/p1",
       "CNI_IFNAME": "net1", "CNI_PATH": "/usr/lib/cni"}
CONF = {"cniVersion": "1.1.0", "name": "nf", "type": "qmgmt-cni", "parent": "eth0",
        "rxQueues": 2, "txQueues": 2, "maxQueues": 4}


def test_version_needs_no_config():
    rc, out = plugin.run({"CNI_COMMAND": "VERSION"}, b"")
    assert rc == 0 and out is not None
    assert out["cniVersion"] == "1.1.0" and "1.1.0" in out["supportedVersions"]


def test_overrides_in_order():
    env = parse_env(dict(ENV, CNI_ARGS="IgnoreUnknown=1;QMGMT_RX_QUEUES=3;QMGMT_MAX_QUEUES=6"))
    r = request(CONF, env)
    assert (r.rx, r.tx, r.max_queues) == (3, 2, 6)
    conf = dict(CONF, runtimeConfig={"qmgmt": {"rxQueues": 4, "maxQueues": 8}})
    r = request(conf, env)
    assert (r.rx, r.tx, r.max_queues) == (4, 2, 8)      # runtimeConfig wins


def test_max_defaults_to_the_larger_count():
    conf = {k: v for k, v in CONF.items() if k != "maxQueues"}
    assert request(conf, parse_env(ENV)).max_queues == 2


@pytest.mark.parametrize("change, code", [
    ({"rxQueues": 0}, 7), ({"rxQueues": "x"}, 7), ({"maxQueues": 1}, 7),
    ({"rxQueues": 2**32}, 7), ({"parent": ""}, 7), ({"ipam": {"subnet": "x"}}, 7),
    ({"runtimeConfig": {"qmgmt": {"queues": 4}}}, 2),
])
def test_bad_config_codes(change, code):
    with pytest.raises(CniError) as ei:
        request(dict(CONF, **change), parse_env(ENV))
    assert ei.value.code == code


@pytest.mark.parametrize("environ, code", [
    ({k: v for k, v in ENV.items() if k != "CNI_NETNS"}, 4),
    (dict(ENV, CNI_IFNAME="a/b"), 4),
    (dict(ENV, CNI_ARGS="novalue"), 4),
    ({"CNI_COMMAND": ""}, 4),
])
def test_bad_env_codes(environ, code):
    with pytest.raises(CniError) as ei:
        parse_env(environ)
    assert ei.value.code == code


def test_config_decode_and_version_errors():
    for raw, code in ((b"{", 6), (b"[]", 6), (json.dumps(dict(CONF, cniVersion="9.9")), 1),
                      (json.dumps(dict(CONF, name="")), 7)):
        with pytest.raises(CniError) as ei:
            parse_config(raw)
        assert ei.value.code == code


def test_errors_are_cni_json_with_exit_1():
    rc, out = plugin.run(dict(ENV, CNI_COMMAND="ADD"), json.dumps(dict(CONF, rxQueues=0))
                         .encode())
    assert rc == 1 and out == {"cniVersion": "1.1.0", "code": 7,
                               "msg": "rxQueues 0 is out of range (1..4294967295)"}
    rc, out = plugin.run(dict(ENV, CNI_COMMAND="BOGUS"), json.dumps(CONF).encode())
    assert rc == 1 and out is not None and out["code"] == 4

"""The qctl run -> function handover (pure logic, no kernel)."""
from __future__ import annotations

import json

import pytest

from qctl.pktio.protocol import ENV, Handover, QueueSpec, UmemSpec

H = Handover("net1", 7, UmemSpec(3, 2 * 4096 * 2048, 2048),
             (QueueSpec(0, 4, "zerocopy", 0, 4096, 2048, 2048, 2048, 2048),
              QueueSpec(1, 5, "copy", 4096 * 2048, 4096, 2048, 2048, 2048, 2048)))


def test_round_trip():
    assert Handover.from_env({ENV: H.to_env()}) == H


def test_documented_layout():
    d = json.loads(H.to_env())
    assert d["version"] == 1 and d["umem"] == {"fd": 3, "size": 16777216, "frame_size": 2048}
    assert d["queues"][1] == {"queue": 1, "fd": 5, "mode": "copy", "umem_offset": 8388608,
                              "frames": 4096, "rx": 2048, "tx": 2048, "fill": 2048,
                              "comp": 2048}


@pytest.mark.parametrize("value, match", [
    (None, "not set"), ('{"version": 2}', "version 2"), ('{"version": 1}', "malformed"),
    ("{", "malformed"),
])
def test_bad_handover(value, match):
    env = {} if value is None else {ENV: value}
    with pytest.raises(ValueError, match=match):
        Handover.from_env(env)

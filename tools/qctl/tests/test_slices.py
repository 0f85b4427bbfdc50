"""Slice data classes, MAC parsing, the show tree and the slice CLI."""
from __future__ import annotations

import errno
import json
from typing import Any

import pytest
from conftest import install_fake, run_cli

from qctl import render
from qctl.api import Lease, Overview, Queue, ownership
from qctl.errors import KernelError, QctlError
from qctl.slices import Slice, format_mac, parse_mac

# slice-get as the codec decodes it (binary -> hex string)
SLICE_ATTRS = {
    "id": 0, "ifindex": 9, "parent-ifindex": 5, "name": "ns0", "rx-queues": 2,
    "tx-queues": 1, "max-queues": 4, "mac": "020000000001",
    "queue": [{"id": 0, "type": "tx", "parent-id": 4},
              {"id": 1, "type": "rx", "parent-id": 5},
              {"id": 0, "type": "rx", "parent-id": 4}],
}


def test_parse_mac():
    assert parse_mac("02:00:00:00:00:0a") == bytes([2, 0, 0, 0, 0, 10])
    assert parse_mac("02-00-00-00-00-0A") == bytes([2, 0, 0, 0, 0, 10])
    for bad in ("02:00:00:00:00", "02:00:00:00:00:0g", "02:00-00:00:00:00", ""):
        with pytest.raises(QctlError, match="not a MAC"):
            parse_mac(bad)
    with pytest.raises(QctlError, match="multicast"):
        parse_mac("01:00:5e:00:00:01")
    with pytest.raises(QctlError, match="all-zero"):
        parse_mac("00:00:00:00:00:00")


def test_format_mac_accepts_hex_and_bytes():
    assert format_mac("020000000001") == "02:00:00:00:00:01"
    assert format_mac(b"\x02\x00\x00\x00\x00\xff") == "02:00:00:00:00:ff"


def test_slice_from_attrs_orders_map_rx_first():
    s = Slice.from_attrs(SLICE_ATTRS)
    assert s.mac == "02:00:00:00:00:01" and s.netns_id is None
    assert [(q.type, q.id, q.parent_id) for q in s.queues] == \
        [("rx", 0, 4), ("rx", 1, 5), ("tx", 0, 4)]
    assert [q.parent_id for q in s.queues_of("rx")] == [4, 5]
    j = s.to_json()
    assert j["queues"][0] == {"type": "rx", "id": 0, "parent_id": 4}
    assert j["parent_ifindex"] == 5 and j["max_queues"] == 4


def test_slice_in_other_netns():
    s = Slice.from_attrs({**SLICE_ATTRS, "netns-id": 3})
    assert s.netns_id == 3


def test_queue_lease_decoded():
    q = Queue.from_attrs({"ifindex": 5, "type": "rx", "id": 4, "dynamic": True,
                          "lease": {"ifindex": 9, "queue": {"id": 0, "type": "rx"},
                                    "netns-id": 2}})
    assert q.lease == Lease(ifindex=9, type="rx", id=0, netns_id=2)
    assert q.to_json()["lease"] == {"ifindex": 9, "type": "rx", "id": 0, "netns_id": 2}


def test_device_tree():
    qs = [Queue(5, "rx", 0, 513, False),
          Queue(5, "rx", 4, None, True, Lease(9, "rx", 0)),
          Queue(5, "tx", 4, None, True, Lease(9, "tx", 0, netns_id=1)),
          Queue(5, "rx", 6, None, False, Lease(12, "rx", 1))]     # a netkit peer's
    s = Slice.from_attrs(SLICE_ATTRS)
    text = render.device_tree(Overview(5, "eth9", qs, [s], {9: "ns0"}))
    lines = text.splitlines()
    assert lines[0] == "eth9 (ifindex 5)"
    assert "├── rx 0   static napi 513" in lines[2]
    assert lines[3].endswith("rx 4   dynamic  -> slice ns0 rx 0")
    assert lines[4].endswith("-> slice ifindex 9 in netns id 1 tx 0")
    assert lines[5].endswith("rx 6   static  -> lease ifindex 12 rx 1")
    assert "ns0 (slice 0, ifindex 9) mac 02:00:00:00:00:01 rx 2 tx 1 max 4" in text
    assert text.rstrip().endswith("tx 0   <- eth9 tx 4")
    assert all(ln == ln.rstrip() for ln in lines)


class FakeNetdev:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail: Exception | None = None

    def close(self) -> None:
        pass

    def slice_create(self, parent: str, rx: int | None, tx: int | None, **kw: Any) -> Slice:
        self.calls.append(("create", parent, rx, tx, kw))
        if self.fail:
            raise self.fail
        return Slice.from_attrs(SLICE_ATTRS)

    def slice_delete(self, dev: str | None, parent: str | None = None,
                     slice_id: int | None = None) -> Slice:
        self.calls.append(("delete", dev, parent, slice_id))
        return Slice.from_attrs(SLICE_ATTRS)

    def slices(self, parent: str | None = None) -> list[Slice]:
        return [Slice.from_attrs(SLICE_ATTRS)]


@pytest.fixture
def fake(monkeypatch):
    return install_fake(monkeypatch, FakeNetdev())


def test_slice_create_passes_options(fake, capsys):
    rc, out, _ = run_cli(capsys, ["-j", "slice", "create", "eth9", "--rx", "2", "--tx", "1",
                              "--name", "ns0", "--mac", "02:00:00:00:00:01",
                              "--max-queues", "4", "--move-to", "c1"])
    assert rc == 0
    assert fake.calls == [("create", "eth9", 2, 1, {
        "name": "ns0", "mac": "02:00:00:00:00:01", "max_queues": 4,
        "parent_ids": None, "move_to": "c1"})]
    assert json.loads(out)["queues"][2] == {"type": "tx", "id": 0, "parent_id": 4}


def test_move_and_operate_are_distinct_flags(fake, capsys):
    """-n is where qctl operates, --move-to where the slice goes; the
    old `slice create --netns` is gone rather than meaning something else."""
    rc, _, err = run_cli(capsys, ["-n", "a", "slice", "create", "eth9", "--rx", "1",
                                  "--tx", "1", "--netns", "b"])
    assert rc == 2 and "--netns" in err and fake.calls == []
    rc, _, _ = run_cli(capsys, ["-n", "a", "slice", "create", "eth9", "--rx", "1",
                                "--tx", "1", "--move-to", "b"])
    assert rc == 0 and fake.calls[0][4]["move_to"] == "b"


def test_json_keys_are_snake_case(fake, capsys):
    """one key style for every object, as ip -j has it."""
    rc, out, _ = run_cli(capsys, ["-j", "slice", "list"])
    keys: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            keys.update(v)
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(json.loads(out))
    assert rc == 0 and keys and not [k for k in keys if "-" in k]


def test_slice_create_explicit_queues(fake, capsys):
    rc, _, _ = run_cli(capsys, ["slice", "create", "eth9", "--queue", "rx:4", "--queue", "tx:4"])
    assert rc == 0 and fake.calls[0][4]["parent_ids"] == [("rx", 4), ("tx", 4)]
    rc, _, err = run_cli(capsys, ["slice", "create", "eth9", "--queue", "rx4"])
    assert rc == 2 and "TYPE:ID" in err


def test_slice_create_refusal_shows_extack(fake, capsys):
    fake.fail = KernelError("ip link add type slice", errno.EEXIST,
                            "a device named ns0 already exists")
    rc, out, err = run_cli(capsys, ["slice", "create", "eth9", "--rx", "1", "--tx", "1",
                                "--name", "ns0"])
    assert rc == 1 and out == ""
    assert err.strip() == ("qctl: error: ip link add type slice: EEXIST (File exists): "
                           "a device named ns0 already exists")


def test_slice_delete_by_parent_and_id(fake, capsys):
    rc, out, _ = run_cli(capsys, ["-j", "slice", "delete", "--parent", "eth9", "--id", "0"])
    assert rc == 0 and fake.calls == [("delete", None, "eth9", 0)]
    assert json.loads(out)["deleted"] is True


def test_slice_list_table(fake, capsys):
    rc, out, _ = run_cli(capsys, ["slice", "list"])
    lines = out.splitlines()
    assert rc == 0 and lines[0].split()[:4] == ["PARENT", "ID", "NAME", "IFINDEX"]
    assert lines[1].split() == ["5", "0", "ns0", "9", "-", "02:00:00:00:00:01", "2", "1", "4"]


def test_ownership_one_rule():
    """A lease that names one of the device's slices is the slice's; any
    other lease (netkit) is a lease, never called a slice."""
    qs = [Queue(5, "rx", 0), Queue(5, "rx", 1, lease=Lease(9, "rx", 0)),
          Queue(5, "tx", 1, lease=Lease(12, "tx", 0))]
    got = [(w.queue.id, w.queue.type, w.kind, w.ifindex) for w in ownership(qs, {9})]
    assert got == [(0, "rx", "own", None), (1, "rx", "slice", 9), (1, "tx", "lease", 12)]

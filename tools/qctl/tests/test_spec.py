"""Spec loading and id derivation (pure logic, no kernel)."""
from __future__ import annotations

import os
import re
import textwrap

import pytest

from qctl.errors import SpecError
from qctl.spec import BUNDLED_SPEC, load_spec

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


@pytest.fixture(scope="module")
def spec():
    return load_spec()


def test_stock_ids_unchanged(spec):
    # upstream numbering must not move: binary compatibility
    want = {"dev-get": 1, "dev-add-ntf": 2, "page-pool-get": 5, "queue-get": 10,
            "napi-get": 11, "qstats-get": 12, "bind-rx": 13}
    assert {k: spec.op(k).value for k in want} == want
    q = spec.attr_set("queue")
    assert [q[n].value for n in ("id", "ifindex", "type", "napi-id", "dmabuf")] == [1, 2, 3, 4, 5]
    assert spec.attr_set("qstats")["rx-packets"].value == 8


def test_upstream_7_1_ids_unchanged(spec):
    # queue leasing (7.1): queue-create 16 and the lease nest, queue attr 8
    assert spec.op("queue-create").value == 16
    assert spec.op("napi-set").value == 14 and spec.op("bind-tx").value == 15
    assert spec.attr_set("queue")["lease"].value == 8


def test_qmgmt_attrs_start_at_64(spec):
    """An attribute added to an upstream set takes 64 and up, as commands do."""
    queue = spec.attr_set("queue")
    assert queue["dynamic"].value == 64
    assert max(v for v, a in queue.by_value.items() if a.name != "dynamic") < 64


def test_qmgmt_ops_start_at_64(spec):
    """Out-of-tree commands take 64 and up: an op upstream appends after 16
    can never collide with them (Documentation/networking/queue-mgmt.rst)."""
    names = ["queue-destroy", "queue-add-ntf", "queue-del-ntf", "slice-get",
             "slice-add-ntf", "slice-del-ntf"]
    assert [spec.op(n).value for n in names] == list(range(64, 70))
    upstream = [op.value for op in spec.ops.values() if op.name not in names]
    assert max(upstream) < 64
    assert spec.op("queue-add-ntf").mcgrp == "mgmt"
    assert spec.op("queue-add-ntf").attr_set == "queue"
    assert spec.op("slice-add-ntf").mcgrp == "mgmt"
    assert spec.op("slice-del-ntf").attr_set == "slice"


def test_permissions_decided_once(spec):
    # a container admin may size its slice: uns-admin-perm, and the handler
    # keeps physical devices and leases to the initial namespace
    for op in ("queue-create", "queue-destroy"):
        assert spec.op(op).flags == ("uns-admin-perm",)
    # slices are created and deleted through rtnetlink, not this family
    assert not {"slice-create", "slice-delete"} & set(spec.ops)


def test_lease_nest_has_upstream_layout(spec):
    lease = spec.attr_set("lease")
    assert [(a.name, a.value) for a in sorted(lease.by_name.values(), key=lambda a: a.value)] \
        == [("ifindex", 1), ("queue", 2), ("netns-id", 3)]
    assert lease["queue"].nested == "queue-id"


def test_every_slice_attribute_documented(spec):
    for set_name in ("slice", "slice-queue", "lease"):
        for a in spec.attr_set(set_name).by_name.values():
            assert a.doc.strip(), f"{set_name} attribute {a.name} has no doc"


def test_every_queue_attribute_documented(spec):
    for a in spec.attr_set("queue").by_name.values():
        assert a.doc.strip(), f"queue attribute {a.name} has no doc"
    for name in ("queue-create", "queue-destroy", "queue-add-ntf", "queue-del-ntf"):
        assert spec.op(name).doc.strip()


def test_subset_reuses_parent_ids(spec):
    qid = spec.attr_set("queue-id")
    assert qid["id"].value == 1 and qid["type"].value == 3


def test_enums(spec):
    assert spec.enums["queue-type"].by_name == {"rx": 0, "tx": 1}
    assert spec.enums["qstats-scope"].kind == "flags"
    assert spec.enums["qstats-scope"].by_name["queue"] == 1


def test_ids_match_generated_uapi_header():
    """The spec numbering equals what ynl-gen-c put in the patched UAPI."""
    spec = load_spec()
    text = ""
    patches = os.path.join(ROOT, "patches")
    for p in sorted(os.listdir(patches)):
        if p.endswith(".patch"):
            with open(os.path.join(patches, p), encoding="utf-8") as f:
                text += f.read()
    for op in ("queue-destroy", "queue-add-ntf", "queue-del-ntf"):
        c = "NETDEV_CMD_" + op.upper().replace("-", "_")
        assert re.search(rf"^\+\t{c}[ ,=]", text, re.M), f"{c} not generated"
    m = re.search(r"^\+\tNETDEV_CMD_QUEUE_DESTROY = (\d+),", text, re.M)
    assert m and int(m.group(1)) == spec.op("queue-destroy").value
    m = re.search(r"^\+\tNETDEV_A_QUEUE_DYNAMIC = (\d+),", text, re.M)
    assert m and int(m.group(1)) == spec.attr_set("queue")["dynamic"].value
    m = re.search(r"^\+\tDEVLINK_PORT_FN_ATTR_RX_QUEUES = (\d+),", text, re.M)
    assert m and int(m.group(1)) == 64, "devlink.h is hand-written: pinned there"


def _write(tmp_path, body: str) -> str:
    p = tmp_path / "fam.yaml"
    p.write_text(textwrap.dedent(body))
    return str(p)


def test_value_override_continues(tmp_path):
    path = _write(tmp_path, """
        name: fam
        attribute-sets:
          - name: s
            attributes:
              - {name: a, type: u32}
              - {name: b, type: u32, value: 7}
              - {name: c, type: u32}
        operations:
          list:
            - {name: x, doc: x, attribute-set: s, do: {request: {attributes: [a]}}}
            - {name: y, doc: y, value: 10, attribute-set: s, do: {request: {attributes: [a]}}}
            - {name: z, doc: z, attribute-set: s, do: {request: {attributes: [a]}}}
        """)
    s = load_spec(path)
    assert [s.attr_set("s")[n].value for n in "abc"] == [1, 7, 8]
    assert [s.op(n).value for n in "xyz"] == [1, 10, 11]


def test_duplicate_ids_rejected(tmp_path):
    path = _write(tmp_path, """
        name: fam
        attribute-sets:
          - name: s
            attributes:
              - {name: a, type: u32, value: 2}
              - {name: b, type: u32, value: 2}
        """)
    with pytest.raises(SpecError, match="used twice"):
        load_spec(path)


def test_unknown_subset_parent_rejected(tmp_path):
    path = _write(tmp_path, """
        name: fam
        attribute-sets:
          - name: s
            subset-of: nope
            attributes:
              - {name: a}
        """)
    with pytest.raises(SpecError, match="unknown"):
        load_spec(path)


def test_missing_and_bad_spec(tmp_path):
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(str(bad))
    with pytest.raises(SpecError, match="not in the netdev spec"):
        load_spec().op("no-such-op")


def test_bundled_spec_is_a_file():
    assert os.path.isfile(BUNDLED_SPEC)


def test_compiled_bundled_spec_in_sync():
    """specs/netdev.json is what `python -m qctl.spec compile` makes of the YAML."""
    from qctl.spec import main
    assert main(["compile", "--check"]) == 0


def test_other_spec_compiled_once(tmp_path, monkeypatch):
    """A spec given by path is parsed once, then loaded from the cache."""
    import shutil

    from qctl import spec as qspec
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = str(tmp_path / "netdev.yaml")
    shutil.copy(BUNDLED_SPEC, path)
    first = load_spec(path)
    monkeypatch.setattr(qspec, "_parse_yaml", lambda p: pytest.fail("parsed again"))
    again = load_spec(path)
    assert again.op("queue-get").value == first.op("queue-get").value == 10
    with open(path, "a", encoding="utf-8") as f:
        f.write("\n# changed\n")
    with pytest.raises(pytest.fail.Exception):
        load_spec(path)                 # new content: a new compile

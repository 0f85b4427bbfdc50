"""CLI output and error handling, over a stand-in for the library layer."""
from __future__ import annotations

import errno
import json
from typing import Any

import pytest
from conftest import install_fake, run_cli

from qctl.api import Queue
from qctl.errors import DeviceError, FeatureMissing, KernelError


class FakeNetdev:
    def __init__(self, netns: str | None = None, spec: Any = None) -> None:
        self.netns = netns
        self.calls: list[tuple[Any, ...]] = []
        self.fail: Exception | None = None

    def close(self) -> None:
        pass

    def resolve(self, dev: str) -> int:
        if dev == "missing":
            raise DeviceError("no device named 'missing'")
        return 5

    def ifname(self, ifindex: int) -> str:
        return "eth9"

    def queues(self, dev: str) -> list[Queue]:
        return [Queue(5, "rx", 0, 513, False), Queue(5, "rx", 2, 514, True),
                Queue(5, "tx", 0, None, False)]

    def alloc(self, dev: str, qtype: str, qid: int | None) -> Queue:
        self.calls.append(("alloc", dev, qtype, qid))
        if self.fail:
            raise self.fail
        return Queue(5, qtype, 2 if qid is None else qid, None, True)

    def free(self, dev: str, qtype: str, qid: int) -> Queue:
        ifindex = self.resolve(dev)
        self.calls.append(("free", dev, qtype, qid))
        if self.fail:
            raise self.fail
        return Queue(ifindex, qtype, qid, None, True)


@pytest.fixture
def fake(monkeypatch):
    return install_fake(monkeypatch, FakeNetdev())


def test_queues_table(fake, capsys):
    rc, out, err = run_cli(capsys, ["queues", "eth9"])
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["TYPE", "ID", "NAPI", "ORIGIN"]
    assert lines[2].split() == ["rx", "2", "514", "dynamic"]
    assert lines[3].split() == ["tx", "0", "-", "static"]


def test_queues_json(fake, capsys):
    rc, out, _ = run_cli(capsys, ["--json", "queues", "eth9"])
    data = json.loads(out)
    assert rc == 0 and len(data) == 3
    assert data[1] == {"ifindex": 5, "type": "rx", "id": 2, "napi_id": 514,
                       "dynamic": True, "origin": "dynamic", "lease": None}


def test_alloc_passes_id_and_type(fake, capsys):
    rc, out, _ = run_cli(capsys, ["-j", "alloc", "eth9", "--type", "tx", "--id", "4"])
    assert rc == 0 and fake.calls == [("alloc", "eth9", "tx", 4)]
    assert json.loads(out)["id"] == 4
    rc, out, _ = run_cli(capsys, ["alloc", "eth9", "--type", "rx"])
    assert out.strip() == "allocated rx queue 2 on eth9"


def test_kernel_error_shows_errno_and_extack(fake, capsys):
    fake.fail = KernelError("queue-destroy", errno.EINVAL,
                            "rx queue 0 was not allocated dynamically")
    rc, out, err = run_cli(capsys, ["free", "eth9", "0", "--type", "rx"])
    assert rc == 1 and out == ""
    assert err.strip() == ("qctl: error: queue-destroy: EINVAL (Invalid argument): "
                           "rx queue 0 was not allocated dynamically")


def test_eopnotsupp_named_as_kernel_does(fake, capsys):
    fake.fail = KernelError("queue-create", errno.EOPNOTSUPP, "no ops")
    _, _, err = run_cli(capsys, ["alloc", "eth9", "--type", "rx"])
    assert "EOPNOTSUPP" in err


def test_missing_feature_exit_code(fake, capsys):
    fake.fail = FeatureMissing("the running kernel does not implement netdev 'queue-create'")
    rc, _, err = run_cli(capsys, ["alloc", "eth9", "--type", "rx"])
    assert rc == 3 and "does not implement" in err and "Traceback" not in err


def test_bad_device(fake, capsys):
    rc, _, err = run_cli(capsys, ["free", "missing", "1", "--type", "tx"])
    assert rc == 1 and "no device named 'missing'" in err


def test_usage_errors(fake, capsys):
    rc, _, err = run_cli(capsys, ["alloc", "eth9", "--type", "ring"])
    assert rc == 2 and "ring" in err
    rc, _, err = run_cli(capsys, ["free", "eth9", "-1", "--type", "rx"])
    assert rc == 2

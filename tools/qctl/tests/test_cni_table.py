"""qmgmt-cni against malformed calls: configs, environment and state
files.  Each gets a CNI error with the spec's code, and nothing is made:
no kernel request, no state file, no IPAM call.  The whole table also runs
through the installed `qmgmt-cni` command: one JSON object on stdout, no
traceback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qctl.cni import plugin

CNI = str(Path(sys.executable).with_name("qmgmt-cni"))
GOOD = {"cniVersion": "1.1.0", "name": "nf", "type": "qmgmt-cni", "parent": "lo",
        "rxQueues": 2, "txQueues": 2, "maxQueues": 4}
ENV = {"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_NETNS": "/proc/self/ns/net",
       "CNI_IFNAME": "net1", "CNI_PATH": ""}
DROP = object()


def _changed(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """base with change applied; DROP removes a key."""
    out = dict(base)
    for k, v in change.items():
        if v is DROP:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def conf(**change: Any) -> bytes:
    return json.dumps(_changed(GOOD, change)).encode()


def env(**change: Any) -> dict[str, str]:
    return _changed(ENV, change)


def corrupt_state(text: str) -> Callable[[Path], None]:
    def put(base: Path) -> None:
        (base / "nf").mkdir(mode=0o700)
        (base / "nf" / "c1-net1.json").write_text(text)
    return put


# (case, environment, stdin, state set-up, CNI code)
E, D, V, N, C, U, IO = 4, 6, 1, 7, 3, 2, 5     # the spec's codes
CASES: list[tuple[str, dict[str, str], bytes, Callable[[Path], None] | None, int]] = [
    # --- environment (4)
    ("no CNI_COMMAND", env(CNI_COMMAND=DROP), conf(), None, E),
    ("empty CNI_COMMAND", env(CNI_COMMAND=""), conf(), None, E),
    ("lower-case command", env(CNI_COMMAND="add"), conf(), None, E),
    ("unknown command", env(CNI_COMMAND="FOO"), conf(), None, E),
    ("ADD without CNI_CONTAINERID", env(CNI_CONTAINERID=DROP), conf(), None, E),
    ("ADD without CNI_NETNS", env(CNI_NETNS=DROP), conf(), None, E),
    ("ADD without CNI_IFNAME", env(CNI_IFNAME=DROP), conf(), None, E),
    ("CNI_IFNAME with /", env(CNI_IFNAME="net1/x"), conf(), None, E),
    ("CNI_IFNAME of 16 chars", env(CNI_IFNAME="n" * 16), conf(), None, E),
    ("CNI_IFNAME with a space", env(CNI_IFNAME="a b"), conf(), None, E),
    ("CNI_IFNAME with :", env(CNI_IFNAME="a:b"), conf(), None, E),
    ("CNI_CONTAINERID with /", env(CNI_CONTAINERID="c/1"), conf(), None, E),
    ("CNI_CONTAINERID ..", env(CNI_CONTAINERID=".."), conf(), None, E),
    ("CNI_CONTAINERID starting with -", env(CNI_CONTAINERID="-x"), conf(), None, E),
    ("CNI_CONTAINERID with a space", env(CNI_CONTAINERID="a b"), conf(), None, E),
    ("CNI_NETNS missing", env(CNI_NETNS="/nonexistent"), conf(), None, E),
    ("CNI_NETNS relative", env(CNI_NETNS="run/netns/x"), conf(), None, E),
    ("CNI_NETNS not a namespace", env(CNI_NETNS="/etc/hostname"), conf(), None, E),
    ("CNI_NETNS a user namespace", env(CNI_NETNS="/proc/self/ns/user"), conf(), None, E),
    ("CNI_ARGS not KEY=VALUE", env(CNI_ARGS="garbage"), conf(), None, E),
    ("CNI_ARGS without a key", env(CNI_ARGS="=x"), conf(), None, E),
    ("DEL without CNI_IFNAME", env(CNI_COMMAND="DEL", CNI_IFNAME=DROP), conf(), None, E),
    ("DEL with CNI_CONTAINERID c/1", env(CNI_COMMAND="DEL", CNI_CONTAINERID="c/1"),
     conf(), None, E),
    ("CHECK without CNI_NETNS", env(CNI_COMMAND="CHECK", CNI_NETNS=DROP), conf(), None, E),
    # --- stdin that does not decode (6)
    ("empty stdin", env(), b"", None, D),
    ("not JSON", env(), b"garbage", None, D),
    ("a JSON list", env(), b"[]", None, D),
    ("a JSON string", env(), b'"nf"', None, D),
    ("truncated JSON", env(), b'{"cniVersion": "1.1.0"', None, D),
    ("not UTF-8", env(), b"\xff\xfe{}", None, D),
    ("DEL with a JSON list", env(CNI_COMMAND="DEL"), b"[]", None, D),
    # --- versions (1)
    ("no cniVersion", env(), conf(cniVersion=DROP), None, V),
    ("cniVersion 9.9.9", env(), conf(cniVersion="9.9.9"), None, V),
    ("cniVersion a number", env(), conf(cniVersion=1), None, V),
    ("cniVersion 0.3.1", env(), conf(cniVersion="0.3.1"), None, V),
    ("DEL with cniVersion 9.9.9", env(CNI_COMMAND="DEL"), conf(cniVersion="9.9.9"), None, V),
    # --- network config (7), unknown capability field (2)
    ("no name", env(), conf(name=DROP), None, N),
    ("empty name", env(), conf(name=""), None, N),
    ("name a/b", env(), conf(name="a/b"), None, N),
    ("DEL with name a/b", env(CNI_COMMAND="DEL"), conf(name="a/b"), None, N),
    ("name a number", env(), conf(name=5), None, N),
    ("name ..", env(), conf(name=".."), None, N),
    ("no parent", env(), conf(parent=DROP), None, N),
    ("empty parent", env(), conf(parent=""), None, N),
    ("parent a number", env(), conf(parent=5), None, N),
    ("rxQueues 0", env(), conf(rxQueues=0), None, N),
    ("rxQueues x", env(), conf(rxQueues="x"), None, N),
    ("rxQueues true", env(), conf(rxQueues=True), None, N),
    ("rxQueues 2^32", env(), conf(rxQueues=2**32), None, N),
    ("rxQueues -1", env(), conf(rxQueues=-1), None, N),
    ("txQueues 1.5", env(), conf(txQueues=1.5), None, N),
    ("maxQueues below rxQueues", env(), conf(maxQueues=1), None, N),
    ("mac a number", env(), conf(mac=5), None, N),
    ("mac zz", env(), conf(mac="zz"), None, N),
    ("mac multicast", env(), conf(mac="01:00:5e:00:00:01"), None, N),
    ("mac all zero", env(), conf(mac="00:00:00:00:00:00"), None, N),
    ("ipam a string", env(), conf(ipam="host-local"), None, N),
    ("ipam without type", env(), conf(ipam={"subnet": "10.0.0.0/24"}), None, N),
    ("runtimeConfig a list", env(), conf(runtimeConfig=[]), None, N),
    ("runtimeConfig.qmgmt a list", env(), conf(runtimeConfig={"qmgmt": []}), None, N),
    ("runtimeConfig.qmgmt rxQueues 0", env(), conf(runtimeConfig={"qmgmt": {"rxQueues": 0}}),
     None, N),
    ("runtimeConfig.qmgmt unknown field", env(),
     conf(runtimeConfig={"qmgmt": {"queues": 4}}), None, U),
    ("CNI_ARGS rx abc", env(CNI_ARGS="QMGMT_RX_QUEUES=abc"), conf(), None, N),
    ("CNI_ARGS max 0", env(CNI_ARGS="IgnoreUnknown=1;QMGMT_MAX_QUEUES=0"), conf(), None, N),
    ("DEL with ipam and no CNI_PATH", env(CNI_COMMAND="DEL"),
     conf(ipam={"type": "host-local"}), None, N),
    ("GC valid-attachments of strings", env(CNI_COMMAND="GC"),
     conf(**{"cni.dev/valid-attachments": ["x"]}), None, N),
    ("GC valid-attachments an object", env(CNI_COMMAND="GC"),
     conf(**{"cni.dev/valid-attachments": {}}), None, N),
    # --- state (3 unknown container, 5 I/O)
    ("CHECK without state", env(CNI_COMMAND="CHECK"), conf(), None, C),
    ("CHECK with a corrupt state file", env(CNI_COMMAND="CHECK"), conf(),
     corrupt_state("{"), IO),
    ("CHECK with a state file of the wrong shape", env(CNI_COMMAND="CHECK"), conf(),
     corrupt_state('{"network": "nf"}'), IO),
    ("CHECK with a state file of wrong types", env(CNI_COMMAND="CHECK"), conf(),
     corrupt_state(json.dumps({"network": "nf", "container_id": "c1", "ifname": "net1",
                               "parent_ifindex": "1", "slice_id": 1, "netns": "",
                               "ipam": None})), IO),
]


def _files(base: Path) -> dict[str, bytes]:
    return {str(p.relative_to(base)): p.read_bytes() for p in base.rglob("*") if p.is_file()}


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    base = tmp_path / "state"
    base.mkdir()
    monkeypatch.setenv("QMGMT_CNI_STATE", str(base))
    return base


@pytest.fixture
def no_kernel(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Any use of the kernel (or of IPAM) is recorded: none is expected."""
    used: list[str] = []

    def netdev(netns: Any = None) -> Any:
        used.append("netdev")
        raise AssertionError("reached the kernel")

    def delegate(command: str, *a: Any) -> Any:
        used.append(f"ipam {command}")
        raise AssertionError("reached IPAM")
    monkeypatch.setattr(plugin, "_netdev", netdev)
    monkeypatch.setattr(plugin.ipam, "_run", delegate)
    return used


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 50
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(("case", "environ", "stdin", "setup", "code"), CASES,
                         ids=[c[0] for c in CASES])
def test_refused_with_code_and_nothing_made(case: str, environ: dict[str, str], stdin: bytes,
                                            setup: Callable[[Path], None] | None, code: int,
                                            state_dir: Path, no_kernel: list[str]) -> None:
    if setup is not None:
        setup(state_dir)
    before = _files(state_dir)
    rc, out = plugin.run(environ, stdin)
    assert rc == 1
    assert out is not None and out["code"] == code, out
    assert isinstance(out["msg"], str) and out["msg"]
    assert no_kernel == []
    assert _files(state_dir) == before


def test_installed_command_answers_every_case(tmp_path: Path) -> None:
    """The same table through the installed command, as a runtime calls it."""
    bad = []
    for case, environ, stdin, setup, code in CASES:
        base = tmp_path / case.replace(" ", "_").replace("/", "_")
        base.mkdir()
        if setup is not None:
            setup(base)
        e = dict(environ, QMGMT_CNI_STATE=str(base), PATH=os.environ.get("PATH", ""))
        p = subprocess.run([CNI], input=stdin, env=e, capture_output=True, timeout=30)
        try:
            out = json.loads(p.stdout)
        except ValueError:
            out = None
        if p.returncode != 1 or not isinstance(out, dict) or out.get("code") != code or \
                b"Traceback" in p.stderr:
            bad.append((case, p.returncode, p.stdout[:200], p.stderr[-300:]))
    assert bad == []


@pytest.mark.parametrize("command", ["DEL", "GC"])
def test_corrupt_state_does_not_stop_del_or_gc(command: str, state_dir: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """DEL and GC go on past a corrupt record: it is removed with a warning
    (the slice it named goes with the container's netns)."""
    corrupt_state("not json")(state_dir)

    class Fake:
        def __enter__(self) -> Fake:
            return self

        def __exit__(self, *a: object) -> None:
            pass
    monkeypatch.setattr(plugin, "_netdev", lambda netns=None: Fake())
    rc, out = plugin.run(env(CNI_COMMAND=command), conf())
    assert (rc, out) == (0, None)
    assert _files(state_dir) == {}
    assert "is corrupt" in capsys.readouterr().err


def test_version_ignores_the_rest_of_the_environment() -> None:
    """libcni validates a network list by calling VERSION with CNI_NETNS,
    CNI_CONTAINERID and CNI_IFNAME all "dummy" (podman 4.3 dropped the
    network as invalid when VERSION checked them)."""
    e = {"CNI_COMMAND": "VERSION", "CNI_NETNS": "dummy", "CNI_CONTAINERID": "dummy",
         "CNI_IFNAME": "dummy", "CNI_PATH": "/usr/lib/cni", "CNI_ARGS": "x"}
    rc, out = plugin.run(e, b'{"cniVersion": "1.0.0"}')
    assert rc == 0 and out is not None and "1.0.0" in out["supportedVersions"]


def test_unexpected_exception_is_a_cni_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(conf: Any, env: Any) -> None:
        raise RuntimeError("boom")
    monkeypatch.setattr(plugin, "cmd_status", boom)
    rc, out = plugin.run(env(CNI_COMMAND="STATUS"), conf())
    assert rc == 1 and out is not None
    assert out["code"] == 199 and "RuntimeError: boom" in out["msg"]

"""CLI conventions: exit codes, help, completion, packaging (no kernel needed)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import version

import click
import pytest
from conftest import install_fake, run_cli

from qctl import cli
from qctl.errors import DeviceError
from qctl.netns import Netns

PKG = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


class NoNetdev:
    """A library stand-in that must not be reached (usage errors come first)."""

    def __getattr__(self, name: str) -> None:
        raise AssertionError(f"the library was called ({name}) for a usage error")


@pytest.fixture
def nolib(monkeypatch):
    return install_fake(monkeypatch, NoNetdev())


@pytest.mark.parametrize("argv", [
    ["slice", "delete"],  # no slice named
    ["slice", "delete", "--parent", "eth0"],  # --parent without --id
    ["slice", "create", "eth0"],  # no --rx/--tx/--queue
    ["slice", "create", "eth0", "--rx", "1"],
    ["alloc", "eth0", "--type", "rx", "--id", str(2**32)],
    ["free", "eth0", str(2**32), "--type", "rx"],
    ["slice", "create", "eth0", "--queue", f"rx:{2**32}"],
    ["monitor", "--count", "0"],
    ["monitor", "--timeout", "-1"],
    ["nosuchcommand"],
    ["pool", "set", "eth0", "pf0"],  # no --rx/--tx: refused before any request
    ["pool", "sett", "eth0"],
])
def test_usage_errors_exit_2(nolib, capsys, argv):
    rc, out, err = run_cli(capsys, argv)
    assert rc == 2 and out == "" and "Traceback" not in err and err


def test_every_command_has_examples():
    def walk(cmd: click.Command, path: str) -> list[tuple[str, click.Command]]:
        res = [(path, cmd)]
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                res += walk(sub, f"{path} {name}")
        return res
    missing = [p for p, c in walk(cli.cli, "qctl")
               if not isinstance(c, click.Group) and "Example" not in (c.help or "")]
    assert missing == []


def test_python_m_qctl_and_one_version():
    """`python -m qctl` runs, and the version has one source (metadata)."""
    out = subprocess.run([sys.executable, "-m", "qctl", "--version"], capture_output=True,
                         text=True, check=True, cwd="/").stdout
    assert out.strip().endswith(version("qctl"))
    import qctl
    assert qctl.__version__ == version("qctl")
    with open(os.path.join(PKG, "qctl", "__init__.py"), encoding="utf-8") as f:
        init = f.read()
    assert not re.search(r"__version__\s*=", init)


def test_device_completion():
    """DEV completes from the namespace's device names."""
    env = dict(os.environ, _QCTL_COMPLETE="bash_complete", COMP_WORDS="qctl queues l",
               COMP_CWORD="2")
    res = subprocess.run([sys.executable, "-m", "qctl"], capture_output=True, text=True,
                         env=env, cwd="/")
    assert "plain,lo" in res.stdout.splitlines(), res.stdout + res.stderr


def test_missing_netns_is_not_created(tmp_path, monkeypatch):
    """a typo in -n is an error, and no namespace file appears."""
    monkeypatch.setattr("qctl.netns.NETNS_RUN_DIR", str(tmp_path))
    ns = Netns("typo")
    with pytest.raises(DeviceError, match="no network namespace 'typo'"), ns.entered():
        pass
    assert list(tmp_path.iterdir()) == []


def test_cli_import_does_not_load_the_library():
    """Start-up: --help and usage errors pay for click only."""
    code = ("import sys, qctl.cli; bad = [m for m in ('pyroute2', 'yaml', 'qctl.api', "
            "'qctl.client', 'dataclasses') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd="/").stdout
    assert out.strip() == "[]"


def test_pyroute2_pinned_and_not_patched():
    """pyroute2 at compatible releases of the tested one, none of its privates."""
    with open(os.path.join(PKG, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    assert re.search(r'"pyroute2~=\d+\.\d+\.\d+"', text)
    for name in os.listdir(os.path.join(PKG, "qctl")):
        if name.endswith(".py"):
            with open(os.path.join(PKG, "qctl", name), encoding="utf-8") as f:
                src = f.read()
            assert "asyncore" not in src and "marshal" not in src, name


def test_pool_typo_gets_a_suggestion(nolib, capsys):
    """`pool sett` used to become `pool show sett eth0`."""
    rc, _, err = run_cli(capsys, ["pool", "sett", "eth0"])
    assert rc == 2
    assert "No such command 'sett'" in err and "Did you mean 'set'" in err


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["slice", "list", "--help"]])
def test_output_to_a_full_device(argv):
    """`> /dev/full` used to end in an OSError traceback."""
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "qctl", *argv], stdout=full,
                           stderr=subprocess.PIPE, text=True, cwd="/")
    assert p.returncode == 1
    assert p.stderr == "qctl: error: cannot write output: No space left on device\n"


@pytest.mark.parametrize(("cmd", "usage"), [
    ("list", "Usage: qctl slice list [OPTIONS] [PARENT]"),
    ("delete", "Usage: qctl slice delete [OPTIONS] [SLICE]"),
])
def test_optional_arguments_bracketed(capsys, cmd, usage):
    rc, out, _ = run_cli(capsys, ["slice", cmd, "--help"])
    assert rc == 0 and out.startswith(usage)


def test_missing_family_hint_is_per_family(monkeypatch):
    """A missing devlink family was told it "needs Linux 6.5+"."""
    import copy

    from qctl import client, netlink
    from qctl.errors import FeatureMissing
    from qctl.spec import load_spec
    monkeypatch.setattr(netlink.NetlinkSocket, "get_family",
                        lambda self, name: netlink.ErrorInfo(2))
    for name, hint in (("devlink", "the kernel is built without CONFIG_NET_DEVLINK"),
                       ("netdev", "Linux 6.5+")):
        spec = copy.copy(load_spec())
        spec.name = name
        with pytest.raises(FeatureMissing) as ei:
            client.GenlClient(spec=spec).dump("queue-get", {})
        assert f"no '{name}' generic netlink family ({hint}" in str(ei.value)

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def run_cli(capsys, argv):
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    from qctl import cli
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def install_fake(monkeypatch, inst):
    """Make the CLI use `inst` instead of a real qctl.api.Netdev."""
    from qctl import cli
    monkeypatch.setattr(cli, "Netdev", lambda netns=None, spec=None: inst)
    return inst

# The tests import qctl as installed (scripts/setup-host.sh installs the
# wheel into the venv); test_installed.py fails when that copy is stale.

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

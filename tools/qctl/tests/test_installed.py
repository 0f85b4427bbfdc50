"""The tests run against qctl as a user installs it: from the wheel.

A stale install, or a wheel that leaves a module out (as qctl.pktio once
was), fails here instead of passing the other tests against a source
tree nobody installs."""
import importlib
import pathlib

import qctl

SRC = pathlib.Path(__file__).resolve().parent.parent / "qctl"


def _modules() -> list[str]:
    mods = []
    for p in sorted(SRC.rglob("*.py")):
        if p.name == "__main__.py":     # runs the CLI when imported
            continue
        rel = p.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods.append(".".join(parts))
    return mods


def test_imported_from_install() -> None:
    here = pathlib.Path(qctl.__file__).resolve()
    assert SRC not in here.parents, (
        f"qctl imported from the source tree ({here}): install the wheel "
        "(scripts/setup-host.sh)")


def test_install_matches_sources() -> None:
    stale = []
    for name in _modules():
        mod = importlib.import_module(name)
        installed = pathlib.Path(mod.__file__ or "")
        source = SRC.parent.joinpath(*name.split(".")).with_suffix(".py")
        if not source.exists():
            source = source.with_suffix("") / "__init__.py"
        if installed.read_bytes() != source.read_bytes():
            stale.append(name)
    assert not stale, f"installed qctl is stale for {stale}: run scripts/setup-host.sh"


def test_data_files_installed() -> None:
    root = pathlib.Path(qctl.__file__).parent
    for f in ("specs/netdev.json", "specs/devlink.json", "specs/netdev.yaml", "py.typed"):
        assert (root / f).is_file(), f

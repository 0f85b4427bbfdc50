"""Every script answers --help with its usage and refuses an unknown
argument (exit non-zero, naming it) before it does anything."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p for p in [*ROOT.glob("scripts/*.sh"), *ROOT.glob("selftests/*.sh")]
                 if p.name not in ("lib.sh", "virtio-env.sh"))     # sourced, not run


def run(script: Path, arg: str) -> subprocess.CompletedProcess[str]:
    # a script that parses no arguments would run for real here: fail first
    text = script.read_text()
    assert any(k in text for k in ("qm_usage", "qm_no_args", "-h|--help)")), \
        f"{script.name} parses no arguments"
    env = dict(os.environ, QM_ROOT=str(ROOT), QM_RESULTS="/nonexistent",
               QM_VENV="/nonexistent", QM_KDIR="/nonexistent")
    return subprocess.run(["bash", str(script), arg], capture_output=True, text=True,
                          timeout=30, env=env, cwd="/")


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_help(script: Path) -> None:
    r = run(script, "--help")
    assert r.returncode == 0, r.stderr
    first = script.read_text().splitlines()[1].lstrip("# ").strip()
    assert r.stdout.splitlines()[0].strip() == first


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_unknown_argument_refused(script: Path) -> None:
    r = run(script, "--no-such-option")
    assert r.returncode != 0
    assert "--no-such-option" in r.stderr


def test_run_tests_usage_lists_only_real_options() -> None:
    text = run(ROOT / "scripts/run-tests.sh", "--help").stdout
    assert "scripts/run-tests.sh [--no-debug]" in text
    assert "--lean-only-suite" not in text

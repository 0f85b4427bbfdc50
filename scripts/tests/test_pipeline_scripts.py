"""fetch-base / apply / export on a small fake kernel tree (no real build).

The scripts locate their project from their own path, so each test copies
scripts/ and kernel/BASE into a scratch project with its own kernel/ and
patches/.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def sh(*args, cwd=None, check=True):
    p = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True)
    if check and p.returncode:
        raise AssertionError(f"{args} failed rc {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def git(tree, *args):
    return sh("git", "-C", str(tree), "-c", "user.name=t", "-c", "user.email=t@t", *args)


@pytest.fixture
def proj(tmp_path):
    """A scratch qmgmt project and a fake 7.3.4 tree."""
    p = tmp_path / "proj"
    shutil.copytree(os.path.join(ROOT, "scripts"), p / "scripts",
                    ignore=shutil.ignore_patterns("tests", "__pycache__"))
    (p / "kernel").mkdir(parents=True)
    shutil.copy(os.path.join(ROOT, "kernel", "BASE"), p / "kernel" / "BASE")
    (p / "patches").mkdir()
    tree = tmp_path / "linux"
    (tree / "net").mkdir(parents=True)
    (tree / "Makefile").write_text("VERSION = 7\nPATCHLEVEL = 3\nSUBLEVEL = 4\n")
    (tree / "net" / "a.c").write_text("int a;\n\nint b;\n")
    (tree / "net" / "b.c").write_text("int c;\n")
    sh(str(p / "scripts" / "fetch-base.sh"), "--tree", str(tree))
    return p, tree


def make_series(p, tree):
    """Edit the tree like a developer and export: one new file, two patches."""
    sh(str(p / "scripts" / "apply.sh"), "--tree", str(tree))
    (tree / "net" / "new.c").write_text("int fresh;\n")
    (tree / "net" / "a.c").write_text("int a;\n\nint b2;\n")
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "-m", "net: first change\n\nBody one.")
    (tree / "net" / "b.c").write_text("int c2;\n")
    git(tree, "commit", "-q", "-am", "net: second change")
    sh(str(p / "scripts" / "export.sh"), "--tree", str(tree))


def test_export_then_apply_round_trip(proj):
    p, tree = proj
    make_series(p, tree)
    assert not (p / "kernel" / "net").exists()
    series = [ln for ln in (p / "patches" / "series").read_text().splitlines()
              if ln and not ln.startswith("#")]
    assert len(series) == 2 and series[0].startswith("0001-net-first-change")
    first = (p / "patches" / series[0]).read_text()
    # a new file travels inside the patch that adds it
    assert "new file mode" in first and "+int fresh;" in first
    assert "b2" in first and "Body one." in first
    # a fresh tree from the same base gets the same result, and export is clean
    before = git(tree, "rev-parse", "HEAD^{tree}").stdout
    sh(str(p / "scripts" / "apply.sh"), "--tree", str(tree))
    assert git(tree, "rev-parse", "HEAD^{tree}").stdout == before
    out = sh(str(p / "scripts" / "export.sh"), "--tree", str(tree), "--check")
    assert "round trip clean" in out.stderr


def test_apply_is_idempotent_and_keeps_mtimes(proj):
    p, tree = proj
    make_series(p, tree)
    sh(str(p / "scripts" / "apply.sh"), "--tree", str(tree))
    m = os.stat(tree / "net" / "a.c").st_mtime_ns
    out = sh(str(p / "scripts" / "apply.sh"), "--tree", str(tree))
    assert "nothing to do" in out.stderr
    assert os.stat(tree / "net" / "a.c").st_mtime_ns == m


def test_broken_patch_names_patch_and_file_and_changes_nothing(proj):
    p, tree = proj
    make_series(p, tree)
    sh(str(p / "scripts" / "apply.sh"), "--tree", str(tree))
    head = git(tree, "rev-parse", "HEAD").stdout
    series = [ln for ln in (p / "patches" / "series").read_text().splitlines()
              if ln and not ln.startswith("#")]
    bad = p / "patches" / series[1]
    bad.write_text(bad.read_text().replace("-int c;", "-int zzz;"))
    r = sh(str(p / "scripts" / "apply.sh"), "--tree", str(tree), check=False)
    assert r.returncode != 0
    assert series[1] in r.stderr and "net/b.c" in r.stderr
    assert git(tree, "rev-parse", "HEAD").stdout == head
    assert git(tree, "status", "--porcelain").stdout == ""


def test_series_applies_with_git_am(proj, tmp_path):
    """patches/ is a real format-patch series: plain git am takes it."""
    p, tree = proj
    make_series(p, tree)
    wt = tmp_path / "am"
    git(tree, "worktree", "add", "-q", "--detach", str(wt), "refs/qmgmt/base")
    patches = sorted(str(x) for x in (p / "patches").glob("*.patch"))
    git(wt, "am", "-q", *patches)
    assert (wt / "net" / "new.c").read_text() == "int fresh;\n"
    assert git(wt, "rev-parse", "HEAD^{tree}").stdout == \
        git(tree, "rev-parse", "HEAD^{tree}").stdout


def test_tree_from_debian_tarball_with_ignore_everything(tmp_path, proj):
    """--tree on an extracted linux-source tarball: Debian's .gitignore
    stanza ignores every top-level file, so git saw nothing to commit."""
    p, _ = proj
    t = tmp_path / "linux-source-7.3"
    (t / "net").mkdir(parents=True)
    (t / "Makefile").write_text("VERSION = 7\nPATCHLEVEL = 3\nSUBLEVEL = 4\n")
    (t / "net" / "a.c").write_text("int a;\n")
    (t / ".gitignore").write_text(
        "*.o\n\n#\n# Debian packaging: ignore everything at the top level\n/*\n")
    sh(str(p / "scripts" / "fetch-base.sh"), "--tree", str(t))
    files = git(t, "ls-files").stdout.split()
    assert "Makefile" in files and "net/a.c" in files
    assert (t / ".gitignore").read_text() == "*.o\n"
    assert git(t, "rev-parse", "refs/qmgmt/base").stdout.strip()


def test_version_mismatch_refused(tmp_path, proj):
    p, _ = proj
    other = tmp_path / "linux-6.6"
    other.mkdir()
    (other / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 6\nSUBLEVEL = 1\n")
    r = sh(str(p / "scripts" / "fetch-base.sh"), "--tree", str(other), check=False)
    assert r.returncode != 0 and "6.6.1" in r.stderr and "7.3.4" in r.stderr


def test_uncommitted_edits_are_not_clobbered(proj):
    p, tree = proj
    make_series(p, tree)
    (tree / "net" / "a.c").write_text("local edit\n")
    r = sh(str(p / "scripts" / "apply.sh"), "--tree", str(tree), check=False)
    assert r.returncode != 0 and "uncommitted" in r.stderr
    assert (tree / "net" / "a.c").read_text() == "local edit\n"


FRAGMENTS = os.path.join(ROOT, "Kconfig-fragments")


def fragment_lines(name):
    with open(os.path.join(FRAGMENTS, name), encoding="ascii") as f:
        return [line.rstrip("\n") for line in f]


@pytest.mark.parametrize("name", ["vm.config", "qmgmt.config", "debug.config"])
def test_fragment_syntax(name):
    seen = set()
    for line in fragment_lines(name):
        if not line or line.startswith("#"):
            continue
        assert re.fullmatch(r"CONFIG_[A-Z0-9_]+=(y|m|n|\d+|\"[^\"]*\")", line), line
        key = line.split("=")[0]
        assert key not in seen, f"{key} twice in {name}"
        seen.add(key)


def test_fragments_do_not_conflict():
    vals: dict[str, tuple[str, str]] = {}
    for name in ("vm.config", "qmgmt.config", "debug.config"):
        for line in fragment_lines(name):
            if line.startswith("CONFIG_"):
                k, v = line.split("=", 1)
                if k in vals:
                    assert vals[k][0] == v, f"{k}: {vals[k][1]} vs {name}"
                vals[k] = (v, name)
    # facts measured on this machine
    assert vals["CONFIG_ACPI"][0] == "y", "without ACPI the guest never powers off"
    assert vals["CONFIG_NETDEVSIM"][0] in ("y", "m")


@pytest.mark.parametrize("suite", ["none", "qmgmt,kselftests"])
def test_in_vm_runner_refuses_an_unknown_suite(tmp_path, suite):
    # a misspelt suite would run no test and pass
    env = dict(os.environ, QM_ROOT=str(tmp_path), QM_RESULTS=str(tmp_path),
               QM_VENV=str(tmp_path), QM_KDIR=str(tmp_path))
    p = subprocess.run(["bash", os.path.join(ROOT, "selftests", "run-in-vm.sh"),
                        "--suite", suite], env=env, capture_output=True, text=True)
    assert p.returncode == 2, p.stderr
    assert "unknown suite" in p.stderr
    assert not os.listdir(tmp_path)

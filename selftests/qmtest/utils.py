"""Small process and file helpers (no kernel knowledge here)."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from typing import Any, Callable, Sequence


class CmdError(Exception):
    """A command exited non-zero; carries its output for the report."""

    def __init__(self, argv: Sequence[str], proc: subprocess.CompletedProcess[str]):
        self.argv = list(argv)
        self.proc = proc
        super().__init__(
            f"{shlex.join(argv)} -> rc {proc.returncode}\n"
            f"stdout: {proc.stdout.strip()}\nstderr: {proc.stderr.strip()}")


def cmd(argv: str | Sequence[str], *, ns: str | None = None, check: bool = True,
        timeout: float = 60, env: dict[str, str] | None = None,
        user: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command, optionally inside a named netns and/or as another uid."""
    args = shlex.split(argv) if isinstance(argv, str) else list(argv)
    if ns:
        args = ["ip", "netns", "exec", ns] + args
    if user is not None:
        args = ["setpriv", f"--reuid={user}", f"--regid={user}",
                "--clear-groups", "--inh-caps=-all"] + args
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                          env=full_env, check=False)
    if check and proc.returncode != 0:
        raise CmdError(args, proc)
    return proc


def ip(args: str, *, ns: str | None = None, json_out: bool = False) -> Any:
    """Run iproute2's ip; with json_out=True parse `ip -j` output."""
    argv = ["ip"] + (["-j"] if json_out else []) + shlex.split(args)
    out = cmd(argv, ns=ns).stdout
    return json.loads(out) if json_out else out


def write_file(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write(text)


def read_file(path: str) -> str:
    with open(path, encoding="ascii") as f:
        return f.read().strip()


def wait_for(pred: Callable[[], Any], timeout: float = 10.0, step: float = 0.05,
             what: str = "condition") -> Any:
    """Poll pred() until it returns something truthy; fail with `what`."""
    deadline = time.monotonic() + timeout
    while True:
        val = pred()
        if val:
            return val
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)

"""A pod-like sandbox and a network function started in it by `qctl run`."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any

from .utils import cmd, wait_for


class Pod:
    """A sandbox process holding a user namespace and a network namespace."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(["unshare", "--user", "--net", "sleep", "infinity"])
        pid = self.proc.pid
        wait_for(lambda: os.readlink(f"/proc/{pid}/ns/user") !=
                 os.readlink("/proc/self/ns/user"), timeout=10, what="pod namespaces")
        with open(f"/proc/{pid}/setgroups", "w", encoding="ascii") as f:
            f.write("deny")
        # root of the pod is root outside, as in a pod without user
        # namespaces: the function must read the tree and run the venv's
        # Python (under /root here).  It holds no capability in any
        # namespace either way; the tests read that from /proc.
        for m in ("uid_map", "gid_map"):
            with open(f"/proc/{pid}/{m}", "w", encoding="ascii") as f:
                f.write("0 0 1")
        self.netns = f"/proc/{pid}/ns/net"
        self.userns = f"/proc/{pid}/ns/user"

    def ip(self, *args: str) -> str:
        return cmd(["nsenter", f"--net={self.netns}", "ip", *args]).stdout

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def start_nf(pod: Pod | None, dev: str = "net1", seconds: float = 120,
             threads: bool = False) -> subprocess.Popen[str]:
    """qctl run: the reflector on every rx queue of dev (a process or, with
    threads, a thread per queue); in the pod (as its root, unprivileged)
    or, for pod None, here (the host's view of dev)."""
    where = [] if pod is None else ["--netns-path", pod.netns, "--userns-path", pod.userns,
                                    "--user", "0", "--group", "0"]
    return subprocess.Popen(
        [sys.executable, "-m", "qctl", "run", dev, *where, "--",
         sys.executable, "-m", "qctl.pktio.reflector", "--seconds", str(seconds),
         *(["--threads"] if threads else [])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def launched(nf: subprocess.Popen[str]) -> dict[str, Any]:
    """The launcher's report line (stderr), once the sockets are up."""
    assert nf.stderr is not None
    seen = []
    for line in nf.stderr:
        if line.startswith("qctl run: {"):
            return dict(json.loads(line.split(": ", 1)[1]))
        seen.append(line)
    raise AssertionError(f"qctl run reported nothing (rc {nf.wait()}): {''.join(seen)}")


def stop_nf(nf: subprocess.Popen[str]) -> dict[str, Any]:
    nf.send_signal(signal.SIGTERM)
    out, err = nf.communicate(timeout=60)
    assert nf.returncode == 0, err
    return dict(json.loads(out.strip().splitlines()[-1]))


def _status(pid: int | str) -> dict[str, str]:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        return dict(ln.split(":\t", 1) for ln in f.read().splitlines() if ":\t" in ln)


def function_status(nf: subprocess.Popen[str]) -> dict[str, str]:
    """/proc status fields of the reflector qctl run started (its child),
    once it has exec'd; {} before.  The child is found by its PPid: the
    lean kernel has no /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN)."""
    if nf.poll() is not None:
        assert nf.stderr is not None
        raise AssertionError(f"qctl run exited with {nf.returncode}: {nf.stderr.read()}")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            st = _status(pid)
            if st.get("PPid") != str(nf.pid):
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                # after exec: not the forked launcher (qctl run ... -- ...)
                if f.read().split(b"\0")[1:3] == [b"-m", b"qctl.pktio.reflector"]:
                    return st
        except (FileNotFoundError, ProcessLookupError):
            continue
    return {}

"""`qctl run` as installed, on a veth pair in two private network
namespaces of this test (nothing on the host is touched): inputs checked
before anything is allocated, and a non-root function without a user
namespace.  Needs root (CI runs as root); skipped otherwise."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

QCTL = str(Path(sys.executable).with_name("qctl"))
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                                reason="needs root and unshare")


class Pod:
    def __init__(self) -> None:
        # the launcher's namespace (with va) and the pod's (with vb)
        self.host = subprocess.Popen(["unshare", "-n", "sleep", "600"])
        self.pod = subprocess.Popen(["unshare", "-n", "sleep", "600"])
        self.netns = f"/proc/{self.pod.pid}/ns/net"
        self._wait_ns()
        self.sh(self.host.pid, f"ip link add va type veth peer name vb netns {self.netns}"
                               " && ip link set va up")
        self.sh(self.pod.pid, "ip link set vb up")

    def _wait_ns(self) -> None:
        me = os.readlink("/proc/self/ns/net")
        for _ in range(200):
            if all(os.readlink(f"/proc/{p.pid}/ns/net") != me for p in (self.host, self.pod)):
                return
            subprocess.run(["sleep", "0.01"], check=True)
        raise RuntimeError("unshare did not make its namespaces")

    @staticmethod
    def sh(pid: int, cmd: str) -> str:
        return subprocess.run(["nsenter", "-t", str(pid), "-n", "sh", "-c", cmd],
                              check=True, capture_output=True, text=True).stdout

    def qctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["nsenter", "-t", str(self.host.pid), "-n", QCTL, "run", *args],
                              capture_output=True, text=True, timeout=60)

    def xdp_attached(self) -> bool:
        return "xdp" in self.sh(self.pod.pid, "ip -d link show vb")

    def close(self) -> None:
        for p in (self.host, self.pod):
            p.kill()
            p.wait()


@pytest.fixture
def pod() -> Iterator[Pod]:
    p = Pod()
    try:
        yield p
    finally:
        p.close()


def test_non_root_without_userns(pod: Pod) -> None:
    """The Kubernetes default: no user namespace.  Dropping the bounding
    set after the uid switch failed with EPERM and exit 127."""
    r = pod.qctl("vb", "--netns-path", pod.netns, "--user", "1000", "--group", "1000",
                 "--", "sh", "-c", "id -u; id -g; grep ^Cap /proc/self/status")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[:2] == ["1000", "1000"]
    caps = dict(line.split(":\t") for line in lines[2:] if line)
    assert set(caps.values()) == {"0000000000000000"}, caps
    assert not pod.xdp_attached()


@pytest.mark.parametrize(("extra", "code", "message"), [
    (["--userns-path", "/nonexistent"], 1,
     "no user namespace '/nonexistent' (/nonexistent does not exist)"),
    (["--userns-path", "{netns}"], 2, "is a network namespace, not a user namespace"),
    (["--userns-path", "/etc/hostname"], 2, "/etc/hostname is not a namespace"),
    (["--runtime", "--user", "1"], 2, "--userns-path, --user and --group do not apply"),
    (["--runtime"], 2, "put {nfds} where it takes their number"),
    (["--queue", "7"], 2, "vb has no rx queue 7"),
    (["--", "/no/such/cmd"], 2, "no executable '/no/such/cmd'"),
    (["--", "no-such-cmd"], 2, "no executable 'no-such-cmd' in PATH"),
])
def test_input_refused_before_setup(pod: Pod, extra: list[str], code: int,
                                    message: str) -> None:
    extra = [a.replace("{netns}", pod.netns) for a in extra]
    cmd = [] if "--" in extra else ["--", "true"]
    r = pod.qctl("vb", "--netns-path", pod.netns, *extra, *cmd)
    assert r.returncode == code, r.stderr
    assert message in r.stderr
    assert "qctl run: {" not in r.stderr          # nothing was set up
    assert "Traceback" not in r.stderr
    assert not pod.xdp_attached()


def test_netns_path_of_another_kind(pod: Pod) -> None:
    r = pod.qctl("vb", "--netns-path", f"/proc/{pod.pod.pid}/ns/user", "--", "true")
    assert r.returncode == 2
    assert "is a user namespace, not a network namespace" in r.stderr
    assert "ip netns list" not in r.stderr


def test_library_messages_only_with_verbose(pod: Pod) -> None:
    quiet = pod.qctl("vb", "--netns-path", pod.netns, "--", "true")
    assert quiet.returncode == 0, quiet.stderr
    assert [ln for ln in quiet.stderr.splitlines() if not ln.startswith("qctl run: {")] == []
    loud = pod.qctl("vb", "--netns-path", pod.netns, "-v", "--", "true")
    assert loud.returncode == 0
    assert "libbpf:" in loud.stderr or "libxdp:" in loud.stderr


def test_runtime_gets_fds_from_3(pod: Pod) -> None:
    """--runtime: the fds at 3..N+2, N in the command, the handover says so."""
    r = pod.qctl("vb", "--netns-path", pod.netns, "--runtime", "--", "sh", "-c",
                 'echo {nfds}; readlink /proc/self/fd/3 /proc/self/fd/4; echo "$QMGMT_AFXDP"')
    assert r.returncode == 0, r.stderr
    n, umem, sock, env = r.stdout.splitlines()[:4]
    assert n == "2"
    assert umem.startswith("/memfd:qmgmt-umem")
    assert sock.startswith("socket:")
    assert '"umem": {"fd": 3' in env and '"fd": 4' in env

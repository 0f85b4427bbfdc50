"""qmgmt-cni under a real container runtime: Debian's podman 4.3 (crun,
CNI backend) with a conflist a user writes from the README (qmgmt-cni with
host-local IPAM, then tuning).  Runs in the sys lane, whose kernel has
cgroups and seccomp (run-in-vm.sh --suite podman).

- `podman run --network` gives each container a slice with the asked
  queues, which the container sees in /sys/class/net; two at once;
  `podman rm` (podman's own clean-up runs DEL, without our environment)
  leaves no slice, owned queue, IPAM lease or state file;
- a container asking for more queues than the parent has gets the
  kernel's refusal from podman and leaves nothing;
- the AF_XDP launcher with a runtime: `qctl run --runtime` hands the UMEM
  and sockets to `podman run --preserve-fds`, and the reflector runs in the
  container with no capability, as nobody, and echoes every frame.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from qmtest import podman as pm
from qmtest.defer import DeferStack
from qmtest.echo import N, exchange
from qmtest.nsim import NetdevSim
from qmtest.slices import owned
from qmtest.utils import cmd, wait_for

pytestmark = [pytest.mark.podman, pytest.mark.no_qdisc]
NET = "qmgmt-nf"
VENV = os.environ.get("QM_VENV", os.path.dirname(os.path.dirname(sys.executable)))


@pytest.fixture(scope="module", autouse=True)
def runtime() -> None:
    pm.setup(VENV)


@pytest.fixture
def net(defer: DeferStack) -> Callable[..., str]:
    def make(parent: NetdevSim, name: str = NET, **fields: object) -> str:
        pm.network(name, parent.ifname, **fields)
        defer(pm.remove_network, name)
        return name
    return make


@pytest.fixture
def containers(defer: DeferStack) -> Callable[[str], str]:
    """Names of containers removed at teardown (podman rm runs CNI DEL)."""
    def name(n: str) -> str:
        defer(pm.podman, "rm", "-f", "-t", "0", n, check=False)
        return n
    return name


def slices_of(parent: NetdevSim) -> list[dict[str, object]]:
    return list(json.loads(cmd([sys.executable, "-m", "qctl", "-j", "slice", "list",
                                parent.ifname]).stdout))


def nothing_left(parent: NetdevSim, net: str) -> None:
    assert owned(parent) == {"rx": [], "tx": []}
    assert slices_of(parent) == []
    assert pm.ipam_leases(net) == []
    assert pm.states(net) == []


def test_containers_get_slices(dev2: NetdevSim, net: Callable[..., str],
                               containers: Callable[[str], str]) -> None:
    n = net(dev2)
    names = [containers("qm-c1"), containers("qm-c2")]
    for c in names:
        pm.podman("run", "-d", "--name", c, "--network", n, pm.IMAGE, "sleep", "600")
    seen = {}
    for c in names:
        out = pm.podman("exec", c, "sh", "-c",
                        "ls /sys/class/net/eth0/queues; cat /sys/class/net/eth0/mtu; "
                        "ip -4 addr show eth0").stdout
        assert out.split()[:5] == ["rx-0", "rx-1", "tx-0", "tx-1", "1400"], out
        assert "inet 10.88.7." in out
        seen[c] = out
    assert seen["qm-c1"] != seen["qm-c2"]
    # two slices of two queues each, on four different parent queues
    assert {k: len(v) for k, v in owned(dev2).items()} == {"rx": 4, "tx": 4}
    assert len(slices_of(dev2)) == 2
    assert len(pm.ipam_leases(n)) == 2 and len(pm.states(n)) == 2
    pm.podman("rm", "-f", "-t", "0", *names)
    nothing_left(dev2, n)


def test_too_many_queues_refused(dev2: NetdevSim, net: Callable[..., str],
                                 containers: Callable[[str], str]) -> None:
    n = net(dev2, "qmgmt-big", rxQueues=16, txQueues=16)
    r = pm.podman("run", "--rm", "--name", containers("qm-big"), "--network", n, pm.IMAGE,
                  "true", check=False)
    assert r.returncode != 0
    # the plugin's CNI error, with the kernel's errno and extack, reaches the user
    assert 'plugin type="qmgmt-cni" failed (add)' in r.stderr, r.stderr
    assert "ip link add type slice: ERANGE (Numerical result out of range): the quota " \
        "of 16 exceeds the 8 rx queues of" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert pm.podman("ps", "-a", "--format", "{{.Names}}").stdout.split() == []
    nothing_left(dev2, n)


def _process(argv_tail: list[bytes]) -> dict[str, str]:
    """/proc status of the process whose command line ends with argv_tail."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read().split(b"\0")[1:1 + len(argv_tail)] != argv_tail:
                    continue
            with open(f"/proc/{pid}/status", encoding="ascii") as f:
                return dict(ln.split(":\t", 1) for ln in f.read().splitlines() if ":\t" in ln)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return {}


@pytest.fixture
def launcher() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_reflector_container(nsim_pair: Callable[..., tuple[NetdevSim, NetdevSim]],
                             net: Callable[..., str], containers: Callable[[str], str],
                             launcher: list[subprocess.Popen[str]]) -> None:
    peer, parent = nsim_pair(queues=8)
    for d in (peer, parent):
        cmd(["ethtool", "-L", d.ifname, "combined", "2"])
    n = net(parent)
    holder, nf = containers("qm-holder"), containers("qm-nf")
    # the pod's network namespace, held by a container on the qmgmt network
    pm.podman("run", "-d", "--name", holder, "--network", n, pm.IMAGE, "sleep", "600")
    sandbox = pm.podman("inspect", "-f", "{{.NetworkSettings.SandboxKey}}", holder).stdout.strip()
    mac = str(slices_of(parent)[0]["mac"])
    qrun = subprocess.Popen(
        [sys.executable, "-m", "qctl", "run", "eth0", "--netns-path", sandbox, "--runtime",
         "--", "podman", "run", "--rm", "--name", nf, "--network", f"container:{holder}",
         "--preserve-fds", "{nfds}", "-e", "QMGMT_AFXDP", "--cap-drop", "all",
         "--security-opt", "no-new-privileges", "--user", "65534:65534",
         # the image is busybox: Python, the venv and its interpreter come
         # from the host, read-only (an NF image would carry its own)
         "-v", "/usr:/usr:ro", "-v", f"{VENV}:{VENV}:ro",
         "-v", f"{sys.base_prefix}:{sys.base_prefix}:ro", pm.IMAGE,
         f"{VENV}/bin/python", "-m", "qctl.pktio.reflector", "--seconds", "300"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    launcher.append(qrun)
    tail = [b"-m", b"qctl.pktio.reflector"]
    st = wait_for(lambda: _process(tail) if qrun.poll() is None else {"exited": "1"},
                  timeout=180, step=1, what="the reflector in its container")
    assert "exited" not in st, qrun.communicate()
    # no capability in any set, no way to gain one, not root
    assert {st[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")} == \
        {"0000000000000000"}, st
    assert st["NoNewPrivs"].strip() == "1" and st["Uid"].split()[0] == "65534", st
    time.sleep(2)       # the reflector maps its rings after exec
    back = exchange(peer, mac)
    assert back == set(range(N)), f"{N - len(back)} of {N} echoes missing"
    pm.podman("stop", "-t", "10", nf)
    out, err = qrun.communicate(timeout=120)
    assert qrun.returncode == 0, err
    stats = json.loads(out.strip().splitlines()[-1])
    assert sum(q["rx"] for q in stats["queues"].values()) == N
    assert sum(q["tx"] for q in stats["queues"].values()) == N
    pm.podman("rm", "-f", "-t", "0", holder)
    nothing_left(parent, n)

"""qmgmt-cni, called exactly as a container runtime calls a CNI plugin:
CNI_* environment, the network config on stdin, the result on stdout.
IPAM is the reference host-local plugin (Debian's containernetworking-plugins),
and a chain runs our plugin then the reference `tuning` plugin.
"""
from __future__ import annotations

import ipaddress
import json
import os
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from qmtest.cni import CNI_PATH, SUBNET, Runtime
from qmtest.defer import DeferStack
from qmtest.netns import NetNS
from qmtest.nsim import NetdevSim
from qmtest.slices import links, owned
from qmtest.utils import cmd

@pytest.fixture
def rt(tmp_path: Any, dev2: NetdevSim) -> Runtime:
    if not os.access(os.path.join(CNI_PATH, "host-local"), os.X_OK):
        pytest.fail("host-local missing: scripts/setup-host.sh installs "
                    "containernetworking-plugins")
    return Runtime(str(tmp_path), dev2.ifname)


@pytest.fixture
def pod(defer: DeferStack) -> Callable[[], NetNS]:
    def make() -> NetNS:
        ns = NetNS("qmpod")
        defer(ns.remove)
        return ns
    return make


def test_version() -> None:
    out = subprocess.run(["qmgmt-cni"], env=dict(os.environ, CNI_COMMAND="VERSION"),
                         input="{}", capture_output=True, text=True, check=True).stdout
    assert "1.1.0" in json.loads(out)["supportedVersions"]


def test_add_check_del(rt: Runtime, pod: Callable[[], NetNS], dev2: NetdevSim) -> None:
    ns = pod()
    rc, res = rt.call("ADD", "c1", ns.path)
    assert rc == 0 and res is not None, res
    assert res["cniVersion"] == "1.1.0"
    assert res["interfaces"] == [{"name": "net1", "mac": res["interfaces"][0]["mac"],
                                  "sandbox": ns.path}]
    ip = res["ips"][0]
    assert ip["interface"] == 0 and ipaddress.ip_interface(ip["address"]) in \
        ipaddress.ip_network(SUBNET)
    assert {"dst": "203.0.113.0/24"}.items() <= res["routes"][0].items()
    # what the result says is what the pod has
    assert "net1" in links(ns.name)
    addrs = cmd(["ip", "-j", "addr", "show", "net1"], ns=ns.name).stdout
    assert ip["address"].split("/")[0] in addrs and '"operstate"' in addrs
    assert owned(dev2) == {"rx": [2, 3], "tx": [2, 3]}
    assert rt.call("CHECK", "c1", ns.path, conf=dict(rt.conf, prevResult=res))[0] == 0
    # DEL, twice: idempotent; every queue back, the address released
    assert rt.call("DEL", "c1", ns.path)[0] == 0
    assert owned(dev2) == {"rx": [], "tx": []} and "net1" not in links(ns.name)
    assert rt.leases() == []
    assert rt.call("DEL", "c1", ns.path) == (0, None)


def test_per_pod_queue_counts(rt: Runtime, pod: Callable[[], NetNS],
                              dev2: NetdevSim) -> None:
    ns = pod()
    conf = dict(rt.conf, runtimeConfig={"qmgmt": {"rxQueues": 3, "txQueues": 1,
                                                  "maxQueues": 4}})
    rc, res = rt.call("ADD", "c1", ns.path, conf=conf)
    assert rc == 0, res
    assert owned(dev2) == {"rx": [2, 3, 4], "tx": [2]}
    assert rt.call("DEL", "c1", ns.path, conf=conf)[0] == 0


def test_del_after_the_netns_is_gone(rt: Runtime, pod: Callable[[], NetNS],
                                     dev2: NetdevSim) -> None:
    ns = pod()
    assert rt.call("ADD", "c1", ns.path)[0] == 0
    ns.remove()
    assert rt.call("DEL", "c1", "")[0] == 0
    assert owned(dev2) == {"rx": [], "tx": []} and rt.leases() == []


def test_kernel_refusal_is_a_cni_error_and_leaves_nothing(
        rt: Runtime, pod: Callable[[], NetNS], dev2: NetdevSim) -> None:
    ns = pod()
    conf = dict(rt.conf, rxQueues=7, maxQueues=7)       # the pool has 6 spare
    rc, res = rt.call("ADD", "c1", ns.path, conf=conf)
    assert rc == 1 and res is not None and res["code"] == 100, res
    # the errno and the kernel's extack in msg, once (a runtime prints
    # msg and details side by side)
    assert res["msg"].startswith("ip link add type slice: ENOSPC") and "details" not in res, res
    assert owned(dev2) == {"rx": [], "tx": []} and links(ns.name) == ["lo"]
    assert rt.leases() == [] and rt.states() == []


def test_check_sees_a_missing_slice(rt: Runtime, pod: Callable[[], NetNS]) -> None:
    ns = pod()
    assert rt.call("ADD", "c1", ns.path)[0] == 0
    cmd(["ip", "link", "del", "net1"], ns=ns.name)
    rc, res = rt.call("CHECK", "c1", ns.path)
    assert rc == 1 and res is not None and res["code"] != 0
    assert rt.call("DEL", "c1", ns.path)[0] == 0


def test_gc_removes_stale_attachments(rt: Runtime, pod: Callable[[], NetNS],
                                      dev2: NetdevSim) -> None:
    a, b = pod(), pod()
    assert rt.call("ADD", "ca", a.path)[0] == 0
    assert rt.call("ADD", "cb", b.path)[0] == 0
    conf = dict(rt.conf, **{"cni.dev/valid-attachments": [
        {"containerID": "ca", "ifname": "net1"}]})
    assert rt.call("GC", conf=conf)[0] == 0
    assert "net1" in links(a.name) and "net1" not in links(b.name)
    assert len(rt.leases()) == 1 and len(owned(dev2)["rx"]) == 2
    assert rt.call("DEL", "ca", a.path)[0] == 0


def test_status(rt: Runtime) -> None:
    assert rt.call("STATUS") == (0, None)
    rc, res = rt.call("STATUS", conf=dict(rt.conf, parent="qmnosuch"))
    assert rc == 1 and res is not None and res["code"] == 50


def test_chain_with_tuning(rt: Runtime, pod: Callable[[], NetNS]) -> None:
    """A conflist as a runtime runs it: our ADD, then tuning's with our result
    as prevResult; DEL in reverse order.  Debian's plugins speak 1.0.0."""
    ns = pod()
    ours = dict(rt.conf, cniVersion="1.0.0")
    rc, res = rt.call("ADD", "c1", ns.path, conf=ours)
    assert rc == 0 and res is not None, res
    tuning = {"cniVersion": "1.0.0", "name": "qmnet", "type": "tuning", "mtu": 1400,
              "sysctl": {"net.ipv6.conf.net1.disable_ipv6": "1"}, "prevResult": res}
    rc, res2 = rt.call("ADD", "c1", ns.path, conf=tuning, plugin="tuning")
    assert rc == 0 and res2 is not None, res2
    assert '"mtu":1400' in cmd(["ip", "-j", "link", "show", "net1"], ns=ns.name).stdout
    assert rt.call("DEL", "c1", ns.path, conf=tuning, plugin="tuning")[0] == 0
    assert rt.call("DEL", "c1", ns.path, conf=ours)[0] == 0
    assert rt.leases() == []

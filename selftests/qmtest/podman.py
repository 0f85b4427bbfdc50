"""Debian's podman (4.3, crun, CNI backend) set up as a user would from the
README: a storage and an engine config, qmgmt-cni where podman looks for CNI
plugins, a conflist per network in /etc/cni/net.d, and a tiny image made
offline from busybox-static.  The guest's /etc, /usr and /var are
throw-away overlays, so this writes the system's own paths."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from typing import Any

from .utils import cmd

IMAGE = "localhost/qmgmt/busybox"
NET_D = "/etc/cni/net.d"
PLUGIN_DIR = "/usr/local/lib/cni"       # in podman's default cni_plugin_dirs
IPAM_DIR = "/var/lib/cni/networks"      # host-local's default dataDir
STATE_DIR = "/var/lib/cni/qmgmt"        # qmgmt-cni's default state dir

STORAGE_CONF = """[storage]
# vfs: the guest's /var is an overlay already, and overlay does not stack
driver = "vfs"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"
"""
CONTAINERS_CONF = """[engine]
# no systemd in the guest
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
network_backend = "cni"
"""


def setup(venv: str) -> None:
    """Configure podman, put qmgmt-cni where it looks, import the image."""
    if not os.path.ismount("/sys/fs/cgroup"):
        cmd(["mount", "-t", "cgroup2", "none", "/sys/fs/cgroup"])
    os.makedirs("/etc/containers", exist_ok=True)
    with open("/etc/containers/storage.conf", "w", encoding="ascii") as f:
        f.write(STORAGE_CONF)
    with open("/etc/containers/containers.conf", "w", encoding="ascii") as f:
        f.write(CONTAINERS_CONF)
    os.makedirs(PLUGIN_DIR, exist_ok=True)
    link = os.path.join(PLUGIN_DIR, "qmgmt-cni")
    if not os.path.lexists(link):
        os.symlink(os.path.join(venv, "bin", "qmgmt-cni"), link)
    os.makedirs(NET_D, exist_ok=True)
    if cmd(["podman", "image", "exists", IMAGE], check=False).returncode != 0:
        _import_image()


def _import_image() -> None:
    """busybox-static and the applets the tests use; /usr, /lib and /lib64
    are where a test mounts the host's /usr to run Python in the container."""
    with tempfile.TemporaryDirectory() as d:
        root = os.path.join(d, "root")
        for sub in ("bin", "usr", "proc", "sys", "dev", "etc", "tmp", "run"):
            os.makedirs(os.path.join(root, sub))
        shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
        for applet in ("sh", "ls", "cat", "sleep", "ip", "id", "grep"):
            os.symlink("busybox", os.path.join(root, "bin", applet))
        os.symlink("usr/lib", os.path.join(root, "lib"))
        os.symlink("usr/lib64", os.path.join(root, "lib64"))
        tar = os.path.join(d, "rootfs.tar")
        cmd(["tar", "-C", root, "-cf", tar, "."])
        cmd(["podman", "import", tar, IMAGE], timeout=300)


def network(name: str, parent: str, **fields: Any) -> dict[str, Any]:
    """A conflist as the README shows it: qmgmt-cni with host-local IPAM,
    then the reference tuning plugin."""
    conf = {"cniVersion": "1.0.0", "name": name, "plugins": [
        {"type": "qmgmt-cni", "parent": parent, "rxQueues": 2, "txQueues": 2,
         "ipam": {"type": "host-local", "subnet": "10.88.7.0/24"}, **fields},
        {"type": "tuning", "mtu": 1400}]}
    with open(os.path.join(NET_D, f"{name}.conflist"), "w", encoding="ascii") as f:
        json.dump(conf, f)
    return conf


def remove_network(name: str) -> None:
    try:
        os.unlink(os.path.join(NET_D, f"{name}.conflist"))
    except FileNotFoundError:
        pass


def podman(*args: str, check: bool = True, timeout: float = 300,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return cmd(["podman", *args], check=check, timeout=timeout, env=env)


def ipam_leases(net: str) -> list[str]:
    d = os.path.join(IPAM_DIR, net)
    return sorted(f for f in os.listdir(d) if f[0].isdigit()) if os.path.isdir(d) else []


def states(net: str) -> list[str]:
    d = os.path.join(STATE_DIR, net)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []

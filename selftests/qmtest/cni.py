"""Calling CNI plugins as a container runtime does (for tests and benches)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

CNI_PATH = "/usr/lib/cni"
SUBNET = "198.51.100.0/24"


class Runtime:
    """A minimal CNI runtime: one network config, calls by command."""

    def __init__(self, tmp: str, parent: str, **fields: Any) -> None:
        self.state = os.path.join(tmp, "state")
        self.ipam_dir = os.path.join(tmp, "ipam")
        self.conf: dict[str, Any] = {
            "cniVersion": "1.1.0", "name": "qmnet", "type": "qmgmt-cni", "parent": parent,
            "rxQueues": 2, "txQueues": 2, "maxQueues": 3,
            "ipam": {"type": "host-local", "subnet": SUBNET, "dataDir": self.ipam_dir,
                     "routes": [{"dst": "203.0.113.0/24"}]},
            **fields}

    def call(self, command: str, cid: str = "", netns: str = "", ifname: str = "net1",
             conf: dict[str, Any] | None = None, plugin: str = "qmgmt-cni",
             args: str = "") -> tuple[int, dict[str, Any] | None]:
        env = dict(os.environ, CNI_COMMAND=command, CNI_CONTAINERID=cid, CNI_NETNS=netns,
                   CNI_IFNAME=ifname, CNI_PATH=CNI_PATH, CNI_ARGS=args,
                   QMGMT_CNI_STATE=self.state)
        exe = shutil.which(plugin) or os.path.join(CNI_PATH, plugin)
        proc = subprocess.run([exe], input=json.dumps(conf or self.conf), env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert "Traceback" not in proc.stderr, proc.stderr
        out = json.loads(proc.stdout) if proc.stdout.strip() else None
        return proc.returncode, out

    def states(self) -> list[str]:
        d = os.path.join(self.state, "qmnet")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def leases(self) -> list[str]:
        d = os.path.join(self.ipam_dir, "qmnet")
        return sorted(f for f in os.listdir(d) if f[0].isdigit()) if os.path.isdir(d) else []

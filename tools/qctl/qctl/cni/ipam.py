"""The delegated IPAM plugin (host-local from containernetworking-plugins).

It is called as the runtime calls plugins: CNI_* environment, the network
config on stdin.  Its version is asked first (VERSION): Debian 12's
host-local (plugins 1.1.1) speaks up to 1.0.0, so a 1.1.0 network config is
delegated as 1.0.0, whose result format is the same.
"""
from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from .config import E_INVALID_CONFIG, E_IO, CniError, Env


def _find(ptype: str, path: list[str]) -> str:
    for d in path:
        exe = os.path.join(d, ptype)
        if os.access(exe, os.X_OK):
            return exe
    raise CniError(E_INVALID_CONFIG, f"IPAM plugin '{ptype}' not found in CNI_PATH "
                   f"({':'.join(path) or 'empty'})")


def _run(exe: str, command: str, env: Env, conf: dict[str, Any]) -> dict[str, Any]:
    run_env = dict(os.environ, CNI_COMMAND=command, CNI_CONTAINERID=env.container_id,
                   CNI_NETNS=env.netns, CNI_IFNAME=env.ifname, CNI_PATH=":".join(env.path))
    try:
        proc = subprocess.run([exe], input=json.dumps(conf), capture_output=True, text=True,
                              env=run_env, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise CniError(E_IO, f"IPAM plugin {exe} {command}: {e}") from None
    out: dict[str, Any] = {}
    if proc.stdout.strip():
        try:
            out = json.loads(proc.stdout)
        except ValueError:
            raise CniError(E_IO, f"IPAM plugin {exe} {command} printed no JSON: "
                           f"{proc.stdout.strip()[:200]}") from None
    if proc.returncode != 0:
        raise CniError(int(out.get("code", E_IO)), f"IPAM {command}: {out.get('msg', '')}"
                       .rstrip(": "), str(out.get("details", proc.stderr.strip())))
    return out


def _version(exe: str, env: Env, want: str) -> str:
    """The version to delegate with: `want`, else the highest the plugin has
    among those whose result format is the same (1.1.0 and 1.0.0)."""
    res = _run(exe, "VERSION", env, {"cniVersion": want})
    have = res.get("supportedVersions", [])
    if want in have:
        return want
    if want == "1.1.0" and "1.0.0" in have:
        return "1.0.0"
    raise CniError(E_INVALID_CONFIG, f"IPAM plugin {exe} supports {', '.join(have)}, "
                   f"not cniVersion {want}")


def delegate(command: str, conf: dict[str, Any], ipam: dict[str, Any], env: Env
             ) -> dict[str, Any]:
    """Run the IPAM plugin's ADD, DEL or CHECK with the network config."""
    exe = _find(str(ipam["type"]), env.path)
    want = str(conf["cniVersion"])
    sub = dict(conf, ipam=ipam, cniVersion=_version(exe, env, want))
    res = _run(exe, command, env, sub)
    if res:
        res["cniVersion"] = want
    return res

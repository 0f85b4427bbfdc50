"""qmgmt-cni: the commands, called as a container runtime calls a plugin.

Environment CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS,
CNI_PATH; the network config on stdin; the result (or a CNI error, with the
kernel's errno and extack in msg) on stdout; exit 0 on success.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..errors import DeviceError, FeatureMissing, KernelError, QctlError, UsageError
from ..netns import Netns
from . import ipam, state
from .config import (
    CNI_VERSION,
    E_INTERNAL,
    E_INVALID_CONFIG,
    E_INVALID_ENV,
    E_IO,
    E_KERNEL,
    E_MISSING_FEATURE,
    E_NOT_AVAILABLE,
    E_UNKNOWN_CONTAINER,
    SUPPORTED_VERSIONS,
    CniError,
    Env,
    object_list,
    parse_config,
    parse_env,
    request,
)

if TYPE_CHECKING:
    from ..api import Netdev


def _netdev(netns: Netns | None = None) -> Netdev:
    from ..api import Netdev
    return Netdev(netns=netns)


def _sandbox(env: Env) -> Netns:
    """CNI_NETNS, opened: a path that is not a network namespace is an
    invalid environment variable (code 4), found before anything is made."""
    netns = Netns(None, path=env.netns)
    try:
        netns.fd()
    except (DeviceError, UsageError) as e:
        raise CniError(E_INVALID_ENV, f"CNI_NETNS: {e}") from None
    return netns


def _warn(msg: str) -> None:
    print(f"qmgmt-cni: {msg}", file=sys.stderr)


@contextmanager
def netns_closed(ns: Netns) -> Iterator[Netns]:
    try:
        yield ns
    finally:
        ns.close()


def _tmp_name(container_id: str, ifname: str) -> str:
    """A host-side name no two attachments share (until the move renames it)."""
    return "qmc" + hashlib.sha256(f"{container_id}/{ifname}".encode()).hexdigest()[:11]


def _configure(netns: Netns, ifname: str, result: dict[str, Any]) -> None:
    """Link up, addresses and routes of an IPAM result, inside the netns."""
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError
    try:
        with netns.entered():
            ipr = IPRoute()
        try:
            idx = ipr.link_lookup(ifname=ifname)[0]
            for ip in result.get("ips", []):
                addr, plen = ip["address"].split("/")
                ipr.addr("add", index=idx, address=addr, prefixlen=int(plen))
            ipr.link("set", index=idx, state="up")
            for r in result.get("routes", []):
                dst, plen = r["dst"].split("/")
                gw = r.get("gw") or next((ip.get("gateway") for ip in result.get("ips", [])
                                          if ip.get("gateway")), None)
                kw: dict[str, Any] = {"gateway": gw} if gw else {"oif": idx}
                ipr.route("add", dst=dst, dst_len=int(plen), **kw)
        finally:
            ipr.close()
    except (NetlinkError, OSError, KeyError, ValueError) as e:
        raise CniError(E_INVALID_CONFIG, f"cannot configure {ifname}: {e}") from None


def cmd_add(conf: dict[str, Any], env: Env) -> dict[str, Any]:
    req = request(conf, env)
    netns = _sandbox(env)       # the sandbox must exist before anything is made
    with netns_closed(netns), _netdev() as nd:
        nd.client.require("slice-get", "a slice for the container")
        sl = nd.slice_create(req.parent, req.rx, req.tx, name=_tmp_name(env.container_id,
                                                                          env.ifname),
                             mac=req.mac, max_queues=req.max_queues, move_to=netns,
                             move_name=env.ifname)
        # the host's view of the new slice names its parent
        parent = sl.parent_ifindex if sl.parent_ifindex is not None else nd.resolve(req.parent)
        att = state.Attachment(network=req.network, container_id=env.container_id,
                               ifname=env.ifname, parent_ifindex=parent,
                               slice_id=sl.id, netns=env.netns, ipam=req.ipam)
        try:
            result: dict[str, Any] = {}
            if req.ipam is not None:
                result = ipam.delegate("ADD", conf, req.ipam, env)
                _configure(netns, env.ifname, result)
            state.save(att)
        except BaseException:
            _undo(nd, att, conf, env)
            raise
    iface = {"name": env.ifname, "mac": sl.mac, "sandbox": env.netns}
    ips = [dict(ip, interface=0) for ip in result.get("ips", [])]
    out: dict[str, Any] = {"cniVersion": conf["cniVersion"], "interfaces": [iface], "ips": ips}
    for k in ("routes", "dns"):
        if result.get(k):
            out[k] = result[k]
    return out


def _undo(nd: Netdev, att: state.Attachment, conf: dict[str, Any], env: Env) -> None:
    """Take back what ADD made; used when a later ADD step fails."""
    try:
        nd.slice_delete(parent=att.parent_ifindex, slice_id=att.slice_id)
    except KernelError as e:
        if e.code not in (errno.ENOENT, errno.ENODEV):      # already gone
            raise
    if att.ipam is not None:
        ipam.delegate("DEL", conf, att.ipam, env)
    state.remove(att.network, att.container_id, att.ifname)


def cmd_del(conf: dict[str, Any], env: Env) -> None:
    """Idempotent; works with the netns gone (the slice went with it)."""
    try:
        att = state.load(conf["name"], env.container_id, env.ifname)
    except state.Corrupt as e:
        # the slice cannot be named without its record; it is deleted with
        # the container's netns, which the runtime removes after DEL
        _warn(f"{e}; removed, the slice goes with the container's netns")
        os.unlink(e.path)
        att = None
    if att is not None:
        with _netdev() as nd:
            _undo(nd, att, conf, env)
    elif isinstance(conf.get("ipam"), dict):
        # ADD failed before its state was written: IPAM may still hold an
        # address; host-local's DEL of an unknown container is a no-op
        ipam.delegate("DEL", conf, conf["ipam"], env)


def cmd_check(conf: dict[str, Any], env: Env) -> None:
    try:
        att = state.load(conf["name"], env.container_id, env.ifname)
    except state.Corrupt as e:
        raise CniError(E_IO, str(e)) from None
    if att is None:
        raise CniError(E_UNKNOWN_CONTAINER, f"no attachment of {env.container_id} "
                       f"({env.ifname}) on network {conf['name']}")
    req = request(conf, env)
    with _netdev(_sandbox(env)) as nd:
        sl = nd.slice(env.ifname)         # by name, in the container's netns
    # the container's view names no parent: ask the host which slice it is
    with _netdev() as host:
        try:
            ours = host.slice_by_id(att.parent_ifindex, att.slice_id)
        except KernelError:
            ours = None
    if ours is None or (ours.id, ours.ifindex) != (sl.id, sl.ifindex):
        raise CniError(E_INVALID_CONFIG, f"{env.ifname} (ifindex {sl.ifindex}) is not "
                       f"slice {att.slice_id} of ifindex {att.parent_ifindex}")
    if sl.max_queues != req.max_queues:
        raise CniError(E_INVALID_CONFIG, f"{env.ifname} has max-queues {sl.max_queues}, "
                       f"not {req.max_queues}")
    if sl.rx_queues < 1 or sl.tx_queues < 1:
        raise CniError(E_INVALID_CONFIG, f"{env.ifname} has no queues left")
    if att.ipam is not None:
        ipam.delegate("CHECK", conf, att.ipam, env)


def cmd_status(conf: dict[str, Any], env: Env) -> None:
    parent = conf.get("parent")
    with _netdev() as nd:
        try:
            nd.client.require("slice-get", "slices")
            if isinstance(parent, str):
                nd.resolve(parent)
        except (FeatureMissing, DeviceError) as e:
            raise CniError(E_NOT_AVAILABLE, f"plugin not available: {e}") from None


def cmd_gc(conf: dict[str, Any], env: Env) -> None:
    """Delete what attachments no longer listed as valid still hold."""
    valid = {(a.get("containerID"), a.get("ifname"))
             for a in object_list(conf, "cni.dev/valid-attachments")}
    with _netdev() as nd:
        for att in state.all_of(conf["name"]):
            if isinstance(att, state.Corrupt):
                _warn(f"{att}; removed")
                os.unlink(att.path)
            elif att.key not in valid:
                _undo(nd, att, conf, env._replace(container_id=att.container_id,
                                                  ifname=att.ifname, netns=""))


def run(environ: dict[str, str], stdin: bytes) -> tuple[int, dict[str, Any] | None]:
    """(exit code, JSON to print) for one call."""
    version = CNI_VERSION
    try:
        env = parse_env(environ)
        if env.command == "VERSION":
            return 0, {"cniVersion": CNI_VERSION, "supportedVersions": list(SUPPORTED_VERSIONS)}
        conf = parse_config(stdin)
        version = conf["cniVersion"]
        if env.command == "ADD":
            return 0, cmd_add(conf, env)
        handlers = {"DEL": cmd_del, "CHECK": cmd_check, "STATUS": cmd_status, "GC": cmd_gc}
        if env.command not in handlers:
            raise CniError(E_INVALID_ENV, f"unknown CNI_COMMAND '{env.command}'")
        handlers[env.command](conf, env)
        return 0, None
    except CniError as e:
        return 1, e.to_json(version)
    except KernelError as e:
        # the message has the errno and the extack already: no details
        return 1, CniError(E_KERNEL, str(e)).to_json(version)
    except FeatureMissing as e:
        return 1, CniError(E_MISSING_FEATURE, str(e)).to_json(version)
    except (UsageError, DeviceError) as e:
        return 1, CniError(E_INVALID_CONFIG, str(e)).to_json(version)
    except QctlError as e:
        return 1, CniError(E_KERNEL, str(e)).to_json(version)
    except OSError as e:
        return 1, CniError(E_IO, f"{e.filename or 'I/O'}: {e.strerror or e}").to_json(version)
    except Exception as e:   # a bug: still a CNI error a runtime can show, never a traceback
        return 1, CniError(E_INTERNAL, f"internal error: {type(e).__name__}: {e}"
                           ).to_json(version)


def main() -> None:
    rc, out = run(dict(os.environ), sys.stdin.buffer.read())
    if out is not None:
        sys.stdout.write(json.dumps(out) + "\n")
    sys.exit(rc)

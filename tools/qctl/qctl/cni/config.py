"""The CNI network config and environment, parsed and checked (pure logic).

Network config (stdin), plugin fields beside the standard ones:

  {"cniVersion": "1.1.0", "name": "nf-net", "type": "qmgmt-cni",
   "parent": "eth0", "rxQueues": 2, "txQueues": 2, "maxQueues": 4,
   "mac": "02:00:00:00:00:10",                      (optional)
   "ipam": {"type": "host-local", ...},             (optional)
   "capabilities": {"qmgmt": true}}

A pod asks for its own counts through the runtime's capability args
(runtimeConfig {"qmgmt": {"rxQueues": 4, "txQueues": 4, "maxQueues": 8,
"mac": ...}}) or through CNI_ARGS (QMGMT_RX_QUEUES=4;QMGMT_TX_QUEUES=4;
QMGMT_MAX_QUEUES=8;QMGMT_MAC=...); runtimeConfig wins over CNI_ARGS, both
over the network config.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from ..errors import UsageError
from ..slices import parse_mac

SUPPORTED_VERSIONS = ("0.4.0", "1.0.0", "1.1.0")
CNI_VERSION = "1.1.0"

# CNI spec error codes
E_INCOMPATIBLE = 1
E_UNSUPPORTED_FIELD = 2
E_UNKNOWN_CONTAINER = 3
E_INVALID_ENV = 4
E_IO = 5
E_DECODE = 6
E_INVALID_CONFIG = 7
E_TRY_LATER = 11
E_NOT_AVAILABLE = 50
# plugin-specific (>= 100)
E_KERNEL = 100          # the kernel refused; msg is its errno and extack
E_MISSING_FEATURE = 101
E_INTERNAL = 199        # a bug in the plugin: msg names the exception

_IFNAME = re.compile(r"^[^/\s:]{1,15}$")
# the CNI spec's grammar for a network name and a container id
_CNI_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$")
_ARG_KEYS = {"QMGMT_RX_QUEUES": "rxQueues", "QMGMT_TX_QUEUES": "txQueues",
             "QMGMT_MAX_QUEUES": "maxQueues", "QMGMT_MAC": "mac"}


class CniError(Exception):
    """A CNI error result: code, msg and details (printed as JSON)."""

    def __init__(self, code: int, msg: str, details: str = "") -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.details = details

    def to_json(self, version: str = CNI_VERSION) -> dict[str, Any]:
        out: dict[str, Any] = {"cniVersion": version, "code": self.code, "msg": self.msg}
        if self.details:
            out["details"] = self.details
        return out


class Env(NamedTuple):
    """The CNI_* environment of one call."""

    command: str
    container_id: str
    netns: str
    ifname: str
    args: dict[str, str]
    path: list[str]


class Request(NamedTuple):
    """What ADD makes, after config, capability args and CNI_ARGS."""

    network: str
    parent: str
    rx: int
    tx: int
    max_queues: int
    mac: str | None
    ipam: dict[str, Any] | None


def parse_env(environ: Mapping[str, str]) -> Env:
    command = environ.get("CNI_COMMAND", "")
    if not command:
        raise CniError(E_INVALID_ENV, "CNI_COMMAND is not set")
    if command == "VERSION":
        # nothing else counts: a runtime validating a network list calls
        # VERSION with CNI_NETNS=dummy and the like (podman 4.3's libcni)
        return Env(command=command, container_id="", netns="", ifname="", args={}, path=[])
    args: dict[str, str] = {}
    for part in environ.get("CNI_ARGS", "").split(";"):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise CniError(E_INVALID_ENV, f"CNI_ARGS entry '{part}' is not KEY=VALUE")
        args[key] = value
    env = Env(command=command, container_id=environ.get("CNI_CONTAINERID", ""),
              netns=environ.get("CNI_NETNS", ""), ifname=environ.get("CNI_IFNAME", ""),
              args=args, path=[p for p in environ.get("CNI_PATH", "").split(":") if p])
    need = {"ADD": ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"),
            "CHECK": ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"),
            "DEL": ("CNI_CONTAINERID", "CNI_IFNAME")}.get(command, ())
    missing = [k for k in need if not environ.get(k)]
    if missing:
        raise CniError(E_INVALID_ENV, f"{command} needs {', '.join(missing)}")
    if env.container_id and not _CNI_NAME.match(env.container_id):
        raise CniError(E_INVALID_ENV, f"CNI_CONTAINERID '{env.container_id}' is not a "
                       "container id (letters, digits, '_', '.', '-')")
    if env.netns and not env.netns.startswith("/"):
        raise CniError(E_INVALID_ENV, f"CNI_NETNS '{env.netns}' is not an absolute path")
    if env.ifname and not _IFNAME.match(env.ifname):
        raise CniError(E_INVALID_ENV, f"CNI_IFNAME '{env.ifname}' is not a valid interface name")
    return env


def parse_config(raw: bytes | str) -> dict[str, Any]:
    """The network config from stdin: JSON with cniVersion and name."""
    import json
    try:
        conf = json.loads(raw)
    except ValueError as e:
        raise CniError(E_DECODE, f"network config is not JSON: {e}") from None
    if not isinstance(conf, dict):
        raise CniError(E_DECODE, "network config is not a JSON object")
    version = conf.get("cniVersion")
    if version not in SUPPORTED_VERSIONS:
        raise CniError(E_INCOMPATIBLE, f"cniVersion {version!r} is not supported "
                       f"(one of {', '.join(SUPPORTED_VERSIONS)})")
    name = conf.get("name")
    if not isinstance(name, str) or not name:
        raise CniError(E_INVALID_CONFIG, "network config has no name")
    if not _CNI_NAME.match(name):
        raise CniError(E_INVALID_CONFIG, f"network name '{name}' is not valid "
                       "(letters, digits, '_', '.', '-')")
    return conf


def object_list(conf: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """A config field that must be a list of objects (absent: empty)."""
    value = conf.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise CniError(E_INVALID_CONFIG, f"{key} must be a list of objects")
    return value


def _count(value: Any, what: str, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise CniError(E_INVALID_CONFIG, f"{what} must be an integer, not {value!r}")
    try:
        n = int(value)
    except ValueError:
        raise CniError(E_INVALID_CONFIG, f"{what} must be an integer, not {value!r}") from None
    if not lo <= n <= 2**32 - 1:
        raise CniError(E_INVALID_CONFIG, f"{what} {n} is out of range ({lo}..{2**32 - 1})")
    return n


def request(conf: dict[str, Any], env: Env) -> Request:
    """The slice ADD creates: config, overridden by CNI_ARGS, then runtimeConfig."""
    parent = conf.get("parent")
    if not isinstance(parent, str) or not parent:
        raise CniError(E_INVALID_CONFIG, "network config has no 'parent' device")
    fields: dict[str, Any] = {k: conf[k] for k in ("rxQueues", "txQueues", "maxQueues", "mac")
                              if k in conf}
    fields.update({_ARG_KEYS[k]: v for k, v in env.args.items() if k in _ARG_KEYS})
    runtime = conf.get("runtimeConfig", {})
    if not isinstance(runtime, dict):
        raise CniError(E_INVALID_CONFIG, "runtimeConfig must be an object")
    rc = runtime.get("qmgmt", {})
    if not isinstance(rc, dict):
        raise CniError(E_INVALID_CONFIG, "runtimeConfig.qmgmt must be an object")
    unknown = set(rc) - {"rxQueues", "txQueues", "maxQueues", "mac"}
    if unknown:
        raise CniError(E_UNSUPPORTED_FIELD, f"runtimeConfig.qmgmt has unknown "
                       f"field(s): {', '.join(sorted(unknown))}")
    fields.update(rc)
    rx = _count(fields.get("rxQueues", 1), "rxQueues", 1)
    tx = _count(fields.get("txQueues", 1), "txQueues", 1)
    maxq = _count(fields.get("maxQueues", max(rx, tx)), "maxQueues", 1)
    if maxq < max(rx, tx):
        raise CniError(E_INVALID_CONFIG, f"maxQueues {maxq} is below rxQueues {rx} / "
                       f"txQueues {tx}")
    mac = fields.get("mac")
    if mac is not None and not isinstance(mac, str):
        raise CniError(E_INVALID_CONFIG, f"mac must be a string, not {mac!r}")
    if mac is not None:
        try:
            parse_mac(mac)              # the rule qctl's slice create applies
        except UsageError as e:
            raise CniError(E_INVALID_CONFIG, f"mac: {e}") from None
    ipam = conf.get("ipam")
    if ipam is not None and (not isinstance(ipam, dict) or not ipam.get("type")):
        raise CniError(E_INVALID_CONFIG, "ipam must be an object with a type")
    return Request(network=conf["name"], parent=parent, rx=rx, tx=tx, max_queues=maxq,
                   mac=mac, ipam=ipam or None)

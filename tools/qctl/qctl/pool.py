"""A device's queue pools and their split among its functions (devlink).

The pool of each queue type is the devlink resource ``rx_queues`` /
``tx_queues`` of the device's instance (size, and the sum of the shares as
its occupancy); each function's share and use are its port's function
attributes ``rx-queues``, ``tx-queues``, ``rx-queues-used`` and
``tx-queues-used``.  Who uses a PF's share comes from the netdev family:
its netdevice's own queues and the queues each of its slices owns.

Requests go through the same GenlClient as the netdev family, with the
bundled devlink spec.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from .client import GenlClient
from .consts import QUEUE_TYPES
from .errors import DeviceError, UsageError
from .netns import Netns
from .spec import load_spec

if TYPE_CHECKING:
    from .api import Netdev

FN_ATTRS = {t: (f"{t}-queues", f"{t}-queues-used") for t in QUEUE_TYPES}


class Share(NamedTuple):
    """One function's share of one pool."""

    share: int
    used: int

    @property
    def free(self) -> int:
        return max(self.share - self.used, 0)

    def to_json(self) -> dict[str, int]:
        return {"share": self.share, "used": self.used, "free": self.free}


class User(NamedTuple):
    """Something that holds queues of a PF's share: its own netdevice or
    one of its slices; ids are the PF's queue ids."""

    kind: str                   # "netdev" or "slice"
    name: str
    rx: tuple[int, ...]
    tx: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "rx": list(self.rx),
                "tx": list(self.tx)}


class Function(NamedTuple):
    """A PCI function of the device, as its devlink port describes it."""

    name: str                   # pf0, vf1
    port_index: int
    flavour: str
    netdev: str | None          # the PF's netdevice; a VF's representor
    shares: dict[str, Share]
    users: tuple[User, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"function": self.name, "port_index": self.port_index,
                "flavour": self.flavour, "netdev": self.netdev,
                **{t: s.to_json() for t, s in self.shares.items()},
                "users": [u.to_json() for u in self.users]}


class PoolSize(NamedTuple):
    size: int
    shared: int

    @property
    def free(self) -> int:
        return max(self.size - self.shared, 0)

    def to_json(self) -> dict[str, int]:
        return {"size": self.size, "shared": self.shared, "free": self.free}


class Pool(NamedTuple):
    """The device's pools and every function with a share."""

    devlink: str                # bus/dev, as devlink names it
    pools: dict[str, PoolSize]
    functions: tuple[Function, ...]

    def to_json(self) -> dict[str, Any]:
        return {"devlink": self.devlink, "pool": {t: p.to_json() for t, p in self.pools.items()},
                "functions": [f.to_json() for f in self.functions]}


def _handle(port: dict[str, Any]) -> dict[str, Any]:
    return {"bus-name": port["bus-name"], "dev-name": port["dev-name"]}


def _fn_name(port: dict[str, Any]) -> str:
    if port.get("port-flavour") == "pci-vf":
        return f"vf{port.get('port-pci-vf-number', '?')}"
    return f"pf{port['port-index']}"


def _shares(fn: dict[str, Any]) -> dict[str, Share] | None:
    if any(a not in fn for t in QUEUE_TYPES for a in FN_ATTRS[t]):
        return None
    return {t: Share(int(fn[FN_ATTRS[t][0]]), int(fn[FN_ATTRS[t][1]])) for t in QUEUE_TYPES}


class Devlink:
    """The devlink family in one network namespace, for queue pools."""

    def __init__(self, netns: str | Netns | None = None,
                 client: GenlClient | None = None) -> None:
        self.client = client or GenlClient(spec=load_spec(family="devlink"), netns=netns)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Devlink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ports(self, handle: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self.client.dump("port-get", handle or {})

    def port_of(self, ifindex: int, ifname: str) -> dict[str, Any]:
        """The devlink port whose netdevice is `ifindex`."""
        for p in self.ports():
            if p.get("port-netdev-ifindex") == ifindex:
                return p
        raise DeviceError(f"{ifname} has no devlink port (its driver does not register one)")

    def pools(self, handle: dict[str, Any]) -> dict[str, PoolSize]:
        rsp = self.client.do("resource-dump", handle)
        found: dict[str, PoolSize] = {}
        for r in rsp.get("resource-list", {}).get("resource", []):
            name = r.get("resource-name", "")
            t = name.removesuffix("_queues")
            if t in QUEUE_TYPES and name.endswith("_queues"):
                found[t] = PoolSize(int(r["resource-size"]), int(r.get("resource-occ", 0)))
        if set(found) != set(QUEUE_TYPES):
            raise DeviceError(f"{handle['bus-name']}/{handle['dev-name']} has no rx_queues and "
                              "tx_queues devlink resources (its driver does not split a "
                              "queue pool)")
        return found

    def functions(self, handle: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Share]]]:
        out = []
        for p in self.ports(handle):
            sh = _shares(p.get("port-function", {}))
            if sh is not None:
                out.append((p, sh))
        return sorted(out, key=lambda ps: ps[0]["port-index"])

    def function_port(self, handle: dict[str, Any], function: str) -> dict[str, Any]:
        """The port of `function`: pfN / vfN / a port index."""
        for p in self.ports(handle):
            if function in (_fn_name(p), str(p["port-index"])):
                return p
        raise UsageError(f"{handle['bus-name']}/{handle['dev-name']} has no function "
                         f"'{function}' (pfN, vfN or a devlink port index)")

    def set_share(self, port: dict[str, Any], rx: int | None, tx: int | None) -> None:
        fn = {k: v for k, v in (("rx-queues", rx), ("tx-queues", tx)) if v is not None}
        if not fn:
            raise UsageError("give --rx and/or --tx")
        self.client.do("port-set", {**_handle(port), "port-index": port["port-index"],
                                    "port-function": fn})


def users(nd: Netdev, ifindex: int, ifname: str) -> tuple[User, ...]:
    """Who holds queues of a PF's share: the netdevice itself, each slice,
    and any other lease (api.ownership is the rule).  queue-get reports the
    queues of a running device only: a down PF lists no ids."""
    o = nd.overview(ifindex)
    names = {s.ifindex: s.name for s in o.slices}
    held: dict[tuple[str, int | None], dict[str, list[int]]] = {}
    for w in o.owners:
        held.setdefault((w.kind, w.ifindex), {t: [] for t in QUEUE_TYPES})[w.queue.type] \
            .append(w.queue.id)
    own = held.pop(("own", None), {t: [] for t in QUEUE_TYPES})
    res = [User("netdev", ifname, tuple(own["rx"]), tuple(own["tx"]))]
    for (kind, ifx), q in sorted(held.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        name = names[ifx] if kind == "slice" and ifx is not None else f"ifindex {ifx}"
        res.append(User(kind, name, tuple(q["rx"]), tuple(q["tx"])))
    return tuple(res)


def pool(dl: Devlink, nd: Netdev, dev: str | int) -> Pool:
    """The pool DEV's device splits, with every function's share."""
    ifindex = nd.resolve(dev)
    ifname = nd.ifname(ifindex)
    handle = _handle(dl.port_of(ifindex, ifname))
    pools = dl.pools(handle)
    fns = []
    for p, sh in dl.functions(handle):
        netdev = p.get("port-netdev-name")
        us: tuple[User, ...] = ()
        if p.get("port-flavour") != "pci-vf" and p.get("port-netdev-ifindex"):
            us = users(nd, int(p["port-netdev-ifindex"]), str(netdev))
        fns.append(Function(_fn_name(p), int(p["port-index"]), str(p.get("port-flavour", "")),
                            netdev, sh, us))
    return Pool(f"{handle['bus-name']}/{handle['dev-name']}", pools, tuple(fns))


def pool_set(dl: Devlink, nd: Netdev, dev: str | int, function: str, rx: int | None,
             tx: int | None) -> Function:
    """Set a function's shares (one request: a refusal changes neither)."""
    ifindex = nd.resolve(dev)
    handle = _handle(dl.port_of(ifindex, nd.ifname(ifindex)))
    port = dl.function_port(handle, function)
    dl.set_share(port, rx, tx)
    after = dl.client.do("port-get", {**handle, "port-index": port["port-index"]})
    sh = _shares(after.get("port-function", {}))
    if sh is None:
        raise DeviceError(f"function {function} reports no queue share")
    return Function(_fn_name(after), int(after["port-index"]),
                    str(after.get("port-flavour", "")), after.get("port-netdev-name"), sh)

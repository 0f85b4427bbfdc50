"""The container side of the slice tests.

Run as `unshare -Urn python -m qmtest.container PARENT_IFINDEX OTHER_IFINDEX`:
a new user namespace and a network namespace it owns, so the process is root
there and has no capability over the initial namespaces -- a container admin.
It reads the name of the slice from stdin once the host has moved the slice
in, exercises it and prints one JSON object with what happened.
"""
from __future__ import annotations

import json
import sys
from typing import Any, Callable

from pyroute2 import IPRoute

from qctl import KernelError, Netdev
from qctl.errors import DeviceError

from .slices import FALLBACK_DEVS
from .xsk import XskSocket


def outcome(fn: Callable[[], Any]) -> dict[str, Any]:
    """{'ok': result} or the errno name and extack of a refusal."""
    try:
        res = fn()
    except KernelError as e:
        return {"errno": e.errno_name, "extack": e.extack}
    except (DeviceError, OSError) as e:
        return {"error": str(e)}
    return {"ok": res}


def run(nd: Netdev, name: str, parent_ifindex: int, other_ifindex: int) -> dict[str, Any]:
    res: dict[str, Any] = {}
    with IPRoute() as ipr:
        idx = ipr.link_lookup(ifname=name)[0]
        ipr.link("set", index=idx, state="up")
        res["links"] = sorted(n for n in (str(x.get_attr("IFLA_IFNAME")) for x in
                                          ipr.get_links()) if n not in FALLBACK_DEVS)
        (link,) = ipr.get_links(idx)
        # what `ip -d link` would show as @ifN and link-netnsid
        res["iflink"] = link.get_attr("IFLA_LINK")
        res["link_netnsid"] = link.get_attr("IFLA_LINK_NETNSID")
    res["ifindex"] = idx
    res["initial"] = [[q.type, q.id] for q in nd.queues(idx)]
    res["lease"] = [[q.type, q.id, q.lease.ifindex, q.lease.id, q.lease.netns_id]
                    for q in nd.queues(idx) if q.lease]
    # grow to the quota, one past it
    res["grow"] = [outcome(lambda: nd.alloc(idx, "rx").id) for _ in range(3)]
    res["grow_tx"] = [outcome(lambda: nd.alloc(idx, "tx").id) for _ in range(3)]
    res["after_grow"] = [[q.type, q.id] for q in nd.queues(idx)]
    # AF_XDP on a slice queue it allocated: bind works, free is refused
    xsk = XskSocket(idx, 1)
    try:
        res["free_busy"] = outcome(lambda: nd.free(idx, "rx", 1))
    finally:
        xsk.close()
    res["free_static"] = outcome(lambda: nd.free(idx, "rx", 0))
    # the parent and the other slice are out of reach
    res["parent_alloc"] = outcome(lambda: nd.client.do(
        "queue-create", {"ifindex": parent_ifindex, "type": "rx"}))
    res["parent_queues"] = outcome(lambda: nd.client.dump(
        "queue-get", {"ifindex": parent_ifindex}))
    res["other_alloc"] = outcome(lambda: nd.client.do(
        "queue-create", {"ifindex": other_ifindex, "type": "rx"}))
    res["other_get"] = outcome(lambda: nd.client.do("slice-get", {"ifindex": other_ifindex}))
    # slices are made from the parent's side only: here a slice is the
    # only candidate parent, and a slice cannot be one
    res["nested_create"] = outcome(lambda: nd.slice_create(idx, 1, 1).id)
    # slice-get names no parent here: no parent ifindex, no parent queue ids
    res["dump"] = [[s.name, s.parent_ifindex, [q.parent_id for q in s.queues]]
                   for s in nd.slices()]
    res["get"] = nd.slice(idx).to_json()
    # ip link del of its own link works, as for any link in its netns
    res["delete"] = outcome(lambda: nd.slice_delete(idx).name)
    return res


def main() -> int:
    parent_ifindex, other_ifindex = int(sys.argv[1]), int(sys.argv[2])
    name = sys.stdin.readline().strip()
    with Netdev() as nd:
        res = run(nd, name, parent_ifindex, other_ifindex)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The handover between `qctl run` and the network function it execs.

The function inherits file descriptors and one environment variable,
QMGMT_AFXDP, whose value is JSON:

  {"version": 1, "ifname": "net1", "ifindex": 7,
   "umem": {"fd": 3, "size": 16777216, "frame_size": 2048},
   "queues": [{"queue": 0, "fd": 4, "mode": "zerocopy",
               "umem_offset": 0, "frames": 4096,
               "rx": 2048, "tx": 2048, "fill": 2048, "comp": 2048}, ...]}

- umem.fd is a memfd of umem.size bytes: every queue's UMEM is one section
  of it, at umem_offset, of frames * frame_size bytes.  Map it shared.
- queues[].fd is an AF_XDP socket bound to that queue of ifname, in the
  function's network namespace, registered with its UMEM section.  Its
  rings (rx, tx, fill, completion) have the given sizes and are mmapped
  from the fd at the kernel's XDP_PGOFF_* offsets; XDP_MMAP_OFFSETS gives
  the producer/consumer/desc offsets inside each.
- The fill ring already holds the first half of each section's frames (at
  most `fill` of them): the function continues from the ring's indices.
  The second half is free for tx.
- The XDP program that redirects the queues to the sockets is attached by
  the launcher, which also detaches it when the function exits.
"""
from __future__ import annotations

import json
import os
from typing import Any, NamedTuple

ENV = "QMGMT_AFXDP"
VERSION = 1


class UmemSpec(NamedTuple):
    fd: int
    size: int
    frame_size: int


class QueueSpec(NamedTuple):
    queue: int
    fd: int
    mode: str
    umem_offset: int
    frames: int
    rx: int
    tx: int
    fill: int
    comp: int


class Handover(NamedTuple):
    ifname: str
    ifindex: int
    umem: UmemSpec
    queues: tuple[QueueSpec, ...]

    def to_env(self) -> str:
        return json.dumps({"version": VERSION, "ifname": self.ifname, "ifindex": self.ifindex,
                           "umem": self.umem._asdict(),
                           "queues": [q._asdict() for q in self.queues]})

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Handover:
        """Parse QMGMT_AFXDP; ValueError says what is wrong with it."""
        text = (os.environ if environ is None else environ).get(ENV)
        if not text:
            raise ValueError(f"{ENV} is not set: start the function with `qctl run`")
        try:
            d: dict[str, Any] = json.loads(text)
            if d.get("version") != VERSION:
                raise ValueError(f"{ENV} version {d.get('version')!r}, expected {VERSION}")
            return cls(ifname=str(d["ifname"]), ifindex=int(d["ifindex"]),
                       umem=UmemSpec(**d["umem"]),
                       queues=tuple(QueueSpec(**q) for q in d["queues"]))
        except (KeyError, TypeError, json.JSONDecodeError) as e:
            raise ValueError(f"{ENV} is malformed: {e}") from None

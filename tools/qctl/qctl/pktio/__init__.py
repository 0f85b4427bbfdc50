"""Packet access for a network function started by `qctl run`.

The launcher hands over AF_XDP sockets, their UMEM (a memfd) and the ring
layout (protocol.py); this package adopts them and gives batch rx, tx,
fill and completion over the rings, with payloads as memoryviews into the
UMEM.  It needs no capability and no libxdp: the rings are mmapped from
the socket fds, as libxdp itself does.

    from qctl import pktio
    for q in pktio.adopt():          # one XskQueue per slice rx queue
        ...

Each XskQueue owns its socket, rings and UMEM section: queues may be driven
from different threads or processes (fork after adopt(), one queue each).
"""
from __future__ import annotations

from .protocol import ENV, Handover, QueueSpec, UmemSpec
from .rings import XskQueue, adopt

__all__ = ["ENV", "Handover", "QueueSpec", "UmemSpec", "XskQueue", "adopt"]

#!/usr/bin/env python3
"""Demo (inside the VM): AF_XDP zero-copy on an allocated virtio-net queue.

  demo_xsk.py QUEUE [FRAMES]

Binds qctl.xsk (libxdp) to QUEUE of $NETIF asking for zero-copy, sends
FRAMES UDP datagrams from NIC A (the partner netns of virtio-env.sh), one
flow per datagram, prints what the socket received, and answers the first
one from the socket itself.  The flows RSS does not steer to QUEUE go to the
other queues; the per-queue counters show where.
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

from qctl import Netdev  # noqa: E402
from qctl.xsk import XskSocket  # noqa: E402

from qmtest.traffic import dev_mac  # noqa: E402
from qmtest.vnet import VNet, peer_mac, udp4_frame, udp4_payload  # noqa: E402

PORT = 9000


def main() -> int:
    v = VNet.from_env()
    if v is None:
        print("no virtio-net test bed (virtio-env.sh)", file=sys.stderr)
        return 2
    qid = int(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    with Netdev() as nd, XskSocket(v.ifname, qid, mode="auto") as xsk:
        print(f"AF_XDP socket on {v.ifname} queue {qid}: {xsk.mode} mode")
        socks = v.flows(count)
        for s in socks:
            s.sendto(b"warm", (v.addr, PORT))
        xsk.recv(count, 1.0)
        before = v.rx_per_queue(nd)
        for i, s in enumerate(socks):
            s.sendto(f"hello {i}".encode(), (v.addr, PORT))
        frames = xsk.recv(count, 3.0)
        for f in frames:
            print(f"  socket got {udp4_payload(f.data)}")
        time.sleep(0.3)
        after = v.rx_per_queue(nd)
        print("rx packets per queue during the send:",
              {q: after[q] - before.get(q, 0) for q in sorted(after)})
        if frames:
            got = udp4_payload(frames[0].data)
            assert got is not None
            sport = got[0]
            rx = next(s for s in socks if s.getsockname()[1] == sport)
            rx.settimeout(3)
            xsk.send([udp4_frame(dev_mac(v.ifname), peer_mac(v), v.addr, v.peer_addr,
                                 PORT, sport, b"reply from the AF_XDP socket")])
            print(f"  NIC A got {rx.recvfrom(64)}")
        for s in socks:
            s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

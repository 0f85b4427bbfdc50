"""Frames from a peer port to a network function that echoes them (the
reflector), and the numbers that came back."""
from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator

from .nsim import NetdevSim
from .traffic import dev_mac, mac_bytes, udp_frame

N, K = 400, 16
SO_RCVBUFFORCE, SOL_PACKET, PACKET_STATISTICS = 33, 263, 6


def frames(src: str, dst: str) -> Iterator[bytes]:
    """N frames over K flows, each carrying its number in the UDP payload."""
    for i in range(N):
        f = bytearray(udp_frame(mac_bytes(src), mac_bytes(dst), 20000 + i % K))
        f[-8:] = struct.pack("!Q", i)
        yield bytes(f)


def exchange(peer: NetdevSim, dst: str) -> set[int]:
    """Send the frames from the peer, paced; the numbers that came back."""
    me = dev_mac(peer.ifname)
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    rx.bind((peer.ifname, 0))
    # every echo may wait here while the rest is sent: room for all of them
    rx.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20)
    rx.settimeout(0.2)
    back: set[int] = set()
    with rx, socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as tx:
        tx.bind((peer.ifname, 0))
        for i, f in enumerate(frames(me, dst)):
            tx.send(f)
            if i % 16 == 15:
                time.sleep(0.01)
        deadline = time.monotonic() + 20
        while len(back) < N and time.monotonic() < deadline:
            try:
                d = rx.recv(2048)
            except TimeoutError:
                continue
            if d[:6] == mac_bytes(me) and d[6:12] == mac_bytes(dst) and len(d) >= 50:
                (seq,) = struct.unpack("!Q", d[-8:])
                back.add(seq)
        # struct tpacket_stats: packets, drops (reading resets them)
        drops = struct.unpack("II", rx.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))[1]
    assert drops == 0, f"the peer's socket dropped {drops} echoes"
    return back



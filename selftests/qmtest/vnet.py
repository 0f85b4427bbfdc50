"""The VM's two virtio-net NICs (scripts/vm-run.sh --vnet) as a test bed.

selftests/virtio-env.sh has moved NIC A into a netns as the link partner and
exported where everything is; this module reads that, makes sockets in the
partner's netns without forking, and predicts the rx queue of a UDP flow
from the device's RSS key and indirection table (Toeplitz, as qemu's
virtio-net computes it for VIRTIO_NET_RSS_HASH_TYPE_UDPv4).
"""
from __future__ import annotations

import ctypes
import ipaddress
import os
import re
import socket
import struct
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .traffic import _ip_checksum, dev_mac, mac_bytes
from .utils import cmd

if TYPE_CHECKING:
    from qctl import Netdev

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class VNet:
    ifname: str
    addr: str
    peer_ns: str
    peer_if: str
    peer_addr: str

    @classmethod
    def from_env(cls) -> VNet | None:
        env = os.environ
        if env.get("REMOTE_TYPE") != "netns" or "NETIF" not in env:
            return None
        return cls(env["NETIF"], env["LOCAL_V4"], env["REMOTE_ARGS"],
                   env["QM_PEER_IF"], env["REMOTE_V4"])

    def peer_socket(self, kind: int = socket.SOCK_DGRAM) -> socket.socket:
        """An IPv4 socket in the partner's netns (setns in a helper thread)."""
        made: dict[str, socket.socket | str] = {}

        def mk() -> None:
            with open(f"/run/netns/{self.peer_ns}", "rb") as f:
                if _libc.setns(f.fileno(), CLONE_NEWNET) != 0:
                    made["err"] = os.strerror(ctypes.get_errno())
                    return
            made["sock"] = socket.socket(socket.AF_INET, kind)

        th = threading.Thread(target=mk)
        th.start()
        th.join()
        sock = made.get("sock")
        if not isinstance(sock, socket.socket):
            raise OSError(f"setns into {self.peer_ns}: {made.get('err')}")
        return sock

    def static_rx(self) -> int:
        """The combined channel count (ethtool -l): the static queue pairs."""
        out = cmd(["ethtool", "-l", self.ifname]).stdout
        return int(out.rsplit("Combined:", 1)[1].split()[0])

    def rx_per_queue(self, nd: Netdev) -> dict[int, int]:
        """rx packets of each live rx queue, from the driver's qstats."""
        return {int(q["queue-id"]): int(q.get("rx-packets", 0))
                for q in nd.qstats(self.ifname, per_queue=True) if q["queue-type"] == "rx"}

    def flows(self, n: int) -> list[socket.socket]:
        """n UDP sockets in the partner, each its own source port."""
        socks = []
        for _ in range(n):
            s = self.peer_socket()
            s.bind((self.peer_addr, 0))
            socks.append(s)
        return socks


@dataclass(frozen=True)
class Rss:
    indir: list[int]
    key: bytes

    @classmethod
    def read(cls, ifname: str) -> Rss:
        """Parse `ethtool -x` (iproute2/ethtool 6.1 has no JSON for it)."""
        out = cmd(["ethtool", "-x", ifname]).stdout
        indir: list[int] = []
        for line in out.splitlines():
            m = re.match(r"\s*\d+:\s+([\d\s]+)$", line)
            if m:
                indir += [int(x) for x in m.group(1).split()]
        km = re.search(r"RSS hash key:\s*\n\s*([0-9a-f:]+)", out)
        if not indir or not km:
            raise RuntimeError(f"cannot parse ethtool -x {ifname}:\n{out}")
        return cls(indir, bytes(int(b, 16) for b in km.group(1).split(":")))

    def queue(self, src: str, dst: str, sport: int, dport: int) -> int:
        """The rx queue of a UDPv4 flow: Toeplitz over addresses and ports."""
        data = (ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed
                + struct.pack("!HH", sport, dport))
        return self.indir[toeplitz(self.key, data) & (len(self.indir) - 1)]


def toeplitz(key: bytes, data: bytes) -> int:
    """The Toeplitz hash of data under key (key at least len(data) + 4 bytes)."""
    k = int.from_bytes(key, "big")
    klen = len(key) * 8
    h = 0
    for i, byte in enumerate(data):
        for bit in range(8):
            if byte & (0x80 >> bit):
                h ^= (k >> (klen - 32 - (i * 8 + bit))) & 0xFFFFFFFF
    return h


def udp4_frame(src_mac: str, dst_mac: str, src: str, dst: str, sport: int, dport: int,
               payload: bytes) -> bytes:
    """A complete Ethernet + IPv4 + UDP frame (UDP checksum 0: allowed on v4)."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                     ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    ip = ip[:10] + struct.pack("!H", _ip_checksum(ip)) + ip[12:]
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + struct.pack("!H", 0x0800) + ip + udp


def udp4_payload(frame: bytes) -> tuple[int, bytes] | None:
    """(source port, payload) of an Ethernet + IPv4 + UDP frame, else None."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return None
    ihl = (frame[14] & 0xF) * 4
    udp = frame[14 + ihl:]
    sport, _, ln, _ = struct.unpack("!HHHH", udp[:8])
    return sport, udp[8:ln]


def peer_mac(v: VNet) -> str:
    return dev_mac(v.peer_if, ns=v.peer_ns)

"""Raw Ethernet traffic for steering tests: pin a TX queue, send frames."""
from __future__ import annotations

import socket
import struct
import sys

from .utils import cmd

ETH_P_QMGMT = 0x88B5  # IEEE 802 local experimental ethertype


def mac_bytes(mac: str) -> bytes:
    return bytes(int(b, 16) for b in mac.split(":"))


def dev_mac(ifname: str, ns: str | None = None) -> str:
    return cmd(["cat", f"/sys/class/net/{ifname}/address"], ns=ns).stdout.strip()


def pin_tx_queue(ifname: str, queue: int, ns: str | None = None) -> None:
    """Steer every frame leaving ifname to TX queue `queue` (tc skbedit)."""
    cmd(["tc", "qdisc", "replace", "dev", ifname, "clsact"], ns=ns)
    cmd(["tc", "filter", "del", "dev", ifname, "egress"], ns=ns, check=False)
    cmd(["tc", "filter", "add", "dev", ifname, "egress", "pref", "1",
         "matchall", "action", "skbedit",
         "queue_mapping", str(queue)], ns=ns)


def unpin_tx_queue(ifname: str, ns: str | None = None) -> None:
    cmd(["tc", "qdisc", "del", "dev", ifname, "clsact"], ns=ns, check=False)


def _send_here(ifname: str, dst: str, count: int, size: int) -> int:
    src = mac_bytes(dev_mac(ifname))
    frame = mac_bytes(dst) + src + struct.pack("!H", ETH_P_QMGMT)
    frame += bytes(max(0, size - len(frame)))
    sent = 0
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
        s.bind((ifname, 0))
        for _ in range(count):
            sent += 1 if s.send(frame) == len(frame) else 0
    return sent


def _ip_checksum(hdr: bytes) -> int:
    total = sum(struct.unpack(f"!{len(hdr) // 2}H", hdr))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_frame(src_mac: bytes, dst_mac: bytes, sport: int, dport: int = 9) -> bytes:
    """Ethernet + IPv4 + UDP (198.51.100.1 -> .2, TEST-NET-2), 8 bytes of
    payload: enough for the flow dissector to hash on the ports."""
    payload = bytes(8)
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([198, 51, 100, 1]), bytes([198, 51, 100, 2]))
    ip = ip[:10] + struct.pack("!H", _ip_checksum(ip)) + ip[12:]
    return dst_mac + src_mac + struct.pack("!H", 0x0800) + ip + udp


def _send_flows_here(ifname: str, dst: str, flows: int) -> int:
    src = mac_bytes(dev_mac(ifname))
    sent = 0
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
        s.bind((ifname, 0))
        for i in range(flows):
            frame = udp_frame(src, mac_bytes(dst), 10000 + i)
            sent += 1 if s.send(frame) == len(frame) else 0
    return sent


def send_udp_flows(ifname: str, dst: str, flows: int) -> int:
    """One UDP frame per flow (distinct source ports) from ifname to MAC dst,
    so that RSS has hashes to spread."""
    return _send_flows_here(ifname, dst, flows)


def send_frames(ifname: str, dst: str, count: int, *, size: int = 64,
                ns: str | None = None) -> int:
    """Send `count` frames of `size` bytes from ifname to MAC `dst`."""
    if ns is None:
        return _send_here(ifname, dst, count, size)
    code = ("import sys; from qmtest.traffic import _send_here; "
            f"print(_send_here({ifname!r}, {dst!r}, {count}, {size}))")
    out = cmd([sys.executable, "-c", code], ns=ns,
              env={"PYTHONPATH": __file__.rsplit("/qmtest/", 1)[0]}).stdout
    return int(out)

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

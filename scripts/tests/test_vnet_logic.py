"""Host unit tests (pure logic) of selftests/qmtest/vnet.py: the RSS
prediction the virtio-net tests rely on, and the frame builder/parser."""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "selftests"))

from qmtest.vnet import Rss, toeplitz, udp4_frame, udp4_payload  # noqa: E402

# Microsoft's RSS verification suite: key and one IPv4/UDP-or-TCP vector
MS_KEY = bytes.fromhex("6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c"
                       "6a42b73bbeac01fa")


def test_toeplitz_ms_vectors() -> None:
    # 66.9.149.187:2794 -> 161.142.100.80:1766
    src, dst = bytes([66, 9, 149, 187]), bytes([161, 142, 100, 80])
    assert toeplitz(MS_KEY, src + dst) == 0x323E8FC2
    assert toeplitz(MS_KEY, src + dst + (2794).to_bytes(2, "big") +
                    (1766).to_bytes(2, "big")) == 0x51CCC178


def test_rss_queue_uses_low_bits_of_the_hash() -> None:
    table = [0, 1, 2, 3] * 32
    rss = Rss(table, MS_KEY)
    assert rss.queue("66.9.149.187", "161.142.100.80", 2794, 1766) == \
        table[0x51CCC178 & 127]


def test_udp_frame_round_trip() -> None:
    f = udp4_frame("02:00:00:00:00:01", "02:00:00:00:00:02", "192.0.2.1", "192.0.2.2",
                   1234, 9000, b"payload")
    assert f[:6] == bytes.fromhex("020000000002")
    assert udp4_payload(f) == (1234, b"payload")
    assert udp4_payload(f[:20]) is None

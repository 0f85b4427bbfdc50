"""Bind an AF_XDP socket to a queue (copy mode), enough to hold the queue.

Python has no AF_XDP address support, so the sockaddr and the UMEM setup go
through ctypes.  No XDP program is needed to bind.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
import socket

AF_XDP = 44
SOL_XDP = 283
XDP_RX_RING = 2
XDP_UMEM_REG = 4
XDP_UMEM_FILL_RING = 5
XDP_UMEM_COMPLETION_RING = 6
XDP_COPY = 1 << 1

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


class _UmemReg(ctypes.Structure):
    _fields_ = [("addr", ctypes.c_uint64), ("len", ctypes.c_uint64),
                ("chunk_size", ctypes.c_uint32), ("headroom", ctypes.c_uint32),
                ("flags", ctypes.c_uint32), ("tx_metadata_len", ctypes.c_uint32)]


class _SockaddrXdp(ctypes.Structure):
    _fields_ = [("family", ctypes.c_uint16), ("flags", ctypes.c_uint16),
                ("ifindex", ctypes.c_uint32), ("queue_id", ctypes.c_uint32),
                ("shared_umem_fd", ctypes.c_uint32)]


class XskSocket:
    """An AF_XDP socket bound to (ifindex, queue_id) until close()."""

    CHUNK = 4096
    NCHUNKS = 64

    def __init__(self, ifindex: int, queue_id: int) -> None:
        self.sock = socket.socket(AF_XDP, socket.SOCK_RAW, 0)
        self.buf = mmap.mmap(-1, self.CHUNK * self.NCHUNKS)
        try:
            addr = ctypes.addressof(ctypes.c_char.from_buffer(self.buf))
            reg = _UmemReg(addr, len(self.buf), self.CHUNK, 0, 0, 0)
            self._setsockopt(XDP_UMEM_REG, bytes(reg))
            for opt in (XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING, XDP_RX_RING):
                self._setsockopt(opt, (64).to_bytes(4, "little"))
            sa = _SockaddrXdp(AF_XDP, XDP_COPY, ifindex, queue_id, 0)
            if _libc.bind(self.sock.fileno(), ctypes.byref(sa), ctypes.sizeof(sa)) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"AF_XDP bind to ifindex {ifindex} queue {queue_id}: "
                                   f"{os.strerror(err)}")
        except BaseException:
            self.close()
            raise

    def _setsockopt(self, opt: int, val: bytes) -> None:
        self.sock.setsockopt(SOL_XDP, opt, val)

    def close(self) -> None:
        self.sock.close()
        # the UMEM is pinned until the socket is released; then unmap
        try:
            self.buf.close()
        except BufferError:
            pass

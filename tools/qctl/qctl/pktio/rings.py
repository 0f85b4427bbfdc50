"""AF_XDP rings over mmap, for an adopted socket (no libxdp, no capability).

Producer and consumer indices are 32-bit counters in shared memory; a ring
entry is at index & (size - 1).  The kernel publishes with release stores
and reads with acquire loads; on x86-64 (TSO) plain loads and stores in
program order pair with them, which is what this module does: it refuses
to run elsewhere rather than skip the barriers another CPU would need.
"""
from __future__ import annotations

import ctypes
import errno
import mmap
import platform
import select
import socket
from typing import NamedTuple

from .protocol import Handover, QueueSpec

SOL_XDP = 283
XDP_MMAP_OFFSETS = 1
AF_XDP = 44
XDP_PGOFF_RX_RING = 0
XDP_PGOFF_TX_RING = 0x80000000
XDP_UMEM_PGOFF_FILL_RING = 0x100000000
XDP_UMEM_PGOFF_COMPLETION_RING = 0x180000000
XDP_RING_NEED_WAKEUP = 1
U32 = 0xffffffff


class RingOffsets(NamedTuple):
    producer: int
    consumer: int
    desc: int
    flags: int


def mmap_offsets(fd: int) -> tuple[RingOffsets, RingOffsets, RingOffsets, RingOffsets]:
    """XDP_MMAP_OFFSETS of a socket: rx, tx, fill, completion."""
    buf = (ctypes.c_uint64 * 16)()
    ln = ctypes.c_uint32(ctypes.sizeof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, buf, ctypes.byref(ln)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"getsockopt(XDP_MMAP_OFFSETS) on fd {fd}: {errno.errorcode[err]}")
    if ln.value != ctypes.sizeof(buf):
        raise OSError(errno.EPROTO, f"XDP_MMAP_OFFSETS of {ln.value} bytes: no ring flags")
    v = list(buf)
    rx, tx, fr, cr = (RingOffsets(*v[i:i + 4]) for i in range(0, 16, 4))
    return rx, tx, fr, cr


class Ring:
    """One mmapped ring: producer, consumer, flags and its entries."""

    def __init__(self, fd: int, pgoff: int, off: RingOffsets, size: int, entry: int) -> None:
        if size & (size - 1):
            raise ValueError(f"ring size {size} is not a power of two")
        self.map = mmap.mmap(fd, off.desc + size * entry, mmap.MAP_SHARED,
                             mmap.PROT_READ | mmap.PROT_WRITE, offset=pgoff)
        mv = memoryview(self.map)
        self.prod = mv[off.producer:off.producer + 4].cast("I")
        self.cons = mv[off.consumer:off.consumer + 4].cast("I")
        self.flags = mv[off.flags:off.flags + 4].cast("I")
        self.entries = mv[off.desc:off.desc + size * entry]
        self.size = size
        self.mask = size - 1

    def release(self) -> None:
        for v in (self.prod, self.cons, self.flags, self.entries):
            v.release()
        self.map.close()


class XskQueue:
    """One adopted AF_XDP socket: batch rx, tx, fill and completion.

    Frames are addressed by their offset in this queue's UMEM section.  The
    first half of the section belongs to rx (fill ring, received frames),
    the second half to tx (send()); a frame received and transmitted as is
    (reflect()) goes back to the fill ring once it completes.
    """

    def __init__(self, spec: QueueSpec, umem: memoryview, frame_size: int) -> None:
        self.queue = spec.queue
        self.fd = spec.fd
        self.mode = spec.mode
        self.frame_size = frame_size
        rx, tx, fr, cr = mmap_offsets(spec.fd)
        self.rx = Ring(spec.fd, XDP_PGOFF_RX_RING, rx, spec.rx, 16)
        self.tx = Ring(spec.fd, XDP_PGOFF_TX_RING, tx, spec.tx, 16)
        self.fill = Ring(spec.fd, XDP_UMEM_PGOFF_FILL_RING, fr, spec.fill, 8)
        self.comp = Ring(spec.fd, XDP_UMEM_PGOFF_COMPLETION_RING, cr, spec.comp, 8)
        self._rx_q, self._rx_i = self.rx.entries.cast("Q"), self.rx.entries.cast("I")
        self._tx_q, self._tx_i = self.tx.entries.cast("Q"), self.tx.entries.cast("I")
        self._fill_q = self.fill.entries.cast("Q")
        self._comp_q = self.comp.entries.cast("Q")
        self.umem = umem[spec.umem_offset:spec.umem_offset + spec.frames * frame_size]
        self.tx_base = spec.frames // 2 * frame_size
        self.free = list(range(self.tx_base, spec.frames * frame_size, frame_size))
        # frames the launcher did not post (rx half beyond the fill ring)
        posted = min(spec.frames // 2, spec.fill)
        self._spare = list(range(posted * frame_size, self.tx_base, frame_size))
        self.rx_addrs: list[int] = []
        self.rx_lens: list[int] = []
        self.sock = socket.socket(AF_XDP, socket.SOCK_RAW, 0, fileno=spec.fd)
        self._poll = select.poll()
        self._poll.register(spec.fd, select.POLLIN)

    # --- rx ---------------------------------------------------------------
    def recv(self, batch: int = 64) -> list[memoryview]:
        """Up to `batch` received frames, as views into the UMEM.  They stay
        valid until release() or reflect()."""
        cons = self.rx.cons[0]
        n = min((self.rx.prod[0] - cons) & U32, batch)
        addrs, lens, views = self.rx_addrs, self.rx_lens, []
        addrs.clear()
        lens.clear()
        q, i, mask, umem = self._rx_q, self._rx_i, self.rx.mask, self.umem
        for k in range(n):
            j = (cons + k) & mask
            a, ln = q[2 * j], i[4 * j + 2]
            addrs.append(a)
            lens.append(ln)
            views.append(umem[a:a + ln])
        self.rx.cons[0] = (cons + n) & U32
        return views

    def release(self) -> None:
        """Give the frames of the last recv() back to the fill ring."""
        self.post_fill([a - a % self.frame_size for a in self.rx_addrs])
        self.rx_addrs.clear()

    def post_fill(self, bases: list[int]) -> int:
        prod, room = self.fill.prod[0], self.fill.size - ((self.fill.prod[0] -
                                                            self.fill.cons[0]) & U32)
        bases = self._spare + bases
        n = min(room, len(bases))
        q, mask = self._fill_q, self.fill.mask
        for k in range(n):
            q[(prod + k) & mask] = bases[k]
        self._spare = bases[n:]
        self.fill.prod[0] = (prod + n) & U32
        if self.fill.flags[0] & XDP_RING_NEED_WAKEUP:
            self._wake_rx()
        return n

    # --- tx ---------------------------------------------------------------
    def _submit(self, addrs: list[int], lens: list[int]) -> int:
        prod = self.tx.prod[0]
        room = self.tx.size - ((prod - self.tx.cons[0]) & U32)
        n = min(room, len(addrs))
        q, i, mask = self._tx_q, self._tx_i, self.tx.mask
        for k in range(n):
            j = (prod + k) & mask
            q[2 * j] = addrs[k]
            i[4 * j + 2] = lens[k]
            i[4 * j + 3] = 0
        self.tx.prod[0] = (prod + n) & U32
        self._kick_tx()
        return n

    def reflect(self) -> int:
        """Transmit the frames of the last recv() as they are now (edited in
        place); they return to the fill ring when complete.  Frames the tx
        ring has no room for go back to the fill ring at once."""
        n = self._submit(self.rx_addrs, self.rx_lens)
        if n < len(self.rx_addrs):
            self.post_fill([a - a % self.frame_size for a in self.rx_addrs[n:]])
        self.rx_addrs.clear()
        return n

    def send(self, payloads: list[bytes]) -> int:
        """Copy payloads into free tx frames and transmit; how many went."""
        if len(payloads) > len(self.free):
            self.complete()
        n = min(len(payloads), len(self.free))
        addrs = [self.free.pop() for _ in range(n)]
        for a, p in zip(addrs, payloads, strict=False):
            self.umem[a:a + len(p)] = p
        sent = self._submit(addrs, [len(p) for p in payloads[:n]])
        self.free += addrs[sent:]
        return sent

    def complete(self) -> int:
        """Reap the completion ring: tx frames to the free list, reflected
        rx frames to the fill ring."""
        cons = self.comp.cons[0]
        n = (self.comp.prod[0] - cons) & U32
        q, mask, fs, tx_base = self._comp_q, self.comp.mask, self.frame_size, self.tx_base
        rx = []
        for k in range(n):
            a = q[(cons + k) & mask]
            base = a - a % fs
            if base >= tx_base:
                self.free.append(base)
            else:
                rx.append(base)
        self.comp.cons[0] = (cons + n) & U32
        if rx or self._spare:
            self.post_fill(rx)
        return n

    # --- waiting ----------------------------------------------------------
    def _kick_tx(self) -> None:
        if self.tx.flags[0] & XDP_RING_NEED_WAKEUP:
            try:
                self.sock.send(b"", socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as e:
                if e.errno not in (errno.EBUSY, errno.ENOBUFS, errno.ENETDOWN):
                    raise

    def _wake_rx(self) -> None:
        try:
            self.sock.recv(0, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as e:
            if e.errno not in (errno.EBUSY, errno.ENETDOWN):
                raise

    def wait(self, timeout: float) -> bool:
        """Block until a frame is received or `timeout` seconds pass."""
        if self.fill.flags[0] & XDP_RING_NEED_WAKEUP:
            self._wake_rx()
        return bool(self._poll.poll(timeout * 1000))

    def close(self) -> None:
        for v in (self._rx_q, self._rx_i, self._tx_q, self._tx_i, self._fill_q, self._comp_q,
                  self.umem):
            v.release()
        for r in (self.rx, self.tx, self.fill, self.comp):
            r.release()
        self.sock.close()


def adopt(environ: dict[str, str] | None = None) -> list[XskQueue]:
    """The queues `qctl run` handed over (QMGMT_AFXDP), ready to use."""
    if platform.machine() not in ("x86_64", "AMD64"):
        raise OSError(errno.ENOTSUP, "pktio's ring access relies on x86-64 ordering")
    h = Handover.from_env(environ)
    area = mmap.mmap(h.umem.fd, h.umem.size, mmap.MAP_SHARED,
                     mmap.PROT_READ | mmap.PROT_WRITE)
    umem = memoryview(area)
    return [XskQueue(q, umem, h.umem.frame_size) for q in h.queues]

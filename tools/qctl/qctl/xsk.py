"""AF_XDP sockets through libxdp (Debian's libxdp1), driven by ctypes.

libxdp creates the UMEM and the socket, loads its default XDP program
(``xsk_def_xdp_prog``, shipped in libxdp1) and exports its ring helpers as
functions, so no ring arithmetic is written here: every producer and
consumer step is a libxdp call.

Zero-copy is asked for first unless the caller forces a mode; copy mode is
the fallback, and :attr:`XskSocket.mode` says which one the kernel granted
(read back with ``getsockopt(XDP_OPTIONS)``, not assumed).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import mmap
import os
import select
import time
from dataclasses import dataclass
from typing import Any, Literal

from .errors import QctlError

Mode = Literal["auto", "zerocopy", "copy"]

SOL_XDP = 283
XDP_OPTIONS = 8
XDP_OPTIONS_ZEROCOPY = 1
XDP_COPY = 1 << 1
XDP_ZEROCOPY = 1 << 2
XDP_USE_NEED_WAKEUP = 1 << 3
XDP_FLAGS_SKB_MODE = 1 << 1
XDP_FLAGS_DRV_MODE = 1 << 2
MSG_DONTWAIT = 0x40
XDP_RING_NEED_WAKEUP = 1


class XskRing(ctypes.Structure):
    """``struct xsk_ring_prod`` / ``xsk_ring_cons`` (same layout)."""

    _fields_ = [
        ("cached_prod", ctypes.c_uint32),
        ("cached_cons", ctypes.c_uint32),
        ("mask", ctypes.c_uint32),
        ("size", ctypes.c_uint32),
        ("producer", ctypes.POINTER(ctypes.c_uint32)),
        ("consumer", ctypes.POINTER(ctypes.c_uint32)),
        ("ring", ctypes.c_void_p),
        ("flags", ctypes.POINTER(ctypes.c_uint32)),
    ]


class XskUmemConfig(ctypes.Structure):
    _fields_ = [
        ("fill_size", ctypes.c_uint32),
        ("comp_size", ctypes.c_uint32),
        ("frame_size", ctypes.c_uint32),
        ("frame_headroom", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
    ]


class XskSocketConfig(ctypes.Structure):
    _fields_ = [
        ("rx_size", ctypes.c_uint32),
        ("tx_size", ctypes.c_uint32),
        ("libxdp_flags", ctypes.c_uint32),
        ("xdp_flags", ctypes.c_uint32),
        ("bind_flags", ctypes.c_uint16),
    ]


class XdpDesc(ctypes.Structure):
    _fields_ = [
        ("addr", ctypes.c_uint64),
        ("len", ctypes.c_uint32),
        ("options", ctypes.c_uint32),
    ]


class XskError(QctlError):
    """An AF_XDP step failed; the message names the step and the errno."""


def _load(name: str, what: str) -> ctypes.CDLL:
    path = ctypes.util.find_library(name)
    if path is None:
        raise XskError(f"{what} not found (lib{name}.so); install {what}")
    return ctypes.CDLL(path, use_errno=True)


_lib: ctypes.CDLL | None = None
_libc: ctypes.CDLL | None = None
_verbose = False


def library_output(verbose: bool) -> None:
    """libbpf's and libxdp's own messages ("btf_vmlinux is malformed", a
    dispatcher that cannot load before the fallback that works) reach
    stderr only when verbose; qctl reports what failed in its own words."""
    global _verbose
    _verbose = verbose
    if _lib is not None:
        _quiet(_lib)


def _quiet(lib: ctypes.CDLL) -> None:
    if _verbose:
        return
    lib.libxdp_set_print.restype = ctypes.c_void_p
    lib.libxdp_set_print.argtypes = [ctypes.c_void_p]
    lib.libxdp_set_print(None)
    path = ctypes.util.find_library("bpf")
    if path is not None:
        bpf = ctypes.CDLL(path)
        bpf.libbpf_set_print.restype = ctypes.c_void_p
        bpf.libbpf_set_print.argtypes = [ctypes.c_void_p]
        bpf.libbpf_set_print(None)


def _libxdp() -> ctypes.CDLL:
    """libxdp with the prototypes used here, loaded once."""
    global _lib
    if _lib is not None:
        return _lib
    lib = _load("xdp", "libxdp1")
    ring_p = ctypes.POINTER(XskRing)
    u32_p = ctypes.POINTER(ctypes.c_uint32)
    protos: dict[str, tuple[Any, list[Any]]] = {
        "xsk_umem__create": (ctypes.c_int, [ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p,
                                            ctypes.c_uint64, ring_p, ring_p,
                                            ctypes.POINTER(XskUmemConfig)]),
        "xsk_umem__delete": (ctypes.c_int, [ctypes.c_void_p]),
        "xsk_socket__create": (ctypes.c_int, [ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p,
                                              ctypes.c_uint32, ctypes.c_void_p, ring_p, ring_p,
                                              ctypes.POINTER(XskSocketConfig)]),
        "xsk_socket__delete": (None, [ctypes.c_void_p]),
        "xsk_socket__fd": (ctypes.c_int, [ctypes.c_void_p]),
        "xsk_ring_prod__reserve": (ctypes.c_uint32, [ring_p, ctypes.c_uint32, u32_p]),
        "xsk_ring_prod__submit": (None, [ring_p, ctypes.c_uint32]),
        "xsk_ring_prod__fill_addr": (ctypes.POINTER(ctypes.c_uint64), [ring_p, ctypes.c_uint32]),
        "xsk_ring_prod__tx_desc": (ctypes.POINTER(XdpDesc), [ring_p, ctypes.c_uint32]),
        "xsk_ring_prod__needs_wakeup": (ctypes.c_int, [ring_p]),
        "xsk_ring_cons__peek": (ctypes.c_uint32, [ring_p, ctypes.c_uint32, u32_p]),
        "xsk_ring_cons__release": (None, [ring_p, ctypes.c_uint32]),
        "xsk_ring_cons__rx_desc": (ctypes.POINTER(XdpDesc), [ring_p, ctypes.c_uint32]),
        "xsk_ring_cons__comp_addr": (ctypes.POINTER(ctypes.c_uint64), [ring_p, ctypes.c_uint32]),
    }
    for name, (res, args) in protos.items():
        fn = getattr(lib, name, None)
        if fn is None:
            raise XskError(f"libxdp lacks {name}: libxdp1 >= 1.2 exports the ring helpers")
        fn.restype = res
        fn.argtypes = args
    _quiet(lib)
    _lib = lib
    return lib


def _libc_() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = _load("c", "libc")
    return _libc


def _check(rc: int, step: str) -> None:
    if rc < 0:
        raise XskError(f"{step}: {os.strerror(-rc)} (errno {-rc})")


@dataclass(frozen=True)
class Frame:
    """One received frame: its bytes and the UMEM address it came in."""

    data: bytes
    addr: int


class XskSocket:
    """One AF_XDP socket on one queue, with its own UMEM.

    The UMEM holds ``frames`` frames of ``frame_size`` bytes: the first half
    is posted to the fill ring for RX, the second half serves TX.
    """

    def __init__(self, ifname: str, queue: int, mode: Mode = "auto",
                 frames: int = 4096, frame_size: int = 2048, ring: int = 2048,
                 native: bool = True, area: mmap.mmap | None = None,
                 area_offset: int = 0) -> None:
        """`area` (with `area_offset`): the UMEM lives there, in memory the
        caller owns (qctl run: a memfd the function maps too)."""
        self.ifname = ifname
        self.queue = queue
        self.frame_size = frame_size
        self.frames = frames
        self.ring = ring
        self._lib = _libxdp()
        self._umem = ctypes.c_void_p()
        self._xsk = ctypes.c_void_p()
        self.fill, self.comp = XskRing(), XskRing()
        self.rx, self.tx = XskRing(), XskRing()
        if area is None:
            area = mmap.mmap(-1, frames * frame_size,
                             flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            area_offset = 0
        self._area = area
        self._base = ctypes.addressof(ctypes.c_char.from_buffer(area)) + area_offset
        self._tx_free = [(frames // 2 + i) * frame_size for i in range(frames // 2)]
        self._ring = ring
        try:
            ucfg = XskUmemConfig(ring, ring, frame_size, 0, 0)
            _check(self._lib.xsk_umem__create(ctypes.byref(self._umem),
                                              ctypes.c_void_p(self._base),
                                              frames * frame_size,
                                              ctypes.byref(self.fill),
                                              ctypes.byref(self.comp),
                                              ctypes.byref(ucfg)),
                   "xsk_umem__create")
            # Fill before bind: a zero-copy driver posts its rx ring from the
            # fill ring at bind time, so the queue never runs dry.
            self._post_fill([i * frame_size for i in range(min(frames // 2, ring))])
            self.mode = self._bind(mode, native)
            self._kick_rx()
        except BaseException:
            self.close()
            raise

    def _bind(self, mode: Mode, native: bool) -> str:
        tries: list[tuple[str, int]] = []
        if mode in ("auto", "zerocopy"):
            tries.append(("zerocopy", XDP_ZEROCOPY))
        if mode in ("auto", "copy"):
            tries.append(("copy", XDP_COPY))
        # the driver's XDP hook, or the generic one (copy mode only)
        xdp_flags = XDP_FLAGS_DRV_MODE if native else XDP_FLAGS_SKB_MODE
        last = ""
        for name, flag in tries:
            cfg = XskSocketConfig(self._ring, self._ring, 0, xdp_flags,
                                  flag | XDP_USE_NEED_WAKEUP)
            rc = self._lib.xsk_socket__create(ctypes.byref(self._xsk),
                                              self.ifname.encode(), self.queue,
                                              self._umem, ctypes.byref(self.rx),
                                              ctypes.byref(self.tx), ctypes.byref(cfg))
            if rc == 0:
                return "zerocopy" if self._zerocopy() else "copy"
            last = f"{name}: {os.strerror(-rc)} (errno {-rc})"
        raise XskError(f"cannot bind AF_XDP to {self.ifname} queue {self.queue} ({last})")

    def _zerocopy(self) -> bool:
        opt = ctypes.c_uint32()
        ln = ctypes.c_uint32(ctypes.sizeof(opt))
        rc = _libc_().getsockopt(self.fd, SOL_XDP, XDP_OPTIONS, ctypes.byref(opt),
                                 ctypes.byref(ln))
        if rc != 0:
            err = ctypes.get_errno()
            raise XskError(f"getsockopt(XDP_OPTIONS): {os.strerror(err)}")
        return bool(opt.value & XDP_OPTIONS_ZEROCOPY)

    @property
    def fd(self) -> int:
        return int(self._lib.xsk_socket__fd(self._xsk))

    def _post_fill(self, addrs: list[int]) -> None:
        idx = ctypes.c_uint32()
        n = self._lib.xsk_ring_prod__reserve(ctypes.byref(self.fill), len(addrs),
                                             ctypes.byref(idx))
        if n != len(addrs):
            raise XskError(f"fill ring has no room for {len(addrs)} frames")
        for i, a in enumerate(addrs):
            self._lib.xsk_ring_prod__fill_addr(ctypes.byref(self.fill), idx.value + i)[0] = a
        self._lib.xsk_ring_prod__submit(ctypes.byref(self.fill), n)

    def _kick(self) -> None:
        """Wake the kernel side (NEED_WAKEUP): a zero-length sendto()."""
        rc = _libc_().sendto(self.fd, None, 0, MSG_DONTWAIT, None, 0)
        err = ctypes.get_errno()
        if rc < 0 and err not in (errno.EAGAIN, errno.EBUSY, errno.ENOBUFS, errno.ENETDOWN):
            raise XskError(f"sendto (wakeup): {os.strerror(err)}")

    def _kick_rx(self) -> None:
        """Let the driver refill its rx ring from the fill ring (NEED_WAKEUP)."""
        if self._lib.xsk_ring_prod__needs_wakeup(ctypes.byref(self.fill)):
            rc = _libc_().recvfrom(self.fd, None, 0, MSG_DONTWAIT, None, None)
            err = ctypes.get_errno()
            if rc < 0 and err not in (errno.EAGAIN, errno.EBUSY, errno.ENETDOWN):
                raise XskError(f"recvfrom (wakeup): {os.strerror(err)}")

    def recv(self, want: int, timeout: float) -> list[Frame]:
        """Receive up to ``want`` frames, waiting at most ``timeout`` seconds."""
        out: list[Frame] = []
        idx = ctypes.c_uint32()
        deadline = time.monotonic() + timeout
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        while len(out) < want:
            n = self._lib.xsk_ring_cons__peek(ctypes.byref(self.rx), want - len(out),
                                              ctypes.byref(idx))
            if n == 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                if self._lib.xsk_ring_prod__needs_wakeup(ctypes.byref(self.fill)):
                    poller.poll(min(left, 0.1) * 1000)
                else:
                    time.sleep(min(left, 0.005))
                continue
            addrs = []
            for i in range(n):
                d = self._lib.xsk_ring_cons__rx_desc(ctypes.byref(self.rx), idx.value + i)[0]
                out.append(Frame(ctypes.string_at(self._base + d.addr, d.len), d.addr))
                addrs.append(d.addr - d.addr % self.frame_size)
            self._lib.xsk_ring_cons__release(ctypes.byref(self.rx), n)
            self._post_fill(addrs)
            self._kick_rx()
        return out

    def _reap(self) -> None:
        idx = ctypes.c_uint32()
        n = self._lib.xsk_ring_cons__peek(ctypes.byref(self.comp), self._ring,
                                          ctypes.byref(idx))
        for i in range(n):
            self._tx_free.append(
                self._lib.xsk_ring_cons__comp_addr(ctypes.byref(self.comp), idx.value + i)[0])
        if n:
            self._lib.xsk_ring_cons__release(ctypes.byref(self.comp), n)

    def send(self, frames: list[bytes], timeout: float = 5.0) -> int:
        """Transmit ``frames``; return how many completed within ``timeout``."""
        idx = ctypes.c_uint32()
        if len(frames) > len(self._tx_free):
            self._reap()
        if len(frames) > len(self._tx_free):
            raise XskError(f"only {len(self._tx_free)} tx frames are free")
        n = self._lib.xsk_ring_prod__reserve(ctypes.byref(self.tx), len(frames),
                                             ctypes.byref(idx))
        if n != len(frames):
            raise XskError(f"tx ring has no room for {len(frames)} frames")
        for i, data in enumerate(frames):
            if len(data) > self.frame_size:
                raise XskError(f"frame of {len(data)} bytes exceeds {self.frame_size}")
            addr = self._tx_free.pop()
            ctypes.memmove(self._base + addr, data, len(data))
            d = self._lib.xsk_ring_prod__tx_desc(ctypes.byref(self.tx), idx.value + i)[0]
            d.addr, d.len, d.options = addr, len(data), 0
        self._lib.xsk_ring_prod__submit(ctypes.byref(self.tx), n)
        want = len(self._tx_free) + n
        deadline = time.monotonic() + timeout
        while True:
            self._kick()
            self._reap()
            if len(self._tx_free) >= want or time.monotonic() > deadline:
                break
            time.sleep(0.002)
        return int(n - max(0, want - len(self._tx_free)))

    def close(self) -> None:
        """Delete the socket (libxdp unloads its program with the last one)."""
        if self._xsk.value:
            self._lib.xsk_socket__delete(self._xsk)
            self._xsk = ctypes.c_void_p()
        if self._umem.value:
            self._lib.xsk_umem__delete(self._umem)
            self._umem = ctypes.c_void_p()

    def __enter__(self) -> XskSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

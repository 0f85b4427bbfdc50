"""qctl run: the privileged pre-process that gives a network function its
AF_XDP memory, then becomes nothing more than its parent.

1. In the device's namespace: one memfd UMEM for the whole pod, one
   AF_XDP socket per rx queue of the device (zero-copy if the driver grants
   it, else copy), fill rings filled, libxdp's XSK program attached.
   LIBXDP_SKIP_DISPATCHER=1: the program is attached directly, so nothing
   is pinned in bpffs and it goes with the device.
2. Fork.  The child keeps the fds (pktio/protocol.py says which), enters
   the device's network namespace and the target user namespace if named,
   then drops its privileges in the one order that works with and without
   a user namespace: no_new_privs, the ambient and bounding sets (which
   need CAP_SETPCAP, so before the uid switch), the groups, gid and uid,
   and last the permitted, effective and inheritable sets.  It execs the
   function.
   With runtime=True the command is a container runtime that starts the
   function itself (`podman run --preserve-fds N ...`): the child moves the
   fds to 3..N+2, substitutes "{nfds}" in the command with N, and execs it
   with its privileges; the runtime enters the pod and drops them.
3. The parent waits, forwards SIGTERM/SIGINT/SIGHUP, deletes the sockets
   (libxdp detaches its program with the last one) and exits with the
   function's status.

Every input (namespaces and their kinds, the command, the device, queues
and sizes) is checked before anything is allocated.
"""
from __future__ import annotations

import ctypes
import fcntl
import mmap
import os
import resource
import shutil
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import DeviceError, QctlError, UsageError
from .netns import Netns
from .pktio.protocol import ENV, Handover, QueueSpec, UmemSpec

if TYPE_CHECKING:
    from .api import Netdev

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
NFDS_TOKEN = "{nfds}"
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
CAP_LAST_CAP_MAX = 63


class Plan(NamedTuple):
    """What the launcher sets up, and the memory it fixes."""

    ifname: str
    ifindex: int
    native: bool                # the driver has XDP (xdp-features "basic")
    queues: tuple[int, ...]
    frames: int                 # per queue
    frame_size: int
    ring: int

    @property
    def umem_bytes(self) -> int:
        return len(self.queues) * self.frames * self.frame_size

    @property
    def ring_bytes(self) -> int:
        # rx + tx descriptors (16 B), fill + completion entries (8 B), per queue
        return len(self.queues) * self.ring * (16 + 16 + 8 + 8)


class Launch(NamedTuple):
    plan: Plan
    handover: Handover
    setup_seconds: float
    modes: tuple[str, ...]

    def report(self) -> dict[str, Any]:
        return {"ifname": self.plan.ifname, "ifindex": self.plan.ifindex,
                "queues": list(self.plan.queues), "modes": list(self.modes),
                "xdp": "native" if self.plan.native else "generic",
                "umem_bytes": self.plan.umem_bytes, "ring_bytes": self.plan.ring_bytes,
                "locked_bytes": self.plan.umem_bytes,
                "setup_seconds": round(self.setup_seconds, 4)}


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _die(what: str) -> None:
    err = ctypes.get_errno()
    raise OSError(err, f"{what}: {os.strerror(err)}")


def drop_privileges(uid: int | None, gid: int | None) -> None:
    """Become uid/gid with no capability, none regainable by exec.

    The ambient and bounding sets go first: dropping the bounding set needs
    CAP_SETPCAP, which a uid switch clears when the launcher and the
    function share a user namespace (a pod without one: the Kubernetes
    default).  The permitted/effective/inheritable sets go last, which
    needs no capability."""
    libc = _libc()
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        _die("prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0:
        _die("prctl(PR_CAP_AMBIENT_CLEAR_ALL)")
    for cap in range(CAP_LAST_CAP_MAX + 1):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != 22:
            _die(f"prctl(PR_CAPBSET_DROP, {cap})")      # EINVAL: past the last cap
    if gid is not None:
        if not _setgroups_denied():
            _step(os.setgroups, [], what="setgroups([])")
        _step(os.setresgid, gid, gid, gid, what=f"become gid {gid}")
    if uid is not None:
        _step(os.setresuid, uid, uid, uid, what=f"become uid {uid}")
    hdr = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()                       # 2 x {eff, perm, inh}, all 0
    if libc.capset(hdr, data) != 0:
        _die("capset")


def _step(fn: Any, *args: Any, what: str) -> None:
    try:
        fn(*args)
    except OSError as e:
        raise OSError(e.errno, f"{what}: {e.strerror}") from None


def check_command(argv: list[str]) -> None:
    """The command exists and is executable here, where it will be exec'd
    (the launcher enters no mount namespace)."""
    if not argv:
        raise UsageError("no command to run")
    cmd = argv[0]
    found = (cmd if os.access(cmd, os.X_OK) and not os.path.isdir(cmd) else None) \
        if "/" in cmd else shutil.which(cmd)
    if found is None:
        where = "" if "/" in cmd else " in PATH"
        raise UsageError(f"no executable '{cmd}'{where}")


def plan(nd: Netdev, dev: str, frames: int, frame_size: int, ring: int,
         queues: list[int] | None, mode: str = "auto") -> Plan:
    """The device's own rx queues (or those named) and the memory for them.

    A parent's queues that one of its slices owns are not its own: binding
    there is refused (EBUSY), and the slice's function uses them."""
    ifindex = nd.resolve(dev)
    rx = [w for w in nd.queue_owners(ifindex) if w.queue.type == "rx"]
    # a queue a slice of DEV (or any other lease) serves is not DEV's own
    lent = [w.queue.id for w in rx if w.kind != "own"]
    live = [w.queue.id for w in rx if w.kind == "own"]
    if not live:
        raise DeviceError(f"{dev} has no rx queue of its own (is it up?)")
    chosen = live if queues is None else queues
    theirs = sorted(set(chosen) & set(lent))
    if theirs:
        raise UsageError(f"{dev} rx queue {', '.join(map(str, theirs))} is leased "
                         "(to a slice of it or another device)")
    missing = sorted(set(chosen) - set(live))
    if missing:
        raise UsageError(f"{dev} has no rx queue {', '.join(map(str, missing))} "
                         f"(it has {', '.join(map(str, live))})")
    for n, what in ((frames, "frames"), (frame_size, "frame size"), (ring, "ring size")):
        if n <= 0 or n & (n - 1):
            raise UsageError(f"{what} {n} is not a power of two")
    feats = nd.client.do("dev-get", {"ifindex": ifindex}).get("xdp-features", [])
    if mode == "zerocopy" and "xsk-zerocopy" not in feats:
        raise UsageError(f"{dev}'s driver has no AF_XDP zero-copy (xdp-features: "
                         f"{', '.join(feats) or 'none'})")
    return Plan(nd.ifname(ifindex), ifindex, "basic" in feats, tuple(chosen), frames,
                frame_size, ring)


def setup(p: Plan, netns: Netns, mode: str) -> tuple[Launch, list[Any], mmap.mmap, int]:
    """UMEM memfd, sockets, program; returns the handover and what to close."""
    from .xsk import XskSocket
    t0 = time.monotonic()
    memfd = os.memfd_create("qmgmt-umem", 0)        # inheritable: no MFD_CLOEXEC
    try:
        os.ftruncate(memfd, p.umem_bytes)
        area = mmap.mmap(memfd, p.umem_bytes, mmap.MAP_SHARED | mmap.MAP_POPULATE,
                         mmap.PROT_READ | mmap.PROT_WRITE)
    except OSError as e:
        os.close(memfd)
        raise QctlError(f"cannot allocate the UMEM ({p.umem_bytes} bytes): "
                        f"{e.strerror}") from None
    socks: list[Any] = []
    specs = []
    per = p.frames * p.frame_size
    # libxdp attaches (and, on the last close, detaches) the program by
    # ifindex: only ever from inside DEV's namespace
    try:
        with netns.entered():
            for i, q in enumerate(p.queues):
                s = XskSocket(p.ifname, q, mode=mode,  # type: ignore[arg-type]
                              frames=p.frames, frame_size=p.frame_size, ring=p.ring,
                              native=p.native, area=area, area_offset=i * per)
                socks.append(s)
                os.set_inheritable(s.fd, True)
                specs.append(QueueSpec(queue=q, fd=s.fd, mode=s.mode, umem_offset=i * per,
                                       frames=p.frames, rx=p.ring, tx=p.ring, fill=p.ring,
                                       comp=p.ring))
    except BaseException:
        _close(socks, netns)
        raise
    h = Handover(p.ifname, p.ifindex, UmemSpec(memfd, p.umem_bytes, p.frame_size), tuple(specs))
    launch = Launch(p, h, time.monotonic() - t0, tuple(s.mode for s in socks))
    return launch, socks, area, memfd


def _close(socks: list[Any], netns: Netns) -> None:
    with netns.entered():
        for s in socks:
            s.close()


def _setgroups_denied() -> bool:
    """In a user namespace whose owner wrote "deny" to setgroups (as
    runtimes do), the supplementary groups are fixed; setgroups() fails."""
    try:
        with open("/proc/self/setgroups", encoding="ascii") as f:
            return f.read().strip() == "deny"
    except FileNotFoundError:
        return False


def _compact_fds(h: Handover) -> tuple[Handover, int]:
    """Move the handover's fds to 3..N+2, as a runtime's --preserve-fds N
    passes them on, and describe them there."""
    fds = [h.umem.fd, *(q.fd for q in h.queues)]
    # first above every source and target (RLIMIT_NOFILE may be 1024), so
    # no dup2 below overwrites an fd still to be moved
    above = max(*fds, 2 + len(fds)) + 1
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, above) for fd in fds]
    for i, fd in enumerate(high):
        os.dup2(fd, 3 + i, inheritable=True)
        os.close(fd)
    umem = h.umem._replace(fd=3)
    queues = tuple(q._replace(fd=4 + i) for i, q in enumerate(h.queues))
    return h._replace(umem=umem, queues=queues), len(fds)


def _child(h: Handover, argv: list[str], netns: Netns, userns: Netns | None,
           uid: int | None, gid: int | None, runtime: bool) -> None:
    """After fork: enter the pod's namespaces, drop everything, exec; or,
    for a runtime, hand the fds over at 3..N+2 and exec it."""
    step = "start"
    try:
        if runtime:
            step = "move the fds to 3..N+2"
            h, n = _compact_fds(h)
            argv = [a.replace(NFDS_TOKEN, str(n)) for a in argv]
        else:
            step = "enter the network namespace"
            if netns.name is not None and _libc().setns(netns.fd(), CLONE_NEWNET) != 0:
                _die(f"setns into network namespace {netns.name}")
            step = "enter the user namespace"
            if userns is not None and _libc().setns(userns.fd(), CLONE_NEWUSER) != 0:
                _die(f"setns into user namespace {userns.name}")
            step = "drop privileges"
            drop_privileges(uid, gid)
        env = dict(os.environ, **{ENV: h.to_env()})
        env.pop("LIBXDP_SKIP_DISPATCHER", None)
        step = f"exec {argv[0]}"
        os.execvpe(argv[0], argv, env)
    except BaseException as e:
        print(f"qctl run: cannot {step}: {e}", file=sys.stderr, flush=True)
        os._exit(127)


def run(nd: Netdev, dev: str, argv: list[str], netns: Netns, userns: Netns | None = None,
        uid: int | None = None, gid: int | None = None, mode: str = "auto",
        frames: int = 4096, frame_size: int = 2048, ring: int = 2048,
        queues: list[int] | None = None,
        report: Callable[[dict[str, Any]], None] | None = None,
        runtime: bool = False) -> int:
    """Check every input, set up, start the function, wait for it, tear
    down; its exit status."""
    check_command(argv)
    if runtime and (userns is not None or uid is not None or gid is not None):
        raise UsageError("with --runtime the runtime enters the pod and picks the user: "
                         "--userns-path, --user and --group do not apply")
    if runtime and not any(NFDS_TOKEN in a for a in argv):
        raise UsageError(f"with --runtime the command passes the fds on: put "
                         f"{NFDS_TOKEN} where it takes their number (--preserve-fds {NFDS_TOKEN})")
    if netns.name is not None:
        netns.fd()                      # exists and is a network namespace
    if userns is not None:
        userns.fd()                     # exists and is a user namespace
    p = plan(nd, dev, frames, frame_size, ring, queues, mode)
    need = p.umem_bytes
    soft, _ = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    if soft != resource.RLIM_INFINITY and need > soft and os.geteuid() != 0:
        raise QctlError(f"the UMEM needs {need} bytes locked; RLIMIT_MEMLOCK is {soft}")
    # libxdp attaches its XSK program without the dispatcher (nothing is
    # pinned in bpffs); for this run only, not for the function
    old_env = os.environ.get("LIBXDP_SKIP_DISPATCHER")
    os.environ["LIBXDP_SKIP_DISPATCHER"] = "1"
    try:
        launch, socks, area, memfd = setup(p, netns, mode)
        if report is not None:
            report(launch.report())
        pid = os.fork()
        if pid == 0:
            _child(launch.handover, argv, netns, userns, uid, gid, runtime)
        fwd = {sig: signal.signal(sig, lambda s, _f: os.kill(pid, s))
               for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
        try:
            _, status = os.waitpid(pid, 0)
        finally:
            for sig, old in fwd.items():
                signal.signal(sig, old)
            _close(socks, netns)
            os.close(memfd)
            del area
    finally:
        if old_env is None:
            os.environ.pop("LIBXDP_SKIP_DISPATCHER", None)
        else:
            os.environ["LIBXDP_SKIP_DISPATCHER"] = old_env
    return os.waitstatus_to_exitcode(status)

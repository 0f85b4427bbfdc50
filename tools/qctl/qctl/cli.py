"""qctl command line: thin click commands over qctl.api.

Only click and qctl's small modules load at start; the library loads when a
command first needs a device (Ctx.nd), so --help, usage errors and shell
completion stay cheap.

Exit codes: 0 ok, 1 the kernel refused (or no such device or netns),
2 usage, 3 the kernel lacks the family or the operation.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.shell_completion import CompletionItem

from .consts import QUEUE_TYPES, U32_MAX, json_attrs
from .errors import QctlError

if TYPE_CHECKING:
    from .api import Netdev as NetdevT
    from .netns import Netns
    from .slices import Slice


def Netdev(netns: str | Netns | None = None, spec: str | None = None) -> NetdevT:
    """The library object behind every command (tests replace this factory)."""
    from .api import Netdev as _Netdev
    from .spec import load_spec
    return _Netdev(netns=netns, spec=load_spec(spec))


class Ctx:
    def __init__(self, json_out: bool, netns: str | None, spec: str | None) -> None:
        self.json = json_out
        self.netns = netns
        self.spec = spec
        self._nd: NetdevT | None = None

    @property
    def nd(self) -> NetdevT:
        if self._nd is None:
            self._nd = Netdev(netns=self.netns, spec=self.spec)
        return self._nd

    def close(self) -> None:
        if self._nd is not None:
            self._nd.close()

    def out(self, obj: Any, text: str) -> None:
        from . import render
        click.echo(render.dumps(obj) if self.json else text)


# --- shell completion (eval "$(_QCTL_COMPLETE=bash_source qctl)") ----------------
def _root_netns(ctx: click.Context) -> str | None:
    ns = ctx.find_root().params.get("netns")
    return ns if isinstance(ns, str) else None


def complete_dev(ctx: click.Context, param: click.Parameter,
                 incomplete: str) -> list[CompletionItem]:
    """Device names of the namespace -n names (or this one)."""
    import socket

    from .netns import Netns
    ns = Netns(_root_netns(ctx))
    try:
        with ns.entered():
            names = [n for _, n in socket.if_nameindex()]
    except (QctlError, OSError):
        return []
    finally:
        ns.close()
    return [CompletionItem(n) for n in sorted(names) if n.startswith(incomplete)]


def complete_slice(ctx: click.Context, param: click.Parameter,
                   incomplete: str) -> list[CompletionItem]:
    """Names of the slices that live in the namespace."""
    try:
        with Netdev(netns=_root_netns(ctx)) as nd:
            names = [s.name for s in nd.slices() if s.netns_id is None]
    except QctlError:
        return []
    return [CompletionItem(n) for n in sorted(names) if n.startswith(incomplete)]


pass_ctx = click.make_pass_decorator(Ctx)
qtype_opt = click.option("--type", "qtype", type=click.Choice(QUEUE_TYPES), required=True,
                         help="queue type")
U32 = click.IntRange(0, U32_MAX)


FC = TypeVar("FC", bound=Callable[..., Any])


def dev_arg(name: str = "dev", metavar: str | None = None,
            **kw: Any) -> Callable[[FC], FC]:
    return click.argument(name, metavar=metavar, shell_complete=complete_dev, **kw)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-j", "--json", "json_out", is_flag=True, help="JSON output, like ip -j")
@click.option("-n", "--netns", metavar="NS",
              help="operate in the existing named network namespace NS")
@click.option("--spec", metavar="PATH", envvar="QCTL_SPEC",
              help="netdev.yaml to use instead of the bundled copy")
@click.version_option(package_name="qctl")
@click.pass_context
def cli(ctx: click.Context, json_out: bool, netns: str | None, spec: str | None) -> None:
    """Manage device queues and slices through the netdev generic netlink family.

    \b
    Exit codes: 0 ok, 1 the kernel refused (or no such device or netns),
    2 usage, 3 the kernel lacks the family or the operation.
    \b
    Examples:
      qctl queues eth0
      qctl -j -n cnf1 show eth0
      eval "$(_QCTL_COMPLETE=bash_source qctl)"   # shell completion
    """
    ctx.obj = Ctx(json_out, netns, spec)
    ctx.call_on_close(ctx.obj.close)


@cli.command()
@dev_arg()
@qtype_opt
@click.option("--id", "qid", type=U32, help="ask for this queue id")
@pass_ctx
def alloc(c: Ctx, dev: str, qtype: str, qid: int | None) -> None:
    """Allocate one queue on DEV; the driver picks the id unless --id.

    \b
    Examples:
      qctl alloc eth0 --type rx
      qctl -j alloc eth0 --type tx --id 6
    """
    q = c.nd.alloc(dev, qtype, qid)
    c.out(q.to_json(), f"allocated {q.type} queue {q.id} on {c.nd.ifname(q.ifindex)}")


@cli.command()
@dev_arg()
@click.argument("qid", metavar="ID", type=U32)
@qtype_opt
@pass_ctx
def free(c: Ctx, dev: str, qid: int, qtype: str) -> None:
    """Free dynamically allocated queue ID of DEV.

    \b
    Example:
      qctl free eth0 6 --type rx
    """
    q = c.nd.free(dev, qtype, qid)
    c.out({"ifindex": q.ifindex, "type": q.type, "id": q.id, "freed": True},
          f"freed {q.type} queue {q.id} on {dev}")


@cli.command()
@dev_arg()
@pass_ctx
def queues(c: Ctx, dev: str) -> None:
    """List every live queue of DEV: type, id, NAPI id, static or dynamic.

    \b
    Examples:
      qctl queues eth0
      qctl -j queues eth0 | jq '.[] | select(.origin == "dynamic")'
    """
    from . import render
    qs = c.nd.queues(dev)
    c.out([q.to_json() for q in qs],
          render.table(("TYPE", "ID", "NAPI", "ORIGIN"),
                       [(q.type, q.id, q.napi_id, q.origin) for q in qs]))


@cli.command()
@dev_arg()
@click.option("--per-queue", is_flag=True, help="one row per queue")
@pass_ctx
def stats(c: Ctx, dev: str, per_queue: bool) -> None:
    """Show qstats of DEV (device totals, or --per-queue).

    \b
    Examples:
      qctl stats eth0
      qctl -j stats eth0 --per-queue
    """
    from . import render
    rows = c.nd.qstats(dev, per_queue)
    keys = ["rx-packets", "rx-bytes", "tx-packets", "tx-bytes"]
    if per_queue:
        text = render.table(["TYPE", "ID"] + [k.upper() for k in keys],
                            [[r.get("queue-type"), r.get("queue-id")] + [r.get(k) for k in keys]
                             for r in rows])
    else:
        text = render.table([k.upper() for k in keys], [[r.get(k) for k in keys] for r in rows])
    c.out(json_attrs(rows), text)


@cli.command()
@dev_arg()
@pass_ctx
def show(c: Ctx, dev: str) -> None:
    """DEV at a glance: its queues (and which slice owns each) and its slices.

    \b
    Example:
      qctl show eth0
    """
    from . import render
    o = c.nd.overview(dev)
    c.out(o.to_json(), render.device_tree(o))


def _of_parent(s: Slice) -> str:
    """' of ifindex N', or nothing where the kernel does not name the parent."""
    return f" of ifindex {s.parent_ifindex}" if s.parent_ifindex is not None else ""


def _slice_text(s: Slice) -> str:
    from . import render
    where = f" (netns id {s.netns_id})" if s.netns_id is not None else ""
    rows = [(q.type, q.id, q.parent_id) for q in s.queues]
    return (f"slice {s.id}{_of_parent(s)}: {s.name} ifindex {s.ifindex}{where}\n"
            f"  mac {s.mac}  rx {s.rx_queues}  tx {s.tx_queues}  max-queues {s.max_queues}\n"
            + render.table(("TYPE", "ID", "PARENT-ID"), rows))


@cli.group("slice")
def slice_group() -> None:
    """Create, delete and inspect slices: netdevices owning a parent's queues."""


def parse_queue_ref(ctx: click.Context | None, param: click.Parameter | None,
                    value: tuple[str, ...]) -> list[tuple[str, int]]:
    """('rx:3', ...) -> [('rx', 3), ...]."""
    refs = []
    for text in value:
        qtype, _, qid = text.partition(":")
        if qtype not in QUEUE_TYPES or not qid.isdigit() or int(qid) > U32_MAX:
            raise click.BadParameter(f"'{text}' is not TYPE:ID (like rx:3)",
                                     param_hint="--queue")
        refs.append((qtype, int(qid)))
    return refs


@slice_group.command("create")
@dev_arg("parent", metavar="PARENT")
@click.option("--rx", type=U32, help="rx queues to allocate from PARENT")
@click.option("--tx", type=U32, help="tx queues to allocate from PARENT")
@click.option("--queue", "parent_ids", multiple=True, metavar="TYPE:ID",
              callback=parse_queue_ref,
              help="take this parent queue (repeatable) instead of --rx/--tx")
@click.option("--name", help="slice netdevice name")
@click.option("--mac", help="slice MAC address (default: random)")
@click.option("--max-queues", type=U32,
              help="quota of queues of each type (default: max of --rx, --tx)")
@click.option("--move-to", "move_to", metavar="NS",
              help="then move the slice to the existing named netns NS")
@pass_ctx
def slice_create(c: Ctx, parent: str, rx: int | None, tx: int | None,
                 parent_ids: list[tuple[str, int]], name: str | None, mac: str | None,
                 max_queues: int | None, move_to: str | None) -> None:
    """Create a slice of PARENT owning --rx and --tx of its queues.

    \b
    Examples:
      qctl slice create eth0 --rx 2 --tx 2 --max-queues 4 --name cnf1 --move-to cnf1
      qctl slice create eth0 --queue rx:4 --queue tx:4
    """
    if not parent_ids and (rx is None or tx is None):
        raise click.UsageError("give --rx and --tx, or --queue TYPE:ID")
    s = c.nd.slice_create(parent, rx, tx, name=name, mac=mac, max_queues=max_queues,
                          parent_ids=parent_ids or None, move_to=move_to)
    c.out(s.to_json(), f"created {_slice_text(s)}")


@slice_group.command("delete")
@click.argument("slice_dev", metavar="[SLICE]", required=False, shell_complete=complete_slice)
@click.option("--parent", help="with --id: name the slice by its parent",
              shell_complete=complete_dev)
@click.option("--id", "slice_id", type=U32, help="slice id on --parent")
@pass_ctx
def slice_delete(c: Ctx, slice_dev: str | None, parent: str | None,
                 slice_id: int | None) -> None:
    """Delete SLICE (or --parent P --id N); its queues go back to the parent.

    \b
    Examples:
      qctl slice delete cnf1
      qctl slice delete --parent eth0 --id 3
    """
    if slice_dev is None and (parent is None or slice_id is None):
        raise click.UsageError("name SLICE, or give both --parent and --id")
    s = c.nd.slice_delete(slice_dev, parent=parent, slice_id=slice_id)
    c.out({**s.to_json(), "deleted": True},
          f"deleted slice {s.id} ({s.name}){_of_parent(s)}")


@slice_group.command("list")
@dev_arg("parent", metavar="[PARENT]", required=False)
@pass_ctx
def slice_list(c: Ctx, parent: str | None) -> None:
    """List slices (of PARENT, or of every device here and those living here).

    \b
    Examples:
      qctl slice list
      qctl -j slice list eth0
    """
    from . import render
    sls = c.nd.slices(parent)
    c.out([s.to_json() for s in sls],
          render.table(("PARENT", "ID", "NAME", "IFINDEX", "NETNS", "MAC", "RX", "TX", "MAX"),
                       [(s.parent_ifindex, s.id, s.name, s.ifindex, s.netns_id, s.mac,
                         s.rx_queues, s.tx_queues, s.max_queues) for s in sls]))


@slice_group.command("show")
@click.argument("slice_dev", metavar="SLICE", shell_complete=complete_slice)
@pass_ctx
def slice_show(c: Ctx, slice_dev: str) -> None:
    """Show SLICE: parent, quota, MAC and its queue map.

    \b
    Example:
      qctl -n cnf1 slice show cnf1
    """
    s = c.nd.slice(slice_dev)
    c.out(s.to_json(), _slice_text(s))


@cli.command()
@dev_arg()
@click.option("--netns-path", metavar="PATH",
              help="DEV's namespace by path (a pod's /proc/PID/ns/net); default: -n or here")
@click.option("--userns-path", metavar="PATH",
              help="enter this user namespace before exec (a pod's /proc/PID/ns/user)")
@click.option("--user", "uid", type=click.IntRange(0, U32_MAX - 1), help="then run as uid")
@click.option("--group", "gid", type=click.IntRange(0, U32_MAX - 1), help="then run as gid")
@click.option("--mode", type=click.Choice(["auto", "zerocopy", "copy"]), default="auto",
              show_default=True, help="AF_XDP bind mode; auto: zero-copy if granted")
@click.option("--frames", type=click.IntRange(2, 1 << 20), default=4096, show_default=True,
              help="UMEM frames per queue (a power of two; half rx, half tx)")
@click.option("--frame-size", type=click.Choice(["2048", "4096"]), default="2048",
              show_default=True, help="UMEM frame size")
@click.option("--ring", type=click.IntRange(64, 1 << 16), default=2048, show_default=True,
              help="entries per ring (a power of two)")
@click.option("--queue", "queues", type=U32, multiple=True,
              help="only this rx queue of DEV (repeatable); default: all")
@click.option("--runtime", is_flag=True,
              help="COMMAND is a container runtime that starts the function: pass it the "
                   "fds as 3..N+2 and N where COMMAND says {nfds}")
@click.option("-v", "--verbose", is_flag=True, help="show libbpf's and libxdp's own messages")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_ctx
def run(c: Ctx, dev: str, netns_path: str | None, userns_path: str | None, uid: int | None,
        gid: int | None, mode: str, frames: int, frame_size: str, ring: int,
        queues: tuple[int, ...], runtime: bool, verbose: bool,
        command: tuple[str, ...]) -> None:
    """Give COMMAND AF_XDP sockets on DEV's rx queues, then run it unprivileged.

    The pre-process of a network function: allocate the UMEM (one memfd for
    every queue), bind a socket per rx queue and fill its ring, attach the
    XSK program, then fork, drop every capability (after entering
    --userns-path) and exec COMMAND with the fds and QMGMT_AFXDP (the
    layout; qctl.pktio adopts it).  With --runtime, COMMAND is a container
    runtime that puts the fds in the container itself.  Waits for COMMAND,
    tears down, exits with its status.  The memory report goes to stderr.
    Every input is checked before anything is allocated.

    \b
    Examples:
      qctl run eth0 -- python -m qctl.pktio.reflector
      qctl run net1 --netns-path /proc/4242/ns/net --user 1000 --group 1000 \\
          -- python -m qctl.pktio.reflector
      qctl run net1 --netns-path /run/netns/cni-1234 --runtime -- \\
          podman run --pod nf --preserve-fds {nfds} -e QMGMT_AFXDP --cap-drop all \\
          nf-image python -m qctl.pktio.reflector
    """
    from . import render, xsk
    from .launcher import run as launch
    from .netns import Netns
    xsk.library_output(verbose)
    netns = Netns(None, path=netns_path) if netns_path else Netns(c.netns)
    userns = Netns(None, path=userns_path, kind="user") if userns_path else None

    def report(r: dict[str, Any]) -> None:
        click.echo(f"qctl run: {render.dumps(r)}", err=True)

    argv = list(command[1:] if command[:1] == ("--",) else command)
    with Netdev(netns=netns, spec=c.spec) as nd:
        rc = launch(nd, dev, argv, netns, userns=userns, uid=uid, gid=gid,
                    mode=mode, frames=frames, frame_size=int(frame_size), ring=ring,
                    queues=list(queues) or None, report=report, runtime=runtime)
    raise click.exceptions.Exit(rc)


class _PoolGroup(click.Group):
    """`qctl pool DEV` is `qctl pool show DEV`: only a lone device word is
    taken for one, and never a near miss of a subcommand, so `qctl pool
    sett eth0` still gets click's "No such command 'sett'. Did you mean
    'set'?"."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        import difflib
        words = [a for a in args if not a.startswith("-")]
        if args and args[0] not in self.commands and not args[0].startswith("-") and \
                len(words) == 1 and \
                not difflib.get_close_matches(args[0], list(self.commands), cutoff=0.75):
            args = ["show", *args]
        return super().parse_args(ctx, args)


@cli.group("pool", cls=_PoolGroup)
def pool_group() -> None:
    """The device's queue pools and their split among PF, VFs and slices.

    \b
    Examples:
      qctl pool eth0
      qctl pool set eth0 vf1 --rx 4 --tx 4
    """


@pool_group.command("show")
@dev_arg()
@pass_ctx
def pool_show(c: Ctx, dev: str) -> None:
    """Show DEV's device pools: per function share, use, and who uses it.

    \b
    Example:
      qctl -j pool show eth0
    """
    from . import render
    from .pool import Devlink, pool
    with Devlink(netns=c.netns) as dl:
        p = pool(dl, c.nd, dev)
    c.out(p.to_json(), render.pool_tree(p))


@pool_group.command("set")
@dev_arg()
@click.argument("function", metavar="FUNCTION")
@click.option("--rx", type=click.IntRange(0, U32_MAX), help="rx queue share")
@click.option("--tx", type=click.IntRange(0, U32_MAX), help="tx queue share")
@pass_ctx
def pool_set(c: Ctx, dev: str, function: str, rx: int | None, tx: int | None) -> None:
    """Set FUNCTION's share of DEV's device pools (pfN, vfN or a port index).

    Both shares change in one request: a refusal changes neither.

    \b
    Examples:
      qctl pool set eth0 pf0 --rx 8 --tx 8
      qctl pool set eth0 vf1 --rx 4
    """
    if rx is None and tx is None:
        raise click.UsageError("give --rx and/or --tx")
    from .pool import Devlink
    from .pool import pool_set as set_share
    with Devlink(netns=c.netns) as dl:
        f = set_share(dl, c.nd, dev, function, rx, tx)
    c.out(f.to_json(), f"{f.name}: " + "  ".join(
        f"{t} share {s.share} (used {s.used})" for t, s in f.shares.items()))


@cli.command()
@click.option("--timeout", type=click.FloatRange(min=0), default=None,
              help="stop after this many seconds without an event")
@click.option("--count", type=click.IntRange(min=1), default=None,
              help="stop after this many events")
@pass_ctx
def monitor(c: Ctx, timeout: float | None, count: int | None) -> None:
    """Stream notifications of the netdev mgmt group (queue add/del, ...).

    \b
    Examples:
      qctl monitor
      qctl -j monitor --count 2 --timeout 10
    """
    from . import render
    for n, ev in enumerate(c.nd.monitor(timeout=timeout), 1):
        click.echo(render.dumps(ev.to_json()) if c.json else render.event_line(ev.name, ev.attrs))
        sys.stdout.flush()
        if count is not None and n >= count:
            break


def main(argv: list[str] | None = None) -> int:
    try:
        # not standalone: click returns an Exit's code (qctl run's is the
        # function's status) instead of raising it
        rv = cli.main(args=argv, prog_name="qctl", standalone_mode=False)
        if isinstance(rv, int):
            return rv
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("qctl: aborted", err=True)
        return 130
    except QctlError as e:
        click.echo(f"qctl: error: {e}", err=True)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `qctl ... | head`: the reader is gone; say nothing, as ip does
        _quiet_stdout()
        return 1
    except OSError as e:
        # writing the output failed (`> /dev/full`, a full disk)
        _quiet_stdout()
        click.echo(f"qctl: error: cannot write output: {e.strerror}", err=True)
        return 1
    return 0


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's exit-time flush of a
    failed write neither raises nor prints."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()

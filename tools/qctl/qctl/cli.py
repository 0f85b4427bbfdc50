"""qctl command line: thin click commands over qctl.api."""
from __future__ import annotations

import sys
from typing import Any, Callable, TypeVar

import click

from . import render
from .api import QUEUE_TYPES, Netdev
from .errors import KernelError, QctlError
from .slices import Slice

F = TypeVar("F", bound=Callable[..., Any])


class Ctx:
    def __init__(self, json_out: bool, netns: str | None, spec: str | None) -> None:
        self.json = json_out
        self.netns = netns
        self.spec = spec
        self._nd: Netdev | None = None

    @property
    def nd(self) -> Netdev:
        if self._nd is None:
            from .spec import load_spec
            self._nd = Netdev(netns=self.netns, spec=load_spec(self.spec))
        return self._nd

    def out(self, obj: Any, text: str) -> None:
        click.echo(render.dumps(obj) if self.json else text)


pass_ctx = click.make_pass_decorator(Ctx)
qtype_opt = click.option("--type", "qtype", type=click.Choice(QUEUE_TYPES), required=True,
                         help="queue type")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-j", "--json", "json_out", is_flag=True, help="JSON output, like ip -j")
@click.option("-n", "--netns", metavar="NS", help="operate in named network namespace NS")
@click.option("--spec", metavar="PATH", envvar="QCTL_SPEC",
              help="netdev.yaml to use instead of the bundled copy")
@click.version_option(package_name="qctl")
@click.pass_context
def cli(ctx: click.Context, json_out: bool, netns: str | None, spec: str | None) -> None:
    """Manage device queues and slices through the netdev generic netlink family."""
    ctx.obj = Ctx(json_out, netns, spec)
    ctx.call_on_close(lambda: ctx.obj._nd.close() if ctx.obj._nd else None)


@cli.command()
@click.argument("dev")
@qtype_opt
@click.option("--id", "qid", type=click.IntRange(min=0), help="ask for this queue id")
@pass_ctx
def alloc(c: Ctx, dev: str, qtype: str, qid: int | None) -> None:
    """Allocate one queue on DEV; the driver picks the id unless --id."""
    q = c.nd.alloc(dev, qtype, qid)
    c.out(q.to_json(), f"allocated {q.type} queue {q.id} on {c.nd.ifname(q.ifindex)}")


@cli.command()
@click.argument("dev")
@click.argument("qid", metavar="ID", type=click.IntRange(min=0))
@qtype_opt
@pass_ctx
def free(c: Ctx, dev: str, qid: int, qtype: str) -> None:
    """Free dynamically allocated queue ID of DEV."""
    q = c.nd.free(dev, qtype, qid)
    c.out({"ifindex": q.ifindex, "type": q.type, "id": q.id, "freed": True},
          f"freed {q.type} queue {q.id} on {dev}")


@cli.command()
@click.argument("dev")
@pass_ctx
def queues(c: Ctx, dev: str) -> None:
    """List every live queue of DEV: type, id, NAPI id, static or dynamic."""
    qs = c.nd.queues(dev)
    c.out([q.to_json() for q in qs],
          render.table(("TYPE", "ID", "NAPI", "ORIGIN"),
                       [(q.type, q.id, q.napi_id, q.origin) for q in qs]))


@cli.command()
@click.argument("dev")
@click.option("--per-queue", is_flag=True, help="one row per queue")
@pass_ctx
def stats(c: Ctx, dev: str, per_queue: bool) -> None:
    """Show qstats of DEV (device totals, or --per-queue)."""
    rows = c.nd.qstats(dev, per_queue)
    keys = ["rx-packets", "rx-bytes", "tx-packets", "tx-bytes"]
    if per_queue:
        text = render.table(["TYPE", "ID"] + [k.upper() for k in keys],
                            [[r.get("queue-type"), r.get("queue-id")] + [r.get(k) for k in keys]
                             for r in rows])
    else:
        text = render.table([k.upper() for k in keys], [[r.get(k) for k in keys] for r in rows])
    c.out(rows, text)


@cli.command()
@click.argument("dev")
@pass_ctx
def show(c: Ctx, dev: str) -> None:
    """DEV at a glance: its queues (and which slice owns each) and its slices."""
    o = c.nd.overview(dev)
    c.out(o.to_json(), render.device_tree(o.name, o.ifindex, o.queues, o.slices, o.names))


def _slice_text(s: Slice) -> str:
    where = f" (netns id {s.netns_id})" if s.netns_id is not None else ""
    rows = [(q.type, q.id, q.parent_id) for q in s.queues]
    return (f"slice {s.id} of ifindex {s.parent_ifindex}: {s.name} ifindex {s.ifindex}{where}\n"
            f"  mac {s.mac}  rx {s.rx_queues}  tx {s.tx_queues}  max-queues {s.max_queues}\n"
            + render.table(("TYPE", "ID", "PARENT-ID"), rows))


@cli.group("slice")
def slice_group() -> None:
    """Create, delete and inspect slices: netdevices owning a parent's queues."""


@slice_group.command("create")
@click.argument("parent")
@click.option("--rx", type=click.IntRange(min=0), help="rx queues to allocate from PARENT")
@click.option("--tx", type=click.IntRange(min=0), help="tx queues to allocate from PARENT")
@click.option("--queue", "parent_ids", multiple=True, metavar="TYPE:ID",
              help="take this parent queue (repeatable) instead of --rx/--tx")
@click.option("--name", help="slice netdevice name")
@click.option("--mac", help="slice MAC address (default: random)")
@click.option("--max-queues", type=click.IntRange(min=0),
              help="quota of queues of each type (default: max of --rx, --tx)")
@click.option("--netns", "target_ns", metavar="NS", help="move the slice to netns NS")
@pass_ctx
def slice_create(c: Ctx, parent: str, rx: int | None, tx: int | None,
                 parent_ids: tuple[str, ...], name: str | None, mac: str | None,
                 max_queues: int | None, target_ns: str | None) -> None:
    """Create a slice of PARENT owning --rx and --tx of its queues."""
    ids = [parse_queue_ref(r) for r in parent_ids]
    s = c.nd.slice_create(parent, rx, tx, name=name, mac=mac, max_queues=max_queues,
                          parent_ids=ids or None, netns=target_ns)
    c.out(s.to_json(), f"created {_slice_text(s)}")


@slice_group.command("delete")
@click.argument("slice_dev", metavar="SLICE", required=False)
@click.option("--parent", help="with --id: name the slice by its parent")
@click.option("--id", "slice_id", type=click.IntRange(min=0), help="slice id on --parent")
@pass_ctx
def slice_delete(c: Ctx, slice_dev: str | None, parent: str | None,
                 slice_id: int | None) -> None:
    """Delete SLICE (or --parent P --id N); its queues go back to the parent."""
    s = c.nd.slice_delete(slice_dev, parent=parent, slice_id=slice_id)
    c.out({**s.to_json(), "deleted": True},
          f"deleted slice {s.id} ({s.name}) of ifindex {s.parent_ifindex}")


@slice_group.command("list")
@click.argument("parent", required=False)
@pass_ctx
def slice_list(c: Ctx, parent: str | None) -> None:
    """List slices (of PARENT, or of every device here and those living here)."""
    sls = c.nd.slices(parent)
    c.out([s.to_json() for s in sls],
          render.table(("PARENT", "ID", "NAME", "IFINDEX", "NETNS", "MAC", "RX", "TX", "MAX"),
                       [(s.parent_ifindex, s.id, s.name, s.ifindex, s.netns_id, s.mac,
                         s.rx_queues, s.tx_queues, s.max_queues) for s in sls]))


@slice_group.command("show")
@click.argument("slice_dev", metavar="SLICE")
@pass_ctx
def slice_show(c: Ctx, slice_dev: str) -> None:
    """Show SLICE: parent, quota, MAC and its queue map."""
    s = c.nd.slice(slice_dev)
    c.out(s.to_json(), _slice_text(s))


def parse_queue_ref(text: str) -> tuple[str, int]:
    """'rx:3' -> ('rx', 3)."""
    qtype, _, qid = text.partition(":")
    if qtype not in QUEUE_TYPES or not qid.isdigit():
        raise click.BadParameter(f"'{text}' is not TYPE:ID (like rx:3)", param_hint="--queue")
    return qtype, int(qid)


@cli.command()
@click.option("--timeout", type=float, default=None,
              help="stop after this many seconds without an event")
@click.option("--count", type=int, default=None, help="stop after this many events")
@pass_ctx
def monitor(c: Ctx, timeout: float | None, count: int | None) -> None:
    """Stream notifications of the netdev mgmt group (queue add/del, ...)."""
    n = 0
    for ev in c.nd.monitor(timeout=timeout):
        click.echo(render.dumps(ev.to_json()) if c.json else render.event_line(ev.name, ev.attrs))
        sys.stdout.flush()
        n += 1
        if count is not None and n >= count:
            break


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="qctl", standalone_mode=False)
    except click.exceptions.Exit as e:
        return int(e.exit_code or 0)
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("qctl: aborted", err=True)
        return 130
    except KernelError as e:
        click.echo(f"qctl: error: {e}", err=True)
        return e.exit_code
    except QctlError as e:
        click.echo(f"qctl: error: {e}", err=True)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    return 0


def entry() -> None:
    sys.exit(main())
if __name__ == "__main__":
    entry()

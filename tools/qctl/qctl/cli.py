"""qctl command line: thin click commands over qctl.api."""
from __future__ import annotations

import sys
from typing import Any, Callable, TypeVar

import click

from . import render
from .api import QUEUE_TYPES, Netdev
from .errors import KernelError, QctlError

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
    """Manage device queues through the netdev generic netlink family."""
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

"""A demo network function: an L2 reflector on every handed-over queue.

    qctl run DEV -- python -m qctl.pktio.reflector [--count N] [--seconds T]

Every frame received is sent back out of the same queue with its source and
destination MAC swapped, in place in the UMEM (no copy).  One process per
queue (forked after adopt()), or with --threads one thread per queue in this
process.  At the end it prints one JSON line:
{"queues": {qid: {"rx": n, "tx": n}}, "seconds": t}.  It needs no
capability.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time

from . import XskQueue, adopt

_stop = False


def _on_term(_sig: int, _frame: object) -> None:
    global _stop
    _stop = True


def reflect(q: XskQueue, count: int | None, deadline: float) -> tuple[int, int]:
    rx = tx = 0
    mac = bytearray(6)
    while not _stop and (count is None or rx < count) and time.monotonic() < deadline:
        views = q.recv(64)
        if not views:
            q.complete()
            q.wait(0.05)
            continue
        for v in views:
            mac[:] = v[0:6]
            v[0:6] = v[6:12]
            v[6:12] = mac
        rx += len(views)
        tx += q.reflect()
        q.complete()
    # let the last frames go out
    end = time.monotonic() + 1.0
    while q.tx.prod[0] != q.tx.cons[0] and time.monotonic() < end:
        q.complete()
        time.sleep(0.01)
    q.complete()
    return rx, tx


Stats = dict[int, dict[str, int]]


def _processes(queues: list[XskQueue], count: int | None, deadline: float) -> Stats:
    """Queue 0 here, every other queue in a child; the first to finish
    stops the rest."""
    workers = []
    for q in queues[1:]:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            res = reflect(q, None, deadline)
            os.write(w, json.dumps([q.queue, *res]).encode())
            os._exit(0)
        os.close(w)
        workers.append((pid, r))
    stats: Stats = {}
    stats[queues[0].queue] = _pair(reflect(queues[0], count, deadline))
    for pid, r in workers:
        os.kill(pid, signal.SIGTERM)     # this one is done: so are the others
        with os.fdopen(r) as f:
            qid, rx, tx = json.loads(f.read())
        stats[qid] = _pair((rx, tx))
        os.waitpid(pid, 0)
    return stats


def _threads(queues: list[XskQueue], count: int | None, deadline: float) -> Stats:
    """A thread per queue; queue 0's (this one) stops the rest."""
    global _stop
    stats: Stats = {}

    def work(q: XskQueue) -> None:
        stats[q.queue] = _pair(reflect(q, None, deadline))

    threads = [threading.Thread(target=work, args=(q,)) for q in queues[1:]]
    for t in threads:
        t.start()
    stats[queues[0].queue] = _pair(reflect(queues[0], count, deadline))
    _stop = True
    for t in threads:
        t.join()
    return stats


def _pair(res: tuple[int, int]) -> dict[str, int]:
    return {"rx": res[0], "tx": res[1]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="reflector", description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int,
                    help="stop after this many frames on the first queue")
    ap.add_argument("--seconds", type=float, default=3600.0, help="stop after this long")
    ap.add_argument("--threads", action="store_true",
                    help="a thread per queue instead of a process")
    args = ap.parse_args(argv)
    try:
        queues = adopt()
    except (OSError, ValueError) as e:
        print(f"reflector: {e}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, _on_term)
    t0 = time.monotonic()
    deadline = t0 + args.seconds
    run = _threads if args.threads else _processes
    stats = run(queues, args.count, deadline)
    print(json.dumps({"queues": stats, "seconds": time.monotonic() - t0}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

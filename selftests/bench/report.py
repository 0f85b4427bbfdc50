#!/usr/bin/env python3
"""Host side of scripts/bench.sh: a results table and PNG plots.

  report.py VM-JSON HOST-P6-JSON OUTDIR

Writes OUTDIR/bench.json (both inputs), OUTDIR/bench.md (every figure a
ratio from one run, with rounds and min/median/max) and OUTDIR/p2.png ..
p6.png.  matplotlib (requirements-bench.txt) is needed here only.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def fmt(x: float, nd: int = 2) -> str:
    return f"{x:,.{nd}f}"


def sp(d: dict[str, float], nd: int = 2) -> str:
    """median (min-max)."""
    return f"{fmt(d['median'], nd)} ({fmt(d['min'], nd)}-{fmt(d['max'], nd)})"


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def p2(d: dict[str, Any], out: str) -> str:
    af, el = d["alloc_free"], d["ethtool_L"]
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.bar(["alloc+free", "ethtool -L +1/-1"], [af["median_ms"], el["median_ms"]],
           yerr=[[0, 0], [af["p90_ms"] - af["median_ms"], el["p90_ms"] - el["median_ms"]]],
           color=["tab:blue", "tab:gray"], capsize=4)
    ax.set_ylabel("ms per pair (median, bar to p90)")
    ax.set_title("P2: reconfiguration on netdevsim (TCG)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "p2.png"), dpi=100)
    plt.close(fig)
    return table(["", "median ms", "p90 ms", "frames lost on queue 1"], [
        ["alloc+free (qctl client)", fmt(af["median_ms"]), fmt(af["p90_ms"]),
         f"{af['lost_on_queue_1']} of {af['sent']}"],
        ["`ethtool -L` +1/-1", fmt(el["median_ms"]), fmt(el["p90_ms"]),
         f"{el['lost_on_queue_1']} of {el['sent']}"],
    ]) + f"\n\nRatio `-L` / alloc+free: **{fmt(d['ratio_ethtool_over_alloc'])}**."


def p3(d: dict[str, Any], out: str) -> str:
    fig, axes = plt.subplots(1, 2, figsize=(8, 3), sharey=True)
    rows = []
    for ax, kind in zip(axes, ("do", "dump"), strict=True):
        names = [n for n in d[kind] if n != "raw"]
        med = [d[kind][n]["vs_raw"]["median"] for n in names]
        lo = [m - d[kind][n]["vs_raw"]["min"] for n, m in zip(names, med, strict=True)]
        hi = [d[kind][n]["vs_raw"]["max"] - m for n, m in zip(names, med, strict=True)]
        ax.bar(names, med, yerr=[lo, hi], capsize=4, color="tab:blue")
        ax.axhline(1.0, color="gray", lw=1)
        ax.axhline(0.5, color="tab:red", lw=1, ls="--")
        ax.set_title(f"queue-get {kind}")
        ax.tick_params(axis="x", rotation=20)
        for n in d[kind]:
            rows.append([kind, n, fmt(d[kind][n]["ops_s"]["median"], 0),
                         sp(d[kind][n]["vs_raw"])])
    axes[0].set_ylabel("rate / raw request (median, min-max)")
    fig.suptitle(f"P3: qctl op rate vs a raw request, {d['rounds']} interleaved rounds")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "p3.png"), dpi=100)
    plt.close(fig)
    return (f"{d['rounds']} rounds of {d['seconds_per_variant']} s per variant, order "
            f"rotated; the dump returns {d['device_queues']} queues.\n\n"
            + table(["op", "variant", "ops/s (median)", "vs raw: median (min-max)"], rows))


def p4(d: dict[str, Any], out: str) -> str:
    pts = d["points"]
    n = [p["queues"] for p in pts]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(n, [p["alloc_ms"] for p in pts], "o-", label="alloc of one more queue (ms)")
    ax.plot(n, [p["dump_ms"] for p in pts], "s-", label="queue-get dump (ms)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("live rx queues")
    ax.set_ylabel("ms (median)")
    ax.legend()
    ax.set_title("P4: cost against the number of queues")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "p4.png"), dpi=100)
    plt.close(fig)
    rows = [[str(p["queues"]), fmt(p["alloc_ms"]), sp(p["dump_ms_spread"]),
             str(p["dump_entries"])] for p in pts]
    first, last = pts[0], pts[-1]
    return (table(["rx queues", "alloc ms (median of 8)", "dump ms: median (min-max) of 5",
                   "dump entries"], rows)
            + f"\n\nAll {d['allocated']} allocations: {sp(d['alloc_ms_all'])} ms; "
            f"alloc at {last['queues']} / at {first['queues']}: "
            f"**{fmt(last['alloc_ms'] / first['alloc_ms'])}**; freeing them all took "
            f"{fmt(d['free_all_s'])} s.")


def p5(d: dict[str, Any], out: str) -> str:
    fig, ax = plt.subplots(figsize=(5, 3))
    rs = d["rounds"]
    ax.plot([r["rx_pps"] / 1e3 for r in rs["parent"]], "o-", label="parent")
    ax.plot([r["rx_pps"] / 1e3 for r in rs["slice"]], "s-", label="slice")
    ax.set_xlabel("round")
    ax.set_ylabel("received kpps")
    ax.legend()
    ax.set_title(f"P5: receive rate, {d['sender']} sender (TCG)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "p5.png"), dpi=100)
    plt.close(fig)
    return (f"{len(rs['slice'])} rounds, alternated; sender `{d['sender']}`.\n\n"
            + table(["", "rx pps (median)"], [
                ["parent", fmt(d["parent_rx_pps"], 0)], ["slice", fmt(d["slice_rx_pps"], 0)]])
            + f"\n\nSlice / parent per round: **{sp(d['ratio_per_round'])}**.")


def p6(vm: dict[str, Any], host: dict[str, Any], out: str) -> str:
    fig, ax = plt.subplots(figsize=(6, 3))
    labels, med, lo, hi = [], [], [], []
    for where, d in (("host", host), ("VM", vm)):
        for k in ("help", "queues_json"):
            r = d[k]["ratio"]
            labels.append(f"{where}\n{k}")
            med.append(r["median"])
            lo.append(r["median"] - r["min"])
            hi.append(r["max"] - r["median"])
    ax.bar(labels, med, yerr=[lo, hi], capsize=4, color="tab:blue")
    ax.axhline(1.5, color="tab:red", lw=1, ls="--")
    ax.set_ylabel("wall / `python -c 'import click'`")
    ax.set_title("P6: cold start, paired runs")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "p6.png"), dpi=100)
    plt.close(fig)
    rows = []
    for where, d in (("host", host), ("VM (TCG)", vm)):
        for k, cmd in (("help", "qctl --help"), ("queues_json", f"qctl -j queues {d['device']}")):
            rows.append([where, f"`{cmd}`", sp(d[k]["ms"], 0), sp(d[k]["import_click_ms"], 0),
                         sp(d[k]["ratio"])])
    return (f"Paired runs: host {host['pairs']}, VM {vm['pairs']}.\n\n"
            + table(["where", "command", "ms", "`import click` ms", "ratio per pair"], rows))


def nf(d: dict[str, Any], out: str) -> str:
    fig, ax = plt.subplots(figsize=(5, 3))
    rs = d["rounds"]
    ax.plot([r["echo_pps"] / 1e3 for r in rs["host"]], "o-", label="on the parent (host)")
    ax.plot([r["echo_pps"] / 1e3 for r in rs["pod"]], "s-", label="on a slice (pod)")
    ax.set_xlabel("round")
    ax.set_ylabel("echoed kpps")
    ax.legend()
    ax.set_title("NF: reflector throughput (TCG)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "nf.png"), dpi=100)
    plt.close(fig)
    def mode(side: str) -> str:
        return ", ".join(sorted({f"{r['xdp']} XDP, {'/'.join(sorted(set(r['modes'])))} AF_XDP"
                                 for r in rs[side]}))
    return (f"{len(rs['pod'])} rounds of {d['seconds']} s, alternated; C sender.\n\n"
            + table(["", "echoes/s, median (min-max)", "mode"], [
                ["reflector on the parent's queues, host", sp(d["host_echo_pps"], 0),
                 mode("host")],
                ["reflector in a pod on a slice", sp(d["pod_echo_pps"], 0), mode("pod")]])
            + f"\n\nPod / host per round: **{sp(d['ratio_pod_over_host'])}**. "
            f"Launcher set-up {sp(d['launcher_setup_s'], 3)} s (its report: UMEM, sockets, "
            f"program); up {sp(d['launcher_up_s'])} s after Popen in the pod (two Python "
            "starts included).")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        vm = json.load(f)
    with open(argv[1], encoding="utf-8") as f:
        host = json.load(f)
    out = argv[2]
    os.makedirs(out, exist_ok=True)
    parts = [
        "# qmgmt benchmarks\n",
        f"Kernel {vm['kernel']} under TCG (scripts/bench.sh"
        f"{' --quick' if vm.get('quick') else ''}); figures in min/median/max are "
        "over rounds of one run.\n",
        "## P2: alloc+free against `ethtool -L`\n", p2(vm["p2"], out), "\n![P2](p2.png)\n",
        "## P3: qctl queue-get rate against a raw request\n", p3(vm["p3"], out),
        "\n![P3](p3.png)\n",
        "## P4: scale, 8 to 1024 queues\n", p4(vm["p4"], out), "\n![P4](p4.png)\n",
        "## P5: slice against parent receive rate\n", p5(vm["p5"], out), "\n![P5](p5.png)\n",
        "## P6: cold start\n", p6(vm["p6"], host, out), "\n![P6](p6.png)\n",
    ]
    if "nf" in vm:
        parts += ["## NF: reflector in a pod against on the parent\n", nf(vm["nf"], out),
                  "\n![NF](nf.png)\n"]
    with open(os.path.join(out, "bench.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
    with open(os.path.join(out, "bench.json"), "w", encoding="utf-8") as f:
        json.dump({"vm": vm, "host_p6": host}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

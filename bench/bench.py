"""make bench: replay workloads against glibc (as it is, without its thread cache, and keeping
its heap), jemalloc, mimalloc, tcmalloc and os_* libraries, in one run, and report throughput
against glibc, utilisation, brk/mmap calls, and pictures.

The pipeline: contenders -> workloads -> timed rounds (interleaved) -> counting runs (strace)
-> cells -> tables and pictures (build/bench/).

Invariants:
  - rounds are interleaved: each round runs every contender on a workload back to back (in an
    order rotated every round) before the next workload, so a slow minute of a loaded machine
    hurts every contender alike; nothing runs in parallel;
  - a contender that times out or fails on a workload is not run on it again; one whose runs
    already took CELL_BUDGET seconds is not repeated (a median of fewer rounds, said so);
  - timings only ever appear in the report, never decide an exit status: the exit status is 0
    unless the bench itself could not run (bad arguments, the driver missing).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import measure
import pictures
import tables
import workloads as wl
from contenders import ROOT, Contender, malloc_contenders, osmem_contender

KIT_LIBRARY = ROOT / "src" / "libosmem.so"
STEADY_LIVE = (100, 1000, 10_000, 100_000)
COUNTING_SLOWDOWN = 2
METHOD = (
    "Each repetition of a trace starts from the state the previous one left: the allocator is "
    "not reset between passes (nor between the checking pass and the timed ones). Throughput: "
    "allocator calls per second over the timed passes, median over rounds ± half the range "
    "(number of rounds). Utilisation: peak live payload / peak RSS growth (every contender: "
    "VmHWM after the passes, reset before them, minus VmRSS before them; the checking pass "
    "writes every byte), and for os_* libraries / peak brk extent + live mmap bytes (the "
    "malloc-lab's definition; the malloc contenders map their arenas before the passes, so it "
    "means nothing for them). brk/mmap calls (brk, mmap, munmap, mremap) are counted by strace "
    "in a separate untimed run. Geomeans leave out the traces the contract binds to at least "
    "one mmap/munmap per 10 calls (their floor is given with them).")


@dataclass(frozen=True)
class Plan:
    rounds: int
    min_seconds: float      # timed passes per run add up to at least this
    budget: float           # bench_replay --budget
    timeout: float          # one run at most
    fill_limit: float       # placing the steady state's N blocks at most (bench_replay)
    cell_budget: float      # no new round of a cell once its runs took this long
    steady_steps: int


# The kit's library needs 10 to 30 s a pass of realloc-bal on a loaded 2-core machine: a mapped
# block is mapped anew, faulted in and copied on every growth.
FULL = Plan(rounds=5, min_seconds=0.1, budget=2.0, timeout=120.0, fill_limit=20.0,
            cell_budget=8.0, steady_steps=50_000)
QUICK = Plan(rounds=3, min_seconds=0.03, budget=1.0, timeout=40.0, fill_limit=10.0,
             cell_budget=3.0, steady_steps=20_000)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def choose_contenders(osmem: Path | None, workdir: Path) -> list[Contender]:
    chosen = malloc_contenders()
    chosen.append(osmem_contender("osmem (kit)", KIT_LIBRARY, workdir / "kit"))
    if osmem is not None and osmem.resolve() != KIT_LIBRARY.resolve():
        chosen.append(osmem_contender(f"OSMEM={osmem}", osmem, workdir / "osmem"))
    return chosen


def timed_rounds(driver: Path, contenders: list[Contender], chosen: list[wl.Workload],
                 plan: Plan, cells: tables.Cells) -> None:
    spent: dict[tuple[str, str], float] = {}
    for round_index in range(plan.rounds):
        started = time.monotonic()
        order = contenders[round_index % len(contenders):] + \
            contenders[:round_index % len(contenders)]
        for workload in chosen:
            for contender in order:
                key = (contender.name, workload.name)
                cell = cells[key]
                if cell.problem or (cell.throughputs and spent[key] >= plan.cell_budget):
                    continue
                began = time.monotonic()
                outcome = measure.timed_run(driver, contender, workload.spec, plan.timeout,
                                            plan.min_seconds, plan.budget, plan.fill_limit)
                spent[key] = spent.get(key, 0.0) + time.monotonic() - began
                if not outcome.ok:
                    cell.problem = outcome.problem
                    say(f"  {contender.label} on {workload.name}: {outcome.problem}")
                    continue
                cell.throughputs.append(tables.run_throughput(outcome.result))
                cell.peak_payload = outcome.result["peak_payload"]
                cell.rss_growth = max(cell.rss_growth, 1024 * (
                    outcome.result["rss_peak_kib"] - outcome.result["rss_base_kib"]))
        say(f"round {round_index + 1}/{plan.rounds} done in {time.monotonic() - started:.0f} s")


def counting_runs(driver: Path, contenders: list[Contender], chosen: list[wl.Workload],
                  plan: Plan, cells: tables.Cells) -> None:
    for workload in chosen:
        for contender in contenders:
            cell = cells[contender.name, workload.name]
            if cell.problem:
                continue
            # strace stops the tracee at every memory call: twice the time of a timed run
            outcome = measure.counting_run(driver, contender, workload.spec,
                                           COUNTING_SLOWDOWN * plan.timeout, plan.budget,
                                           COUNTING_SLOWDOWN * plan.fill_limit)
            if not outcome.ok:
                cell.counting_problem = outcome.problem
                continue
            calls = measure.count_memory_calls(outcome.trace, outcome.result["brk_start"])
            passes = outcome.result["passes"]
            # the steady state's filling (pass 0) is not counted: it is no steady state
            cell.calls_per_op = (calls.per_pass.get(1, 0) / max(1, passes[0][0]),
                                 calls.per_pass.get(2, 0) / max(1, passes[1][0]))
            cell.peak_footprint = calls.peak_footprint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--osmem", type=Path, help="an os_* library or source dir (OSMEM=)")
    parser.add_argument("--traces", type=Path, help="a directory of *.rep traces (TRACES=)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds, shorter runs")
    parser.add_argument("--rounds", type=int, help="override the number of rounds")
    parser.add_argument("--timeout", type=float, help="override the seconds one run may take")
    parser.add_argument("--driver", type=Path, default=ROOT / "build" / "bench" / "bench_replay")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.rounds:
        plan = Plan(**{**asdict(plan), "rounds": args.rounds})
    if args.timeout:
        plan = Plan(**{**asdict(plan), "timeout": args.timeout})
    if not args.driver.exists():
        say(f"bench: {args.driver} is missing (make bench builds it)")
        return 2

    contenders = choose_contenders(args.osmem, args.out / "contenders")
    chosen = wl.generate(args.out / "workloads")
    if args.traces:
        try:
            chosen += wl.external(args.traces)
        except ValueError as error:
            say(f"bench: {error}")
            return 2
    chosen += [wl.steady(n, plan.steady_steps) for n in STEADY_LIVE]
    cells: tables.Cells = {(c.name, w.name): tables.Cell(problem=c.problem,
                                                         osmem_api=c.osmem_api)
                           for c in contenders for w in chosen}
    say(f"bench: {len(contenders)} contenders, {len(chosen)} workloads, {plan.rounds} rounds")
    started = time.monotonic()
    timed_rounds(args.driver, contenders, chosen, plan, cells)
    say("counting brk/mmap calls (strace, untimed)")
    counting_runs(args.driver, contenders, chosen, plan, cells)

    requests = {w.name: wl.read_requests(Path(w.spec)) for w in chosen if w.kind != "steady"}
    floors = {name: wl.mmap_floor(ops) for name, ops in requests.items()}
    op_counts = {name: len(ops) for name, ops in requests.items()}
    means = {kind: tables.mean_workloads([w for w in chosen if w.kind == kind], floors, op_counts)
             for kind in ("kit", "external")}
    means = {("kit traces" if kind == "kit" else f"traces of {args.traces}"): names
             for kind, names in means.items() if names}
    names = [c.name for c in contenders]
    labels = {c.name: c.label for c in contenders}
    text = [f"# make bench on {time.strftime('%Y-%m-%d')}, {plan.rounds} rounds "
            f"({time.monotonic() - started:.0f} s)", "",
            METHOD, ""]
    text += [f"{c.label}: {c.note}." for c in contenders if c.note] + [""]
    text += [tables.summary_table(cells, names, labels, chosen, means, floors), ""]
    for workload in chosen:
        floor = floors.get(workload.name)
        text += [tables.workload_table(cells, names, labels, workload,
                                       op_counts.get(workload.name, 0), floor), ""]
    markdown = "\n".join(text)

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.md").write_text(markdown)
    (args.out / "results.json").write_text(json.dumps(
        {f"{c} | {w}": asdict(cell) for (c, w), cell in cells.items()}, indent=1))
    traces = [w for w in chosen if w.kind != "steady"]
    bars = {w.name: {labels[c]: r for c in names
                     if (r := tables.ratio(cells, c, w.name)) is not None} for w in traces}
    (args.out / "ratios.svg").write_text(pictures.ratio_bars(
        bars, [labels[c] for c in names], "throughput / glibc's, per trace (log scale)"))
    lines = {labels[c]: {w.live: t for w in chosen if w.kind == "steady"
                         if (t := cells[c, w.name].throughput) is not None} for c in names}
    (args.out / "steady.svg").write_text(pictures.throughput_lines(
        lines, "steady state: allocator calls per second against live blocks"))
    print(markdown)
    say(f"bench: {args.out / 'report.md'}, {args.out / 'ratios.svg'}, "
        f"{args.out / 'steady.svg'}, {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

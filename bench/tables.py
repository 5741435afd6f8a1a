"""From the runs' results to figures: medians and their spread, ratios to glibc, utilisation,
memory calls per call; and the tables (markdown, which reads as plain text too).

Invariants:
  - a run's throughput is the allocator calls of its timed passes over their seconds (the
    checking pass, which writes and reads every byte, is never timed);
  - a cell's figure is the median over rounds, its spread half the range over rounds, as a
    percentage of the median; a ratio is a median over glibc's median on the same workload;
  - a cell that timed out or failed shows why, and takes no part in a ratio or a mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from workloads import STEADY_SIZES, Workload


def run_throughput(result: dict) -> float:
    """Calls per second over the timed passes of one bench_replay result."""
    timed = result["passes"][1:]
    calls = sum(calls for calls, _ in timed)
    seconds = sum(seconds for _, seconds in timed)
    return calls / seconds if seconds > 0 else math.inf


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def spread(values: list[float]) -> float:
    """Half the range, relative to the median (0.05 = ±5 %)."""
    return (max(values) - min(values)) / 2 / median(values)


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


@dataclass
class Cell:
    """One contender on one workload."""

    throughputs: list[float] = field(default_factory=list)   # one per round
    problem: str = ""
    peak_payload: int = 0
    rss_growth: int = 0             # bytes: peak RSS over the passes minus RSS before them
    peak_footprint: int = 0         # bytes: brk extent + live mappings (counting run)
    calls_per_op: tuple[float, float] | None = None    # memory calls per call: pass 1, pass 2
    counting_problem: str = ""
    osmem_api: bool = False         # brk+mmap footprint is meaningful (no reservation ahead)

    @property
    def throughput(self) -> float | None:
        return median(self.throughputs) if self.throughputs and not self.problem else None

    @property
    def util_rss(self) -> float | None:
        return self.peak_payload / self.rss_growth if self.rss_growth > 0 else None

    @property
    def util_mapped(self) -> float | None:
        """Only for os_* libraries: the malloc contenders map their arenas before the first
        call the passes make, so their brk/mmap calls are not their footprint."""
        if not self.osmem_api or self.peak_footprint <= 0:
            return None
        return self.peak_payload / self.peak_footprint


Cells = dict[tuple[str, str], Cell]     # (contender name, workload name) -> Cell


def ratio(cells: Cells, contender: str, workload: str, baseline: str = "glibc") -> float | None:
    mine, base = cells[contender, workload].throughput, cells[baseline, workload].throughput
    return mine / base if mine is not None and base else None


def _si(value: float) -> str:
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def _percent(value: float | None) -> str:
    return f"{100 * value:.1f} %" if value is not None else "-"


def _times(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}×" if value < 10 else f"{value:.1f}×"


def mean_workloads(workloads: list[Workload], floors: dict[str, int],
                   op_counts: dict[str, int]) -> list[str]:
    """The traces a mean runs over: not the steady state, not a trace the contract binds to
    mmap calls (floor of at least one mmap/munmap per 10 calls), which is shown apart."""
    return [w.name for w in workloads if w.kind != "steady"
            and floors.get(w.name, 0) < 0.1 * op_counts.get(w.name, 1)]


def summary_table(cells: Cells, contenders: list[str], labels: dict[str, str],
                  workloads: list[Workload], mean_over: dict[str, list[str]],
                  floors: dict[str, int]) -> str:
    """Contenders by rows: geomean ratio per group of traces, each trace left out of the means
    (with its floor), then each N of the steady state."""
    steady = [w for w in workloads if w.kind == "steady"]
    averaged = {name for names in mean_over.values() for name in names}
    apart = [w for w in workloads if w.kind != "steady" and w.name not in averaged]
    head = [f"geomean × glibc, {group} ({len(names)})" for group, names in mean_over.items()]
    head += [f"{w.name} (floor: {floors.get(w.name, 0)} mmap/munmap)" for w in apart]
    head += [f"N = {w.live:,}".replace(",", " ") for w in steady]
    lines = ["| | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
    for name in contenders:
        row = []
        for names in mean_over.values():
            ratios = [ratio(cells, name, w) for w in names]
            present = [r for r in ratios if r is not None]
            row.append(_times(geomean(present)) + ("" if len(present) == len(ratios) else
                       f" ({len(ratios) - len(present)} missing)") if present else "-")
        for w in apart:
            cell = cells[name, w.name]
            row.append(cell.problem or _times(ratio(cells, name, w.name)))
        for w in steady:
            cell = cells[name, w.name]
            if cell.problem:
                row.append(cell.problem)
            elif name == "glibc":
                row.append(f"{_si(cell.throughput or 0)} calls/s")
            else:
                row.append(_times(ratio(cells, name, w.name)))
        lines.append(f"| {labels[name]} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def workload_table(cells: Cells, contenders: list[str], labels: dict[str, str],
                   workload: Workload, calls: int, floor: int | None) -> str:
    title = f"**{workload.name}**"
    if workload.kind == "steady":
        title += f" ({workload.live} live blocks of {STEADY_SIZES[0]}..{STEADY_SIZES[1]} bytes;" \
                 " a step frees one at random and allocates one)"
    else:
        title += f" ({calls} calls a pass"
        if floor:
            title += f"; the contract's floor: {floor} mmap/munmap calls, " \
                     f"{floor / calls:.3f} per call"
        title += ")"
    lines = [title, "",
             "| contender | calls/s (median ± half range) | × glibc | utilisation (RSS) "
             "| utilisation (brk+mmap) | brk/mmap calls per call, pass 1 / pass 2 |",
             "|---|---|---|---|---|---|"]
    for name in contenders:
        cell = cells[name, workload.name]
        if cell.problem:
            lines.append(f"| {labels[name]} | {cell.problem} | | | | |")
            continue
        figure = f"{_si(cell.throughput or 0)} ± {100 * spread(cell.throughputs):.0f} % " \
                 f"({len(cell.throughputs)})"
        per_call = (f"{cell.calls_per_op[0]:.3g} / {cell.calls_per_op[1]:.3g}"
                    if cell.calls_per_op else cell.counting_problem or "-")
        lines.append(f"| {labels[name]} | {figure} | {_times(ratio(cells, name, workload.name))}"
                     f" | {_percent(cell.util_rss)} | {_percent(cell.util_mapped)} "
                     f"| {per_call} |")
    return "\n".join(lines)

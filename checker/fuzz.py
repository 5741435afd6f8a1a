"""Random differential testing: hypothesis writes operation scripts, the model judges them.

Each example is a script (opscript.py) written while stepping the model, so that its sizes aim
at where allocator bugs live: both mmap thresholds +-8 (131032 heap / 131033 mapped for malloc
and realloc; 4056 / 4057 for calloc, whose threshold is the page), sizes that fit a free run
exactly or leave a remainder of 32 or 40 (split or not), zero, the page size, many blocks of one
size (best-fit ties), runs of adjacent frees (coalescing), stale pointers to FREE blocks,
reallocs that absorb one, two or all FREE successors (and one byte more: brk-grow the last
block, or move), heap <-> mapped moves. differential.py runs it with tests/replay under the
tracer and compares call by call. On a divergence hypothesis shrinks the script; the minimal
one is saved as build/fuzz/minimal-<hash>.ops, which ``make replay OPS=...`` re-runs.

Command line (the Makefile's ``fuzz`` and ``replay`` targets)::

    fuzz.py fuzz [--osmem LIB] [--runs N] [--seed S] [--tracer T] [--out DIR]
    fuzz.py replay OPS [--osmem LIB] [--tracer T]

Exit status: 0 no divergence, 1 a divergence, 2 the implementation or the script is unusable.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import hypothesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st

from catalogue import ROOT
from differential import Outcome, run_script
from grade import Settings
from model import META, ModelError
from opscript import MAX_ID, Op, ScriptError, Simulation, render
from run import MARKERS_LIB, TRACERS
from submission import prepare

OUT_DIR = ROOT / "build" / "fuzz"
DEFAULT_RUNS = 500         # about a minute on a 2-core machine, sandboxed, with strace
MAX_OPS = 48               # operations per script (each uses at most one new ID)
SHRINK_BUDGET = 2000       # replays spent shrinking one divergence at most
PROGRESS_EVERY = 60.0      # seconds between two progress lines of the command

HEAP_MAX = 131032          # largest heap request of os_malloc / os_realloc
CALLOC_HEAP_MAX = 4056     # largest heap total of os_calloc (32 + 4056 < 4096)
PAGE = 4096
REMAINDERS = (0, 32, 40, 8, 24, 48)        # run size - need: split iff >= 40
REALLOC_DELTAS = (0, 8, -8, 32, -32, 40, -40, 64)

Draw = Callable[[st.SearchStrategy], object]


# ---- sizes ----------------------------------------------------------------------------------

def around(value: int, spread: int = 8) -> st.SearchStrategy[int]:
    return st.integers(max(value - spread, 1), value + spread)


def fixed_sizes() -> st.SearchStrategy[int]:
    """Sizes that matter whatever the heap holds (small first: shrinking goes that way)."""
    return st.one_of(st.integers(1, 64), st.sampled_from((0, 8, 24, 32, 40, 100, 1000, PAGE)),
                     around(HEAP_MAX), around(CALLOC_HEAP_MAX), around(PAGE),
                     st.integers(1, 5000), st.integers(HEAP_MAX + 9, 300000))


def request_for(need: int, slack: int) -> int:
    """A request whose ALIGN8 is ``need`` (``slack`` 0..7 bytes less), never negative."""
    return max(need - slack, 0) if need > 0 else 0


def fitting_sizes(sim: Simulation) -> st.SearchStrategy[int] | None:
    """Requests that fit a free run exactly or with a chosen remainder (split or not)."""
    runs = sim.free_runs()
    if not runs:
        return None
    return st.builds(lambda run, rem, slack: request_for(run - rem, slack),
                     st.sampled_from(runs), st.sampled_from(REMAINDERS), st.integers(0, 7))


def equal_sizes(sim: Simulation) -> st.SearchStrategy[int] | None:
    """The size of a block already live (best-fit ties once such blocks are freed)."""
    sizes = sorted(set(sim.sizes.values()))
    return st.sampled_from(sizes) if sizes else None


def heap_aware_sizes(sim: Simulation) -> st.SearchStrategy[int]:
    choices = [s for s in (fitting_sizes(sim), equal_sizes(sim)) if s is not None]
    return st.one_of(fixed_sizes(), *choices)


def growth_targets(sim: Simulation, ident: int) -> list[int]:
    """Payload sizes the block of ``ident`` reaches by absorbing 0, 1, 2 ... all successors."""
    block = sim.block_of(ident)
    if block is None:
        return []
    successors, _ = sim.successors(ident)
    targets = [block.size]
    for size in successors:
        targets.append(targets[-1] + META + size)
    return targets


def realloc_sizes(sim: Simulation, ident: int) -> st.SearchStrategy[int]:
    targets = growth_targets(sim, ident)
    if not targets:
        return heap_aware_sizes(sim)
    aimed = st.builds(lambda target, delta, slack: request_for(target + delta, slack),
                      st.sampled_from(targets), st.sampled_from(REALLOC_DELTAS),
                      st.integers(0, 7))
    return st.one_of(aimed, heap_aware_sizes(sim))


def calloc_shapes(sim: Simulation) -> st.SearchStrategy[tuple[int, int]]:
    totals = st.one_of(around(CALLOC_HEAP_MAX), around(PAGE), heap_aware_sizes(sim))
    return st.one_of(st.tuples(st.just(1), totals), st.tuples(totals, st.just(1)),
                     st.tuples(st.integers(0, 16), st.integers(0, 600)))


# ---- steps ----------------------------------------------------------------------------------

ACTIONS = ("malloc", "free", "realloc", "malloc", "free", "realloc", "calloc", "burst",
           "free_run", "stale", "realloc_new")


def _perform(sim: Simulation, ops: list[Op]) -> None:
    for op in ops:
        if len(sim.ops) >= MAX_OPS or op.id > MAX_ID:
            return
        try:
            sim.apply(op)
        except ModelError:
            return  # not defined by the contract: leave it out of the script


def _live_heap_ids(sim: Simulation) -> list[int]:
    """Live IDs with a heap block, in address order."""
    placed = [(block.offset, ident) for ident in sim.live
              if (block := sim.block_of(ident)) is not None]
    return [ident for _, ident in sorted(placed)]


def _action_ops(draw: Draw, sim: Simulation, action: str) -> list[Op]:
    live = sorted(sim.live)
    new = sim.fresh_id()
    if action == "free" and live:
        return [Op("free", draw(st.sampled_from(live)))]
    if action == "realloc" and live:
        ident = draw(st.sampled_from(live))
        return [Op("realloc", ident, (draw(realloc_sizes(sim, ident)),))]
    if action == "calloc":
        return [Op("calloc", new, draw(calloc_shapes(sim)))]
    if action == "burst":
        size, count = draw(heap_aware_sizes(sim)), draw(st.integers(2, 6))
        return [Op("malloc", new + k, (size,)) for k in range(count)]
    if action == "free_run":
        placed = _live_heap_ids(sim)
        if placed:
            start = draw(st.integers(0, len(placed) - 1))
            run = placed[start:start + draw(st.integers(1, 4))]
            order = run if draw(st.booleans()) else run[::-1]
            return [Op("free", ident) for ident in order]
    if action == "stale" and (stale := sim.stale_free_ids()):
        ident = draw(st.sampled_from(stale))
        if draw(st.booleans()):
            return [Op("free", ident)]
        return [Op("realloc", ident, (draw(fixed_sizes()),))]
    if action == "realloc_new":
        return [Op("realloc", new, (draw(heap_aware_sizes(sim)),))]
    return [Op("malloc", new, (draw(heap_aware_sizes(sim)),))]


@st.composite
def _step(draw: Draw, sim: Simulation) -> bool:
    """One step (a stop flag, then one or a few lines) applied to ``sim``; False: stop."""
    if draw(st.integers(0, 12)) == 0:
        return False
    _perform(sim, _action_ops(draw, sim, draw(st.sampled_from(ACTIONS))))
    return True


@st.composite
def scripts(draw: Draw, max_ops: int = MAX_OPS) -> list[Op]:
    """A script of at most ``max_ops`` operations, each defined by the contract."""
    sim = Simulation()
    while len(sim.ops) < max_ops and draw(_step(sim)):
        pass
    return sim.ops


# ---- the fuzzing loop -----------------------------------------------------------------------

@dataclass(frozen=True)
class Report:
    runs: int                        # distinct scripts replayed (generation and shrinking)
    seconds: float
    found_at: int = 0                # the script that diverged first (1-based), 0 if none
    minimal: Path | None = None      # the saved minimal failing script
    ops: int = 0                     # its number of operations
    outcome: Outcome | None = None   # its verdict
    reproduced: bool = False         # replaying the saved file diverges too

    @property
    def passed(self) -> bool:
        return self.minimal is None


class Divergence(AssertionError):
    pass


def _save(ops: list[Op], outcome: Outcome, out_dir: Path, header: list[str]) -> Path:
    body = render(ops)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"minimal-{hashlib.sha1(body.encode()).hexdigest()[:10]}.ops"
    path.write_text(render([], header + [f"first divergence: {outcome.summary}", ""]) + body)
    return path


def fuzz(lib_dir: str, settings: Settings, runs: int, seed: int, out_dir: Path = OUT_DIR,
         label: str = "", max_ops: int = MAX_OPS, shrink_budget: int = SHRINK_BUDGET,
         progress: Callable[[int, float], None] | None = None) -> Report:
    """Replays ``runs`` random scripts; on a divergence shrinks it and saves the minimal one.

    Shrinking replays at most ``shrink_budget`` new scripts after the first divergence; then
    every script not yet replayed counts as passing, so hypothesis settles on the smallest
    failing script it has seen (still a real, replayed failure). ``progress(scripts, seconds)``
    is called every PROGRESS_EVERY seconds while no divergence is found.
    """
    failing: list[tuple[list[Op], Outcome]] = []
    count = found_at = 0
    seen: dict[str, Outcome] = {}
    started = told = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="osmem-fuzz-") as tmp:
        script = Path(tmp) / "script.ops"

        @hypothesis.settings(max_examples=runs, database=None, deadline=None,
                             phases=(Phase.explicit, Phase.generate, Phase.shrink),
                             suppress_health_check=list(HealthCheck), print_blob=False,
                             verbosity=hypothesis.Verbosity.quiet)
        @hypothesis.seed(seed)
        @hypothesis.given(scripts(max_ops))
        def replay_one(ops: list[Op]) -> None:
            nonlocal count, found_at, told
            text = render(ops)
            outcome = seen.get(text)
            if outcome is None and found_at and count - found_at >= shrink_budget:
                outcome = Outcome(True)   # budget spent: keep the smallest failure so far
            if outcome is None:   # shrinking proposes the same script many times
                count += 1
                script.write_text(text)
                outcome = seen[text] = run_script(script, lib_dir, settings)
                if progress and not found_at and time.monotonic() - told >= PROGRESS_EVERY:
                    told = time.monotonic()
                    progress(count, told - started)
            if not outcome.passed:
                found_at = found_at or count
                failing.append((ops, outcome))
                raise Divergence(outcome.summary)

        try:
            replay_one()
        except Exception:
            if not failing:
                raise
    seconds = time.monotonic() - started
    if not failing:
        return Report(count, seconds)
    ops, outcome = failing[-1]   # hypothesis replays the minimal example last
    header = [f"minimal script found by make fuzz (seed {seed}, {label or lib_dir})"]
    path = _save(ops, outcome, out_dir, header)
    again = run_script(path, lib_dir, settings)
    return Report(count, seconds, found_at, path, len(ops), outcome, not again.passed)


# ---- command line ---------------------------------------------------------------------------

def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="fuzz.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--osmem", default=str(ROOT / "src" / "libosmem.so"),
                        help="libosmem.so, or a source directory with a Makefile")
    parser.add_argument("--tracer", default="strace", choices=TRACERS)
    parser.add_argument("--run-timeout", type=float, default=10.0)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("fuzz", help="replay random scripts against the model")
    run.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    run.add_argument("--seed", type=int, default=None, help="default: a random seed, printed")
    run.add_argument("--out", type=Path, default=OUT_DIR)
    replay = commands.add_parser("replay", help="replay one script and compare it")
    replay.add_argument("ops", type=Path)
    return parser.parse_args(argv)


def _fuzz_command(lib_dir: str, settings: Settings, args: argparse.Namespace) -> int:
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    print(f"fuzz: {args.runs} random scripts against {args.osmem} (seed {seed}, "
          f"tracer {args.tracer})", flush=True)

    def progress(scripts: int, seconds: float) -> None:
        print(f"fuzz: {scripts} distinct scripts replayed (of {args.runs} examples), "
              f"no divergence, {seconds / 60:.0f} min", flush=True)

    report = fuzz(lib_dir, settings, args.runs, seed, args.out, args.osmem, progress=progress)
    if report.passed:
        print(f"fuzz: no divergence from the model: {args.runs} examples, {report.runs} "
              f"distinct scripts replayed ({report.seconds:.1f} s)")
        return 0
    assert report.outcome is not None and report.minimal is not None
    print(f"fuzz: DIVERGENCE in script {report.found_at}; shrunk in {report.runs} scripts in all "
          f"({report.seconds:.1f} s) to {report.ops} operations:\n{report.minimal.read_text()}")
    print(report.outcome.details)
    print(f"\nminimal script: {report.minimal}"
          f"{'' if report.reproduced else ' (replaying it did NOT diverge again: flaky?)'}")
    print(f"re-run it with: make replay OPS={report.minimal} OSMEM={args.osmem}")
    return 1


def _replay_command(lib_dir: str, settings: Settings, args: argparse.Namespace) -> int:
    outcome = run_script(args.ops, lib_dir, settings)
    if outcome.passed:
        print(f"replay: {args.ops}: all {outcome.calls} calls as the model predicts")
        return 0
    print(f"replay: {args.ops}: diverges from the model after {outcome.calls} calls\n"
          f"{outcome.details}")
    return 1


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    settings = Settings(args.tracer, MARKERS_LIB, args.run_timeout)
    with tempfile.TemporaryDirectory(prefix="osmem-impl-") as workdir:
        implementation = prepare(Path(args.osmem).resolve(), Path(workdir))
        if implementation.problem or implementation.lib_dir is None:
            print(f"{args.command}: {args.osmem}: {implementation.problem}", file=sys.stderr)
            return 2
        try:
            if args.command == "replay":
                return _replay_command(implementation.lib_dir, settings, args)
            return _fuzz_command(implementation.lib_dir, settings, args)
        except (OSError, ScriptError) as error:
            print(f"{args.command}: {error}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

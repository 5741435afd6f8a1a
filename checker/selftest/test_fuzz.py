"""Random differential testing: clean on the reference, catches what fixed programs miss.

* opscript: the script format and the model's view of a script, on exact examples.
* A short fixed-seed fuzz run of the reference library finds no divergence (`make test`
  replays REFERENCE_SAMPLE_RUNS scripts of the seed, `make test-full` REFERENCE_RUNS).
* For each broken allocator named below (checker/selftest/broken/<name>.patch), a fixed-seed
  fuzz run diverges, shrinks to a small script, saves it, and replaying the saved file diverges
  at the same call with the same summary (what ``make replay OPS=...`` shows). A fuzz run
  costs minutes: `make test` runs one of them, `make test-full` all four.
* Known minimal scripts replay exactly: each diverges at a pinned call on its broken allocator
  and is clean on the reference.

Seeds are fixed (``hypothesis.seed``), the example database is off and there is no deadline, so
every run replays the same scripts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import differential
from differential import run_script
from grade import Settings
from fuzz import fuzz
from opscript import Op, ScriptError, Simulation, parse_script, render
from submission import Implementation
from support import BROKEN, build_patched, settings_for

SEED = 1
REFERENCE_RUNS = 100
REFERENCE_SAMPLE_RUNS = 30
BROKEN_RUNS = 400        # every target below diverges within its first 150 scripts (seed 1)
MAX_MINIMAL_OPS = 8

# A minimal script for each broken allocator, the call where it diverges and the summary.
KNOWN = {
    "eager-coalesce-in-free": (
        "malloc 0 1\nmalloc 1 1\nfree 0\nfree 1\nfree 1\n", 4,
        "call #5: expected os_free(HeapStart + 0x48), got os_free(HeapStart + 0x48) = "
        "<never returned: killed by SIGABRT>"),
    "best-fit-ties-last": (
        "malloc 0 1\nmalloc 1 1\nmalloc 2 1\nmalloc 3 1\nfree 2\nfree 0\nmalloc 4 1\n", 6,
        "call #7: expected os_malloc(1) = HeapStart + 0x20, got os_malloc(1) = HeapStart + 0x70"),
    "split-remainder-32": (
        "malloc 0 131008\nmalloc 1 1\n", 1,
        "call #2: expected os_malloc(1) = HeapStart + 0x20020, "
        "got os_malloc(1) = HeapStart + 0x20000"),
    "realloc-move-instead-of-grow": (
        "malloc 0 1\nmalloc 1 1\nrealloc 1 131024\n", 2,
        "call #3: expected os_realloc(HeapStart + 0x48, 131024) = HeapStart + 0x48, "
        "got os_realloc(HeapStart + 0x48, 131024) = HeapStart + 0x20020"),
}


@pytest.fixture(scope="module")
def broken_libs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """name -> directory holding the built broken libosmem.so."""
    libs = {}
    for name in KNOWN:
        library = build_patched(BROKEN / f"{name}.patch", tmp_path_factory.mktemp(name))
        libs[name] = str(library.parent)
    return libs


# ---- the script format and the model's view ------------------------------------------------

def test_script_round_trip() -> None:
    text = "# a comment\nmalloc 0 10\n\ncalloc 1 3 7  # trailing\nrealloc 0 0\nfree 9\n"
    ops = [op for _, op in parse_script(text)]
    assert ops == [Op("malloc", 0, (10,)), Op("calloc", 1, (3, 7)), Op("realloc", 0, (0,)),
                   Op("free", 9)]
    assert [number for number, _ in parse_script(text)] == [2, 4, 5, 6]
    assert render(ops, ["hi"]) == "# hi\nmalloc 0 10\ncalloc 1 3 7\nrealloc 0 0\nfree 9\n"


@pytest.mark.parametrize("line", ["malloc 0", "free 1 2", "brk 0 1", "malloc x 1", "free 256"])
def test_bad_lines(line: str) -> None:
    with pytest.raises(ScriptError):
        parse_script(line)


def test_simulation_pointers_and_stale_ids() -> None:
    sim = Simulation()
    for op in (Op("malloc", 0, (8,)), Op("malloc", 1, (8,)), Op("free", 0), Op("free", 1),
               Op("realloc", 2, (131033,))):
        sim.apply(op)
    assert sim.live == {2: "<mapped-addr1> + 0x20"}
    assert sim.stale == {0: "HeapStart + 0x20", 1: "HeapStart + 0x48"}
    assert sim.stale_free_ids() == [0, 1]
    assert sim.free_runs() == [131040]
    assert sim.apply(Op("free", 1)).head() == "os_free(HeapStart + 0x48)"
    sim.apply(Op("malloc", 3, (16,)))   # coalesced, reused at +0x20, split at +0x50
    assert sim.live[3] == "HeapStart + 0x20"
    assert sim.stale_free_ids() == []   # +0x20 is ALLOC, +0x48 is no block any more
    assert sim.pointer(7) == "0"


def test_successors_reach_the_end() -> None:
    sim = Simulation()
    for op in (Op("malloc", 0, (8,)), Op("malloc", 1, (16,)), Op("malloc", 2, (24,)),
               Op("free", 1)):
        sim.apply(op)
    assert sim.successors(0) == ([16], False)
    assert sim.successors(2) == ([130896], True)


# ---- fuzzing --------------------------------------------------------------------------------

@pytest.mark.heavy
def test_reference_is_clean(reference: Implementation, tmp_path: Path, full: bool) -> None:
    assert reference.lib_dir is not None
    runs = REFERENCE_RUNS if full else REFERENCE_SAMPLE_RUNS
    report = fuzz(reference.lib_dir, settings_for("strace"), runs, SEED, tmp_path)
    assert (report.passed, report.found_at, report.minimal) == (True, 0, None)
    assert runs // 2 <= report.runs <= runs   # distinct scripts replayed
    assert list(tmp_path.iterdir()) == []


# The tests on the broken allocators run on one pytest-xdist worker, which builds them once.
@pytest.mark.heavy
@pytest.mark.xdist_group("fuzz-broken")
@pytest.mark.sample(1)
@pytest.mark.parametrize("name", sorted(KNOWN))
def test_fuzz_catches_broken_allocator(name: str, broken_libs: dict[str, str],
                                       tmp_path: Path) -> None:
    settings = settings_for("strace")
    report = fuzz(broken_libs[name], settings, BROKEN_RUNS, SEED, tmp_path, name)
    assert not report.passed, f"{name}: {report.runs} scripts, no divergence"
    assert report.minimal is not None and report.outcome is not None
    assert report.minimal.parent == tmp_path and report.minimal.name.startswith("minimal-")
    assert 1 <= report.ops <= MAX_MINIMAL_OPS, report.minimal.read_text()
    assert report.reproduced
    again = run_script(report.minimal, broken_libs[name], settings)
    assert (again.passed, again.divergence, again.summary) == \
        (False, report.outcome.divergence, report.outcome.summary)


@pytest.mark.heavy
@pytest.mark.xdist_group("fuzz-broken")
@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_minimal_script_replays(name: str, broken_libs: dict[str, str],
                                      reference: Implementation, tmp_path: Path) -> None:
    text, call, summary = KNOWN[name]
    script = tmp_path / f"{name}.ops"
    script.write_text(text)
    settings = settings_for("strace")
    outcome = run_script(script, broken_libs[name], settings)
    assert (outcome.passed, outcome.divergence, outcome.summary) == (False, call, summary)
    assert reference.lib_dir is not None
    clean = run_script(script, reference.lib_dir, settings)
    assert (clean.passed, clean.calls) == (True, text.count("\n"))


# Free blocks of 4 KiB and more are indexed by size class (an eighth of a power of two): the
# best fit may lie in need's own class above need (call 16: 9000 of [8192, 9216), not 8200
# below it), or only in the next class, whose smallest wins (call 17: 9500 of [9216, 10240)
# before 9600 and the rest of the preallocation), a tie going to the lower address (call 18).
# The model decides each address; the test fails when the library's differs.
SIZE_CLASS_SCRIPT = "".join(f"malloc {i} {size}\nmalloc {i + 1} 16\n" for i, size in
                            ((0, 8200), (2, 9600), (4, 9000), (6, 9500), (8, 9600))) \
    + "free 0\nfree 2\nfree 4\nfree 6\nfree 8\nmalloc 10 8600\nmalloc 11 8300\nmalloc 12 9550\n"


def test_best_fit_across_size_classes_matches_the_model(reference: Implementation,
                                                         tmp_path: Path) -> None:
    script = tmp_path / "size-classes.ops"
    script.write_text(SIZE_CLASS_SCRIPT)
    outcome = run_script(script, reference.lib_dir, settings_for("strace"))
    assert (outcome.passed, outcome.divergence, outcome.calls) == (True, None, 18), outcome.summary


def test_scripts_run_with_the_heap_invariants_checked(tmp_path: Path, reference,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Every replayed script runs with OSMEM_CHECK=1 (the invariants after every call
    of the fuzz tests), on top of whatever options the caller gave."""
    seen: list[Settings] = []
    real_observe = differential.observe
    monkeypatch.setattr(differential, "observe",
                        lambda program, lib_dir, settings: seen.append(settings)
                        or real_observe(program, lib_dir, settings))
    script = tmp_path / "one.ops"
    script.write_text("malloc 0 10\nfree 0\n")
    assert run_script(script, reference.lib_dir, settings_for("strace")).passed
    assert seen[0].options.env == (("OSMEM_CHECK", "1"),)

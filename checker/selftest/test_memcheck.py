"""`make memcheck`: the annotated library makes os_* misuse visible to valgrind.

Every graded program must be clean (no definite error; header reads and double frees are what
the contract allows), each deliberately buggy program in tests/misuse/ must be reported with
exactly the kind its comment declares, at its own source line, and memcheck's count of blocks
still allocated at exit must equal the model's. The graded build carries no annotation.
Without --full, an even sample of the graded programs runs under valgrind.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

import catalogue
import memcheck
from cached import once_per_run
from selftest_plugin import sampled
from support import ROOT

VALGRIND_MAGIC = bytes.fromhex("48c1c70348c1c70d48c1c73d48c1c733")  # rol $3/13/61/51, %rdi


SAMPLE = 8                   # graded programs under valgrind without --full
NAMED = ("free-twice-heap",)  # graded programs a test below names


def chosen(full: bool) -> list[memcheck.Subject]:
    """Every program under --full; otherwise the misuses, the programs named below and an even
    sample of the others (valgrind costs seconds a program)."""
    subjects = memcheck.subjects()
    if full:
        return subjects
    return sampled(subjects, SAMPLE, lambda s: s.deliberate or s.name in NAMED)


def _reports(full: bool) -> dict[str, memcheck.Report]:
    subprocess.run(["make", "-s", "memcheck-build"], cwd=ROOT, check=True,
                   capture_output=True)
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = pool.map(lambda s: memcheck.check(s, memcheck.MEMCHECK_DIR), chosen(full))
    return {r.subject.name: r for r in reports}


# Every test here reads the one set of reports: one pytest-xdist worker runs them all (the
# other one would wait for it), first since it takes long.
pytestmark = [pytest.mark.xdist_group("memcheck"), pytest.mark.heavy]


@pytest.fixture(scope="module")
def reports(full: bool) -> dict[str, memcheck.Report]:
    return once_per_run("memcheck", lambda: _reports(full))


@pytest.mark.parametrize("program, kind, line", [
    ("leak", "leak", "leak.c:17"),
    ("use-after-free", "use after free", "use-after-free.c:21"),
    ("overflow", "overflow", "overflow.c:19"),
    ("uninit", "uninitialised read", "uninit.c:20"),
])
def test_deliberate_bug_reported(reports, program, kind, line):
    report = reports[program]
    assert not report.problem, report.problem
    assert report.kinds() == {kind}, memcheck.render(report)
    assert any(f.kind == kind and line in f.where for f in report.findings), \
        memcheck.render(report)


def test_leak_program_counts(reports):
    report = reports["leak"]
    leaks = [f for f in report.findings if f.kind == "leak"]
    assert sum(f.blocks for f in leaks) == 3, memcheck.render(report)
    assert report.still_allocated() == 4 and report.model_blocks == 4, memcheck.render(report)
    assert "<mapped-addr1> + 0x20 (size 200000)" in report.model


def test_ordinary_programs_clean(reports, full, record_property):
    ordinary = [r for r in reports.values() if not r.subject.deliberate]
    assert len(ordinary) == (len(catalogue.graded_programs()) if full
                             else SAMPLE + len(NAMED))
    dirty = [memcheck.render(r) for r in ordinary if not r.ok]
    record_property("reliability", ("memcheck runs (clean graded programs)",
                                    len(ordinary) - len(dirty)))
    assert not dirty, "\n".join(dirty)


def test_contract_misuse_is_allowed_not_hidden(reports):
    # free-twice-heap frees a FREE block on purpose (rule 13); in the default profile it reads
    # no header (only PROFILE=layout does).
    report = reports["free-twice-heap"]
    assert report.ok and report.kinds(failing=False) == {"double free"}


def test_model_agrees_on_blocks_at_exit(reports):
    disagree = [memcheck.render(r) for r in reports.values()
                if r.model_blocks is not None and r.model_blocks != r.still_allocated()]
    assert not disagree, "\n".join(disagree)


def test_graded_build_has_no_annotations(reports):
    assert VALGRIND_MAGIC in (memcheck.MEMCHECK_DIR / "libosmem.so").read_bytes()
    graded = (ROOT / "src" / "libosmem.so").read_bytes()
    assert VALGRIND_MAGIC not in graded and b"__asan" not in graded

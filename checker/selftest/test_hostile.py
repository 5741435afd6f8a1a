"""The checker survives hostile submissions: each one fails the affected programs with a
one-line reason, and the run still prints every row and the total, in bounded time.

Each case is graded the way a user grades it, through the pytest checker in a subprocess
(`make check OSMEM=...` runs the same command), and the score table it prints is read back.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import catalogue
from support import ROOT

HOSTILE = ROOT / "checker" / "selftest" / "hostile"
RUN_TIMEOUT = 4.0   # per program; the slowest graded program takes 0.4 s unloaded
WALL_CLOCK_BOUND = 150.0
ROW = re.compile(r"^(?P<program>\S+)\s+(?P<earned>\d+)/(?P<points>\d+)\s+"
                 r"(?P<result>passed|failed)\s*(?P<reason>.*)$")
TOTAL = re.compile(r"^Total: (?P<earned>\d+)/(?P<possible>\d+)", re.MULTILINE)


@dataclass(frozen=True)
class Case:
    name: str
    reason: str                   # a regex that the reason of every affected row matches
    affected: str = "."           # a regex of the programs it must fail (the others may pass)
    program: str | None = None    # grade only this program (for the costly cases)


CASES = [
    # os_realloc(p, 0) frees inside the library, not through the hostile os_free: realloc-*
    # programs may pass.
    Case("segfault", r"^crashed: killed by SIGSEGV", affected="^(malloc|calloc)-"),
    Case("abort", r"^crashed: killed by SIGABRT", affected="^realloc-"),
    Case("hang", rf"^timed out after {RUN_TIMEOUT:g} s", affected="^calloc-"),
    Case("exit", r"^program exited with 3", affected="^realloc-"),
    Case("flood", r"^flooded its output: more than 64 MiB", program="malloc-arrays"),
    Case("garbage", r"(syscall 1 is|extra syscall) write\(2, ", affected="^malloc-"),
    Case("fork", r"(syscall 1 is|extra syscall) clone\(", affected="^malloc-"),
    Case("mremap", r"syscall 1 is mremap\(<mapped-addr1>", affected="^realloc-mmap-to-heap$"),
    # glibc's first malloc seeds its tcache with getrandom, then moves the break.
    Case("libc_malloc", r"syscall 1 is getrandom\(", affected="^malloc-preallocate$"),
    # A program notices the wild pointer itself when its checks run before its first write.
    Case("bad_pointer", r"^crashed: killed by SIGSEGV|returned 0x1000", affected="^malloc-"),
    Case("no_calloc", r"^library lacks os_calloc; program exited with 127", affected="^calloc-"),
]


@dataclass(frozen=True)
class CheckRun:
    returncode: int
    output: str
    seconds: float

    def rows(self) -> dict[str, re.Match[str]]:
        found = (ROW.match(line) for line in self.output.splitlines())
        return {m["program"]: m for m in found if m}


def run_check(osmem: Path, program: str | None = None) -> CheckRun:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
               "-c", "checker/pytest.ini", "--rootdir=checker", "checker/test_grade.py",
               f"--osmem={osmem}", f"--run-timeout={RUN_TIMEOUT}", "-n", "2"]
    if program:
        command.append(f"--program={program}")
    start = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          timeout=WALL_CLOCK_BOUND, errors="replace")
    return CheckRun(done.returncode, done.stdout + done.stderr, time.monotonic() - start)


def build_case(case: str, out: Path) -> Path:
    subprocess.run(["make", "-s", "-C", str(HOSTILE), f"CASE={case}", f"OUT={out}"],
                   check=True, capture_output=True, text=True)
    return out / "libosmem.so"


def assert_graded(run: CheckRun, case: Case) -> None:
    assert run.returncode == 1, f"pytest exit {run.returncode} (1 = tests failed):\n{run.output}"
    rows = run.rows()
    expected = [case.program] if case.program else [p.name for p in catalogue.graded_programs()]
    assert sorted(rows) == sorted(expected), "the table must have a row for every program"
    total = TOTAL.search(run.output)
    assert total, "the table must end with the total"
    assert int(total["earned"]) < int(total["possible"])
    affected = [name for name in rows if re.search(case.affected, name)]
    assert affected, f"no program matches {case.affected}"
    for name in affected:
        row = rows[name]
        assert row["result"] == "failed", f"{name} passed"
        assert re.search(case.reason, row["reason"]), f"{name}: {row['reason']}"
    assert run.seconds < WALL_CLOCK_BOUND


HOSTILE_FIGURE = "hostile submissions graded (failed with a reason, table complete)"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_submission_fails_with_reason(case: Case, tmp_path: Path,
                                              record_property) -> None:
    run = run_check(build_case(case.name, tmp_path), case.program)
    assert_graded(run, case)
    record_property("reliability", (HOSTILE_FIGURE, 1))


def test_missing_symbol_does_not_fail_the_programs_that_do_not_use_it(tmp_path: Path) -> None:
    rows = run_check(build_case("no_calloc", tmp_path)).rows()
    assert all(rows[name]["result"] == "passed" for name in rows if name.startswith("malloc-"))


def test_submission_that_does_not_build(record_property) -> None:
    run = run_check(HOSTILE / "does-not-build")
    reason = "^does not build: osmem\\.c:8:1: error: expected ‘;’ before ‘}’ token$"
    assert_graded(run, Case("does-not-build", reason))
    assert TOTAL.search(run.output)["earned"] == "0"
    record_property("reliability", (HOSTILE_FIGURE, 1))

"""The pytest plugin as a user meets it: `make check TEST=<name>` and its mistakes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from plugin import NEVER_REPORTED, ScoreBoard
from report import shorten_middle, table
from support import ROOT


def run_pytest(*options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                           "-c", "checker/pytest.ini", "--rootdir=checker",
                           "checker/test_grade.py", "-n", "2", *options],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_one_program_is_graded_alone() -> None:
    done = run_pytest("--program=malloc-coalesce")
    assert done.returncode == 0, done.stdout
    rows = [line for line in done.stdout.splitlines() if line.startswith("malloc-")]
    assert rows == ["malloc-coalesce    3/3    passed"]
    assert "Total: 3/3  (1 programs run; all programs are worth 100)" in done.stdout


def test_an_unknown_program_is_a_usage_error() -> None:
    done = run_pytest("--program=malloc-colaesce")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "no graded program named 'malloc-colaesce'; choose one of: all, " in done.stderr
    assert "INTERNALERROR" not in done.stdout + done.stderr


class FakeConfig:
    """What the score board reads of a pytest config: the options."""

    def __init__(self, **options: object) -> None:
        self.options = {"osmem": "lib.so", "tracer": "strace", "profile": "default",
                        "results_json": None, **options}

    def getoption(self, name: str) -> object:
        return self.options[name]


def graded_report(name: str, when: str, outcome: str, longrepr: str = "",
                  points: int | None = None) -> pytest.TestReport:
    props = [("points", points)] if points is not None else []
    return pytest.TestReport(f"test_grade.py::test_program[{name}]", ("test_grade.py", 0, ""),
                             {}, outcome, longrepr or None, when, user_properties=props)


def test_every_collected_program_has_a_row_even_when_its_worker_dies() -> None:
    board = ScoreBoard(FakeConfig())
    names = ["malloc-coalesce", "calloc-arrays", "zero-sizes"]
    board._expect([f"test_grade.py::test_program[{n}]" for n in names])
    board.pytest_runtest_logreport(graded_report("malloc-coalesce", "call", "passed",
                                                 points=3))
    board.pytest_runtest_logreport(graded_report("calloc-arrays", "???", "failed",
                                                 "worker 'gw0' crashed while running it"))
    results = board.results()
    rows = {row["program"]: row for row in results["programs"]}
    assert sorted(rows) == sorted(names)
    assert (rows["malloc-coalesce"]["earned"], rows["malloc-coalesce"]["passed"]) == (3, True)
    assert rows["calloc-arrays"]["earned"] == 0
    assert rows["calloc-arrays"]["reason"] == ("the process grading it died: worker 'gw0' "
                                               "crashed while running it")
    assert rows["zero-sizes"]["reason"] == NEVER_REPORTED
    assert (results["earned"], results["possible"]) == (3, 3 + 2 + 1)


def test_the_first_failure_stands_and_escapes_are_shown() -> None:
    board = ScoreBoard(FakeConfig())
    board.pytest_runtest_logreport(graded_report("zero-sizes", "call", "failed",
                                                 "Total: 100/100\x1b[1A\x1b[2K", points=1))
    board.pytest_runtest_logreport(graded_report("zero-sizes", "teardown", "failed",
                                                 "later"))
    [row] = board.results()["programs"]
    assert row["reason"] == "Total: 100/100\\x1b[1A\\x1b[2K"
    assert "\x1b" not in table(list(board.rows.values()), "t")


def test_results_json_and_report_header(tmp_path) -> None:
    results = tmp_path / "results.json"
    done = run_pytest("--program=malloc-coalesce", f"--results-json={results}",
                      "--profile=layout", "-v")    # -q -v: the default verbosity, with header
    assert done.returncode == 0, done.stdout
    assert ("osmem: library " + str(ROOT / "src" / "libosmem.so") + ", tracer strace, "
            "timeout 10 s, profile layout") in done.stdout
    data = json.loads(results.read_text())
    assert (data["earned"], data["possible"], data["profile"]) == (3, 3, "layout")
    assert data["programs"] == [{"program": "malloc-coalesce", "points": 3, "earned": 3,
                                 "passed": True, "reason": "", "details": "",
                                 "rule": None, "rule_label": "", "hidden": False}]


def test_a_long_reason_keeps_the_end_of_each_part() -> None:
    rule = "call #10 os_malloc(900), rule 9: expected HeapStart + 0xc20, got + 0x20"
    program = "program exited with 1: " + "x" * 200 + " expected HeapStart + 0xc20 [rule 9]"
    short = shorten_middle(f"{rule}; {program}", 160)
    assert len(short) == 160
    first, second = short.split("; ")
    assert first == rule and second.startswith("program exited with 1: xxx")
    assert second.endswith("x expected HeapStart + 0xc20 [rule 9]") and " ... " in second

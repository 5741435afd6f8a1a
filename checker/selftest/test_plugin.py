"""The pytest plugin as a user meets it: `make check TEST=<name>` and its mistakes."""

from __future__ import annotations

import subprocess
import sys

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

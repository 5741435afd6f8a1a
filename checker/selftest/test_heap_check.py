"""The heap invariant checker: osmem_check_heap() and the OSMEM_CHECK=1 hook.

* It sees each kind of corruption (tests/badinput/badinput.c corrupt-*: one header changed
  the way a buggy program would): osmem_check_heap names the first violated invariant, and with
  OSMEM_CHECK=1 the next os_malloc aborts with "os_malloc(): heap check failed: <what>".
* The hook never changes the graded trace: every graded program's syscalls inside os_* calls
  are the same with OSMEM_CHECK=1 as without (it makes no syscalls: registry bookkeeping, not
  mincore), and the programs still pass their own checks (`make test`: an even sample of the
  programs; `make test-full`: all).
"""

from __future__ import annotations

import signal

import pytest

import catalogue
from parse import parse_strace
from traced import run_traced
from test_badinput import run_plain

CORRUPTIONS = {
    "corrupt-size": "size 108 is not a multiple of 8",
    "corrupt-status": "invalid status 7",
    "corrupt-prev": ": prev is 0x",
    "corrupt-next": "(blocks must tile the heap without gaps)",
    "corrupt-tiling": "(blocks must tile the heap without gaps)",
    "corrupt-mapped-status": "status 1, expected MAPPED (2)",
    "corrupt-mapped-size": "invalid size 300001",
    "corrupt-prev-free": "its padding says the block before it is not FREE, but it is FREE",
}


@pytest.mark.parametrize("case", CORRUPTIONS)
def test_corruption_is_reported(case: str) -> None:
    run = run_plain(case, {})
    assert run.returncode == 0, run.stderr
    assert CORRUPTIONS[case] in run.stdout

    checked = run_plain(case, {"OSMEM_CHECK": "1"})
    assert checked.returncode == -signal.SIGABRT, checked.stderr
    assert checked.stderr.startswith("os_malloc(): heap check failed: ")
    assert checked.stderr.count("\n") == 1 and checked.stderr.endswith("\n")


@pytest.mark.sample(16)
@pytest.mark.parametrize("program", [p for p in catalogue.graded_programs() if not p.args],
                         ids=lambda p: p.name)
def test_check_hook_adds_no_syscalls(program: catalogue.Program) -> None:
    plain = run_traced(program.binary, [])
    checked = run_traced(program.binary, [], env={"OSMEM_CHECK": "1"})
    assert plain.returncode == checked.returncode == 0, checked.stderr
    assert parse_strace(checked.trace).calls == parse_strace(plain.trace).calls

"""Syscall faults: every brk and mmap the library makes, made to fail, in every program.

How a fault is injected
    strace's ``-e inject=SYSCALL:...:when=N`` changes the N-th call of that syscall in the
    process. ld.so and libc also call mmap/brk at startup, so N is not "the N-th inside os_*":
    a clean run's marker trace gives, for every brk/mmap made inside an os_* call, its ordinal
    among all calls of that syscall (``traced.fault_positions``). The kernel's brk never
    returns an error, it returns the unchanged break: a failed brk is injected as
    ``retval=<current break>`` (the value before the call, read from the clean trace), which is
    deterministic because the runs use ``setarch -R`` (ASLR off). mmap fails with
    ``error=ENOMEM``. brk(0) queries are not faulted: they cannot fail. A run injects exactly
    one fault.

What is checked, for each graded program P (its ref gives its os_* calls) and each position
    1. The fault driver (tests/faults/fault_driver.c) replays P's calls from a script, under OSMEM_CHECK=1 (the library checks its invariants after every call and
       aborts on a violation). The script is made from P's own clean trace (normalised, so it
       equals P's ref when there is one); the driver's clean run must reproduce that trace
       exactly (the replay is faithful). With the fault, the driver itself checks that the failed call returned NULL
       with errno == ENOMEM, that osmem_heap_digest() (every block's place, size, status, the
       break, the mappings) did not change, that osmem_check_heap() holds and that every live
       block kept its contents; then it repeats the call, which must succeed now that the fault
       is gone, and goes on checking contents and invariants after every call. From the trace
       this test checks that the faulted run is the clean run with one extra call inserted: the
       failed call, with the same arguments, returning 0, whose syscalls are the clean call's
       syscalls up to the faulted one (so nothing was done after the failure, nothing undone
       with extra syscalls) - and every later call, syscall and address exactly as in the clean
       run (no block lost or changed, later calls unaffected).
    2. P itself, with the fault at the same call, under OSMEM_CHECK=1: the trace shows the
       faulted call returning 0 after the same syscall prefix, with the calls before it as in
       the clean run, and P ends by its own complaint (exit 1: it does not tolerate NULL), not
       by a crash or a failed heap check.
    A position counts as survived when all of its checks hold. The totals (faults injected /
    survived) are printed at the end of the run (see selftest_plugin.py).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import catalogue
import events
from compare import compare
from normalise import normalise
from parse import Syscall, TracedCall, parse_strace
from traced import INSTRUMENTS_BIN, FaultPosition, fault_positions, run_traced

DRIVER = INSTRUMENTS_BIN / "fault_driver"
CHECKED = {"OSMEM_CHECK": "1"}
WORKERS = max(2, os.cpu_count() or 2)


def script_from_ref(calls: list[events.Call]) -> str:
    """The fault driver's script for a normalised trace (or a ref): pointers become slots."""
    slot_of: dict[str, int] = {}   # pointer text -> slot of the block last handed out there
    lines: list[str] = []
    slots = 0

    def new_slot() -> int:
        nonlocal slots
        slots += 1
        return slots - 1

    def slot(text: str) -> int:
        return -1 if text == events.NULL else slot_of[text]

    for call in calls:
        ok = int(call.ret not in (None, events.NULL))
        if call.func == "os_free":
            lines.append(f"f {slot(call.args[0])}")
            continue
        if call.func == "os_realloc":
            src = slot(call.args[0])
            dst = src if src >= 0 else new_slot()
            lines.append(f"r {dst} {src} {call.args[1]} {ok}")
        else:
            dst = new_slot()
            kind = "m" if call.func == "os_malloc" else "c"
            lines.append(f"{kind} {dst} {' '.join(call.args)} {ok}")
        if ok:
            slot_of[str(call.ret)] = dst
    return "\n".join(lines) + "\n"


def expected_fault_trace(clean: list[TracedCall], pos: FaultPosition) -> list[TracedCall]:
    """The clean calls with the failed attempt inserted before the call it faulted."""
    target = clean[pos.call_index]
    original = target.syscalls[pos.syscall_index]
    failed = TracedCall(target.func, target.args, 0,
                        [*target.syscalls[:pos.syscall_index],
                         Syscall(original.name, original.args, pos.injected_ret())],
                        returned=True)
    return [*clean[:pos.call_index], failed, *clean[pos.call_index:]]


def _first_difference(want: list[TracedCall], got: list[TracedCall]) -> str:
    for index, (w, g) in enumerate(zip(want, got)):
        if w != g:
            return f"call #{index}: expected {w}, got {g}"
    return f"expected {len(want)} calls, got {len(got)}"


def check_driver_fault(script: Path, clean: list[TracedCall], pos: FaultPosition) -> str:
    """"" when the driver survives the fault at `pos`, else what went wrong."""
    run = run_traced(DRIVER, [str(script)], inject=pos.inject(), env=CHECKED)
    where = f"driver, {pos.describe()}"
    if "(INJECTED)" not in run.trace:
        return f"{where}: strace injected nothing"
    if run.returncode != 0 or run.stdout.strip() != "faults 1":
        return f"{where}: exit {run.returncode}, stdout {run.stdout.strip()!r}: {run.stderr.strip()}"
    trace = parse_strace(run.trace)
    want = expected_fault_trace(clean, pos)
    if trace.calls != want:
        return f"{where}: trace differs from clean + one failed call: " \
               f"{_first_difference(want, trace.calls)}"
    return ""


def check_program_fault(program: Path, clean: list[TracedCall], pos: FaultPosition) -> str:
    run = run_traced(program, [], inject=pos.inject(), env=CHECKED)
    where = f"{program.name}, {pos.describe()}"
    trace = parse_strace(run.trace)
    if trace.ending.startswith("killed") or "heap check failed" in run.stderr:
        return f"{where}: {trace.ending}: {run.stderr.strip()}"
    if trace.ending != "exited with 1":
        return f"{where}: expected the program to stop on the NULL (exit 1), it {trace.ending}"
    want = expected_fault_trace(clean, pos)[:pos.call_index + 1]
    got = trace.calls[:pos.call_index + 1]
    if got != want:
        return f"{where}: {_first_difference(want, got)}"
    return ""


def twice(check, *args) -> str:
    """A position whose run fails is run again, once: a library that does not survive the fault
    fails both times, while a run spoiled by the loaded machine (seen about once per make
    test-full: a faulted program whose trace showed no call at all) does not fail the test."""
    return check(*args) and check(*args)


def _programs() -> list[catalogue.Program]:
    return [p for p in catalogue.graded_programs() if not p.args]


@pytest.mark.sample(5)
@pytest.mark.parametrize("program", _programs(), ids=lambda p: p.name)
def test_every_fault_is_survived(program: catalogue.Program, tmp_path: Path,
                                 record_property) -> None:
    # The program's own clean run gives its calls (its ref may not be generated yet; whether
    # the library matches the ref is the graded suite's business).
    program_run = run_traced(program.binary, [], env=CHECKED)
    assert program_run.returncode == 0, program_run.stderr
    program_clean = parse_strace(program_run.trace)
    calls = normalise(program_clean)
    script = tmp_path / "script"
    script.write_text(script_from_ref(calls))

    clean_run = run_traced(DRIVER, [str(script)], env=CHECKED)
    assert clean_run.returncode == 0 and clean_run.stdout.strip() == "faults 0", \
        f"clean replay failed: {clean_run.stderr.strip()}"
    clean = parse_strace(clean_run.trace)
    verdict = compare(calls, normalise(clean))
    assert verdict.passed, f"the driver does not replay {program.name} faithfully:\n{verdict.diff}"

    driver_positions = fault_positions(clean_run.trace)
    program_positions = fault_positions(program_run.trace)
    assert len(driver_positions) == len(program_positions) == sum(
        1 for c in calls for s in c.syscalls if s.startswith("mmap") or
        (s.startswith("brk") and not s.startswith("brk(0)")))

    with ThreadPoolExecutor(WORKERS) as pool:
        problems = list(pool.map(lambda p: twice(check_driver_fault, script, clean.calls, p),
                                 driver_positions))
        problems += pool.map(
            lambda p: twice(check_program_fault, program.binary, program_clean.calls, p),
            program_positions)
    injected = len(problems)
    failed = [p for p in problems if p]
    record_property("reliability", ("faults injected", injected))
    record_property("reliability", ("faults survived", injected - len(failed)))
    assert not failed, f"{len(failed)} of {injected} faults not survived:\n" + "\n".join(failed[:10])


def test_positions_skip_ld_so_and_brk_queries() -> None:
    """The position finder counts ld.so's calls but faults only os_* calls, never brk(0)."""
    trace = "\n".join([
        "7 brk(NULL) = 0x1000",
        "7 mmap(NULL, 8192, 0x3, 0x22, -1, 0) = 0x7000",
        '7 write(-1, "osmem:call os_malloc 10", 23) = -1 EBADF (Bad file descriptor)',
        "7 brk(NULL) = 0x1000",
        "7 brk(0x21000) = 0x21000",
        '7 write(-1, "osmem:ret os_malloc 0x1020", 25) = -1 EBADF (Bad file descriptor)',
        '7 write(-1, "osmem:call os_malloc 200000", 27) = -1 EBADF (Bad file descriptor)',
        "7 mmap(NULL, 200032, 0x3, 0x22, -1, 0) = 0x9000",
        '7 write(-1, "osmem:ret os_malloc 0x9020", 25) = -1 EBADF (Bad file descriptor)',
    ])
    assert fault_positions(trace) == [FaultPosition("brk", 3, 0, 1, 0x1000),
                                      FaultPosition("mmap", 2, 1, 0, 0x21000)]
    assert FaultPosition("brk", 3, 0, 1, 0x1000).inject() == \
        ("-e", "inject=brk:retval=0x1000:when=3")

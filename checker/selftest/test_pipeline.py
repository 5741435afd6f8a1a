"""Each stage of the checker on canned input, with exact expected output."""

from __future__ import annotations

from pathlib import Path

import pytest

import events
import run
from compare import MAX_DIFF_LINES, compare
from normalise import normalise
from parse import Syscall, parse_ltrace, parse_strace
from report import Row, table

STRACE = """\
4242  execve("./t", ["./t"], 0x7ffd /* 3 vars */) = 0
4242  brk(NULL)                         = 0x555555559000
4242  mmap(NULL, 8192, 0x3, 0x22, -1, 0) = 0x7ffff7fc1000
4242  write(-1, "osmem:call os_calloc 2 5000", 27) = -1 EBADF (Bad file descriptor)
4242  write(-1, "osmem:call os_malloc 10000", 26) = -1 EBADF (Bad file descriptor)
4242  mmap(NULL, 10032, 0x3, 0x22, -1, 0) = 0x7ffff7f00000
4242  write(-1, "osmem:ret os_malloc 0x7ffff7f00020", 34) = -1 EBADF (Bad file descriptor)
4242  write(-1, "osmem:ret os_calloc 0x7ffff7f00020", 34) = -1 EBADF (Bad file descriptor)
4242  write(-1, "osmem:call os_free 0x7ffff7f00020", 33) = -1 EBADF (Bad file descriptor)
4242  munmap(0x7ffff7f00000, 10032)     = 0
4242  write(-1, "osmem:ret os_free", 17) = -1 EBADF (Bad file descriptor)
4242  write(-1, "osmem:call os_malloc 40", 23) = -1 EBADF (Bad file descriptor)
4242  brk(NULL)                         = 0x555555559000
4242  brk(0x555555579000)               = 0x555555579000
4242  write(-1, "osmem:ret os_malloc 0x555555559020", 34) = -1 EBADF (Bad file descriptor)
4242  write(-1, "osmem:call os_malloc 200000", 27) = -1 EBADF (Bad file descriptor)
4242  mmap(NULL, 200032, 0x3, 0x22, -1, 0) = 0x7ffff7f00000
4242  write(-1, "osmem:ret os_malloc 0x7ffff7f00020", 34) = -1 EBADF (Bad file descriptor)
4242  write(-1, "osmem:call os_malloc 300000", 27) = -1 EBADF (Bad file descriptor)
4242  mmap(NULL, 300032, 0x3, 0x22, -1, 0) = -1 ENOMEM (Cannot allocate memory)
4242  write(-1, "osmem:ret os_malloc 0x0", 23) = -1 EBADF (Bad file descriptor)
4242  write(-1, "osmem:call os_free 0x555555559020", 33) = -1 EBADF (Bad file descriptor)
4242  --- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL} ---
4242  +++ killed by SIGSEGV +++
"""

EXPECTED = """\
os_calloc(2, 5000) = <mapped-addr1> + 0x20
    mmap(0, 10032, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = <mapped-addr1>
os_free(<mapped-addr1> + 0x20)
    munmap(<mapped-addr1>, 10032) = 0
os_malloc(40) = HeapStart + 0x20
    brk(0) = HeapStart
    brk(HeapStart + 0x20000) = HeapStart + 0x20000
os_malloc(200000) = <mapped-addr2> + 0x20
    mmap(0, 200032, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = <mapped-addr2>
os_malloc(300000) = 0
    mmap(0, 300032, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM
os_free(HeapStart + 0x20) = <never returned: killed by SIGSEGV>
"""

LTRACE = """\
SYS_brk(0)                                       = 0x555555559000
SYS_mmap(0, 8192, 3, 34, -1, 0)                  = 0x7ffff7fc1000
t->os_calloc(2, 5000 <unfinished ...>
libosmem.so->os_malloc(10000 <unfinished ...>
SYS_mmap(0, 10032, 3, 34, -1, 0)                 = 0x7ffff7f00000
<... os_malloc resumed> )                        = 0x7ffff7f00020
<... os_calloc resumed> )                        = 0x7ffff7f00020
t->os_free(0x7ffff7f00020 <unfinished ...>
SYS_munmap(0x7ffff7f00000, 10032)                = 0
<... os_free resumed> )                          = <void>
t->os_malloc(40 <unfinished ...>
SYS_brk(0)                                       = 0x555555559000
SYS_brk(0x555555579000)                          = 0x555555579000
<... os_malloc resumed> )                        = 0x555555559020
t->os_malloc(200000 <unfinished ...>
SYS_mmap(0, 200032, 3, 34, -1, 0)                = 0x7ffff7f00000
<... os_malloc resumed> )                        = 0x7ffff7f00020
t->os_malloc(300000 <unfinished ...>
SYS_mmap(0, 300032, 3, 34, -1, 0)                = 0xfffffffffffffff4
<... os_malloc resumed> )                        = 0
t->os_free(0x555555559020 <unfinished ...>
--- SIGSEGV (Segmentation fault) ---
+++ killed by SIGSEGV +++
"""


def test_strace_trace_is_parsed_folded_and_named() -> None:
    trace = parse_strace(STRACE)
    assert trace.initial_break == 0x555555559000
    assert trace.ending == "killed by SIGSEGV"
    assert [c.func for c in trace.calls] == ["os_calloc", "os_free", "os_malloc", "os_malloc",
                                             "os_malloc", "os_free"]
    assert trace.calls[0].syscalls == [Syscall("mmap", (0, 10032, 3, 34, -1, 0),
                                               0x7ffff7f00000)]
    assert events.render(normalise(trace)) == EXPECTED


def test_strace_lines_split_by_another_process_are_joined() -> None:
    """A library that forks: the child's syscalls interleave and split the parent's lines."""
    text = """\
100  brk(NULL)                         = 0x555555559000
100  write(-1, "osmem:call os_malloc 1", 22) = -1 EBADF (Bad file descriptor)
100  clone(child_stack=NULL, flags=0x1200000|17, child_tidptr=0x7f) = 101
100  brk(NULL <unfinished ...>
101  set_robust_list(0x7fe41b78ea20, 24) = 0
100  <... brk resumed>)                = 0x555555559000
101  exit_group(0 <unfinished ...>
100  brk(0x555555579000)               = 0x555555579000
100  write(-1, "osmem:ret os_malloc 0x555555559020", 34 <unfinished ...>
101  <... exit_group resumed>)         = ?
100  <... write resumed>)              = -1 EBADF (Bad file descriptor)
101  +++ exited with 0 +++
100  +++ exited with 0 +++
"""
    trace = parse_strace(text)
    assert trace.ending == "exited with 0"
    assert events.render(normalise(trace)) == """\
os_malloc(1) = HeapStart + 0x20
    clone(child_stack=NULL, flags=0x1200000|17, child_tidptr=0x7f) = 101
    [pid 101] set_robust_list(0x7fe41b78ea20, 24) = 0
    brk(0) = HeapStart
    brk(HeapStart + 0x20000) = HeapStart + 0x20000
    [pid 101] exit_group(0) = ?
"""


def test_ltrace_lines_split_by_another_process_are_joined() -> None:
    """ltrace -f splits a syscall another traced process interrupts (the sandbox's own
    processes are traced too), as strace does, and leaves every os_* call unfinished around
    the syscalls it makes: the syscall halves are joined, the call's are not."""
    text = """\
9 t->os_malloc(200000 <unfinished ...>
9 SYS_mmap(0, 200032, 3, 34 <unfinished ...>
7 SYS_wait4(-1, 0x7ffe, 0, 0 <unfinished ...>
9 <... SYS_mmap resumed> )                    = 0x7ffff7f00000
9 <... os_malloc resumed> )                   = 0x7ffff7f00020
9 t->os_free(0x7ffff7f00020 <unfinished ...>
9 SYS_munmap(0x7ffff7f00000, 200032 <unfinished ...>
8 <... SYS_poll resumed> )                    = 1
9 <... SYS_munmap resumed> )                  = 0
9 <... os_free resumed> )                     = <void>
"""
    calls = [(c.func, c.ret, [(s.name, s.args, s.ret) for s in c.syscalls])
             for c in parse_ltrace(text).calls]
    assert calls == [("os_malloc", 0x7ffff7f00020, [("mmap", (0, 200032, 3, 34), 0x7ffff7f00000)]),
                     ("os_free", None, [("munmap", (0x7ffff7f00000, 200032), 0)])]


def test_ltrace_gives_the_same_normalised_trace() -> None:
    trace = parse_ltrace(LTRACE)
    assert trace.ending == "killed by SIGSEGV"
    assert events.render(normalise(trace)) == EXPECTED


def test_ltrace_exit_status_uses_strace_words() -> None:
    assert parse_ltrace("+++ exited (status 3) +++\n").ending == "exited with 3"


def test_ref_text_round_trips() -> None:
    assert events.render(events.parse_ref(EXPECTED)) == EXPECTED


def test_compare_points_at_the_first_divergence() -> None:
    expected = events.parse_ref(EXPECTED)
    actual = list(expected)
    actual[2] = events.Call("os_malloc", ("40",), "HeapStart + 0x40", expected[2].syscalls)
    verdict = compare(expected, actual)
    assert not verdict.passed
    assert verdict.first_divergence == 2
    assert verdict.summary == ("call #3: expected os_malloc(40) = HeapStart + 0x20, "
                               "got os_malloc(40) = HeapStart + 0x40")
    assert "-os_malloc(40) = HeapStart + 0x20" in verdict.diff
    assert "+os_malloc(40) = HeapStart + 0x40" in verdict.diff
    assert verdict.diff.splitlines()[0] == "first difference at call #3; diff from line 1 of the expected trace"


def test_compare_names_missing_calls_and_bounds_the_diff() -> None:
    many = [events.Call("os_malloc", (str(n),), "0") for n in range(1, 200)]
    verdict = compare(many, many[:1])
    assert verdict.summary == "call #2 os_malloc(2) = 0 is missing (the trace has 1 calls, the ref 199)"
    assert len(verdict.diff.splitlines()) == 1 + MAX_DIFF_LINES + 1
    assert compare(many, many).passed


def test_compare_names_the_first_differing_syscall() -> None:
    expected = events.parse_ref(EXPECTED)
    grown = events.Call("os_malloc", ("40",), "HeapStart + 0x20",
                        expected[2].syscalls + ("brk(HeapStart + 0x21000) = HeapStart + 0x21000",))
    assert compare(expected, expected[:2] + [grown] + expected[3:]).summary == (
        "call #3 os_malloc(40) = HeapStart + 0x20: extra syscall "
        "brk(HeapStart + 0x21000) = HeapStart + 0x21000")
    changed = events.Call("os_malloc", ("40",), "HeapStart + 0x20",
                          ("clone(0, 18874385) = 99",) + expected[2].syscalls[1:])
    assert compare(expected, expected[:2] + [changed] + expected[3:]).summary == (
        "call #3 os_malloc(40) = HeapStart + 0x20: syscall 1 is clone(0, 18874385) = 99, "
        "expected brk(0) = HeapStart")
    assert compare(expected, expected[:2] + [events.Call("os_malloc", ("40",), "HeapStart + 0x20")]
                   + expected[3:]).summary == (
        "call #3 os_malloc(40) = HeapStart + 0x20: missing syscall brk(0) = HeapStart")


def test_syscall_outside_the_contract_is_shown_by_name() -> None:
    text = STRACE.replace("4242  munmap(0x7ffff7f00000, 10032)     = 0\n",
                          "4242  mremap(0x7ffff7f00000, 10032, 20064, 0x1) = 0x7ffff7e00000\n")
    calls = normalise(parse_strace(text))
    assert calls[1].syscalls == ("mremap(<mapped-addr1>, 10032, 20064, 1) = 0x7ffff7e00000",)


def test_score_table_lists_rows_and_total() -> None:
    text = table([Row("b", 3, False, "crashed: killed by SIGSEGV"), Row("a", 97, True)], "title")
    assert text.splitlines() == [
        "title",
        "program   points  result",
        "a         97/97   passed",
        "b          0/3    failed  crashed: killed by SIGSEGV",
        "Total: 97/100",
    ]


def test_a_tracer_that_could_not_start_the_launcher_is_run_again(monkeypatch) -> None:
    monkeypatch.setattr(run, "START_PAUSE", 0.0)

    def made(stderr: str) -> run.Run:
        return run.Run("prog", "strace", "", "", stderr, 1, 5.0)

    outcomes = [made("strace: exec: Exec format error\n"), made("the program's own words\n")]
    monkeypatch.setattr(run, "_run_traced_once", lambda *args: outcomes.pop(0))
    got = run.run_traced(Path("prog"), Path("lib"), "strace", Path("markers"), 5.0)
    assert got.stderr == "the program's own words\n" and outcomes == []

    stuck = [made('"/tmp/x/launcher" is not an ELF file\n')] * 4
    monkeypatch.setattr(run, "_run_traced_once", lambda *args: stuck.pop(0))
    got = run.run_traced(Path("prog"), Path("lib"), "strace", Path("markers"), 5.0)
    assert got.stderr.endswith("is not an ELF file\n") and len(stuck) == 1, "three attempts"


    attempts = []

    def missing_twice(*args) -> run.Run:
        attempts.append(1)
        if len(attempts) < 3:
            raise run.LauncherMissing("not there")
        return made("ran\n")

    monkeypatch.setattr(run, "_run_traced_once", missing_twice)
    got = run.run_traced(Path("prog"), Path("lib"), "strace", Path("markers"), 5.0)
    assert got.stderr == "ran\n" and len(attempts) == 3

    def always_missing(*args) -> run.Run:
        attempts.append(1)
        raise run.LauncherMissing("not there")

    attempts.clear()
    monkeypatch.setattr(run, "_run_traced_once", always_missing)
    with pytest.raises(run.LauncherMissing):
        run.run_traced(Path("prog"), Path("lib"), "strace", Path("markers"), 5.0)
    assert len(attempts) == 3

"""The checker survives hostile submissions: each one fails the affected programs with a
one-line reason, and the run still prints every row and the total, in bounded time
(WALL_CLOCK_BOUND per case); attacks on the grading itself earn nothing, and no case changes
the kit's checkout or the submission's tree, or leaves a process behind.

Each case is graded the way a user grades it, through the pytest checker in a subprocess
(`make check OSMEM=... TEST=...` runs the same command), and the score table it prints is read
back. The fast path grades one representative program per case; the cases about the table
itself (a killed worker, a build that fails) grade every program. Each case costs seconds (a
whole pytest run): `make test` runs an even sample of each family, `make test-full` them all.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

import catalogue
import sandbox
from grade import Result, grade
from submission import prepare
from support import ROOT, settings_for, tree_digest

HOSTILE = ROOT / "checker" / "selftest" / "hostile"
RUN_TIMEOUT = 4.0   # per program; the slowest graded program takes 0.4 s unloaded
WALL_CLOCK_BOUND = 150.0   # per case, whole pytest run included
REPRESENTATIVE = "malloc-arrays"   # the fast path: one program that calls os_malloc and os_free
ROW = re.compile(r"^(?P<program>\S+)\s+(?P<earned>\d+)/(?P<points>\d+)\s+"
                 r"(?P<result>passed|failed)\s*(?P<reason>.*)$")
TOTAL = re.compile(r"^Total: (?P<earned>\d+)/(?P<possible>\d+)", re.MULTILINE)
ALL = "*"


@dataclass(frozen=True)
class Case:
    name: str
    reason: str                   # a regex that the reason of every affected row matches
    affected: str = "."           # a regex of the programs it must fail (the others may pass)
    program: str = REPRESENTATIVE  # the program graded (ALL: every program, the whole table)


# Submissions that misbehave: each fails what it breaks with a reason, the table complete.
CASES = [
    Case("segfault", r"^crashed: killed by SIGSEGV"),
    Case("abort", r"^crashed: killed by SIGABRT", program="realloc-arrays"),
    Case("hang", rf"^timed out after {RUN_TIMEOUT:g} s", program="calloc-arrays"),
    Case("exit", r"^program exited with 3", program="realloc-arrays"),
    Case("flood", r"^flooded its output: more than 64 MiB"),
    Case("garbage", r"(syscall 1 is|extra syscall) write\(2, "),
    # The child's first syscalls may come before the parent's clone returns.
    Case("fork", r"(syscall 1 is|extra syscall) (clone\(|\[pid \d+\] )"),
    Case("mremap", r"syscall 1 is mremap\(<mapped-addr1>", program="realloc-mmap-to-heap"),
    # glibc's first malloc seeds its tcache with getrandom, then moves the break.
    Case("libc_malloc", r"syscall 1 is getrandom\(", program="malloc-preallocate"),
    # A program notices the wild pointer itself when its checks run before its first write.
    Case("bad_pointer", r"^crashed: killed by SIG(SEGV|ABRT)|returned 0x1000"),
    Case("no_calloc", r"^library lacks os_calloc; program exited with 127",
         program="calloc-arrays"),
]

# Submissions that attack the grading itself: each scores no more than the stub (every os_*
# returns NULL), or than the reference allocator without the trick, and changes nothing.
ATTACKS = [
    Case("forge_markers", r"^the library wrote a checker marker: \"osmem:call os_malloc 1\" "
         r"written at 0x[0-9a-f]+, outside the marker layer"),
    Case("replace_trace", r"^call #1 os_malloc\(\d+\), .*expected = HeapStart \+ 0x20, got = 0"),
    Case("truncate_ref", r"^call #1 os_malloc\(\d+\), .*expected = HeapStart \+ 0x20, got = 0"),
    Case("extra_after_ret", r"^the library wrote a checker marker: \"osmem:ret os_malloc "),
    Case("untraced_thread", r"^the launcher refused clone with CLONE_UNTRACED: the library tried "
         r"to start a thread the tracer could not see"),
    Case("setsid_total", r"^call #1 os_malloc\(\d+\), syscalls: (syscall 1 is|extra syscall) "
         r"(clone\(|\[pid \d+\] )"),
    Case("escapes", r"^program exited with 1: \\x1b\[2K\\r\\x1b\[1A"),
    # Every program: its rows all read 0, none missing, though the library kills what it can.
    Case("kill_worker", r".", program=ALL),
]

# Builds that leave something else than a library, or print without end.
BUILDS = [
    Case("build-fifo", r"^does not build: libosmem\.so is a FIFO, not a regular file$",
         program=ALL),
    Case("build-directory", r"^does not build: libosmem\.so is a directory, not a regular file$"),
    Case("build-dev-zero", r"^does not build: libosmem\.so is a symbolic link to /dev/zero, "
         r"not a regular file$"),
    Case("build-flood", r"^does not build: the build printed more than 16 MiB and was stopped$"),
]


@dataclass(frozen=True)
class CheckRun:
    returncode: int
    output: str
    seconds: float
    results: dict                 # --results-json: the whole reasons (the table shortens them)
    staged_in: str                # the directory each run stages its program in, its own

    def reason(self, program: str) -> str:
        return next(str(row["reason"]) for row in self.results.get("programs", [])
                    if row["program"] == program)

    def rows(self) -> dict[str, re.Match[str]]:
        found = (ROW.match(line) for line in self.output.splitlines())
        return {m["program"]: m for m in found if m}

    def earned(self) -> int:
        return sum(int(row["earned"]) for row in self.rows().values())


def run_check(osmem: Path, program: str | None = None) -> CheckRun:
    """The checker as `make check OSMEM=... TEST=...` runs it, always with the sandbox on."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
               "-c", "checker/pytest.ini", "--rootdir=checker", "checker/test_grade.py",
               f"--osmem={osmem}", f"--run-timeout={RUN_TIMEOUT}",
               "-n", "2" if program == ALL or program is None else "0"]
    if program and program != ALL:
        command.append(f"--program={program}")
    env = {key: value for key, value in os.environ.items() if key != sandbox.DISABLE_VARIABLE}
    with tempfile.TemporaryDirectory(prefix="osmem-hostile-") as tmp:
        # Its runs stage their programs under a directory of this check's own, so a process
        # that outlives them is told apart from those of checks graded beside it.
        staged_in = Path(tmp) / "runs"
        staged_in.mkdir()
        for directory in (Path(tmp), staged_in):
            directory.chmod(0o711)    # the sandbox's user reaches its files through them
        env["TMPDIR"] = str(staged_in)
        results = Path(tmp) / "results.json"
        command.append(f"--results-json={results}")
        start = time.monotonic()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env,
                              timeout=WALL_CLOCK_BOUND, errors="replace")
        seconds = time.monotonic() - start
        recorded = json.loads(results.read_text()) if results.exists() else {}
    return CheckRun(done.returncode, done.stdout + done.stderr, seconds, recorded, str(staged_in))


def build_case(case: str, out: Path) -> Path:
    subprocess.run(["make", "-s", "-C", str(HOSTILE), f"CASE={case}", f"OUT={out}"],
                   check=True, capture_output=True, text=True)
    return out / "libosmem.so"


def lingering_processes(run: CheckRun) -> list[str]:
    """The processes still running a program that `run` staged (the setsid case's child, a
    fork bomb's): none may outlive the run that started them, not even for a moment."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes().startswith(run.staged_in.encode() + b"/"):
                found.append(cmdline.parent.name)
        except OSError:
            pass
    return found


def assert_graded(run: CheckRun, case: Case) -> None:
    assert run.returncode == 1, f"pytest exit {run.returncode} (1 = tests failed):\n{run.output}"
    rows = run.rows()
    expected = ([p.name for p in catalogue.graded_programs()] if case.program == ALL
                else [case.program])
    assert sorted(rows) == sorted(expected), "the table must have a row for every program"
    assert len(TOTAL.findall(run.output)) == 1, "one table, one Total line"
    total = TOTAL.search(run.output)
    assert total, "the table must end with the total"
    assert int(total["earned"]) < int(total["possible"])
    affected = [name for name in rows if re.search(case.affected, name)]
    assert affected, f"no program matches {case.affected}"
    for name in affected:
        row = rows[name]
        assert row["result"] == "failed", f"{name} passed"
        reason = run.reason(name)
        assert re.search(case.reason, reason), f"{name}: {reason}"
    assert "\x1b" not in run.output, "what a submission printed reaches the terminal escaped"
    assert run.seconds < WALL_CLOCK_BOUND


HOSTILE_FIGURE = "hostile submissions graded (failed with a reason, table complete)"


def graded_safely(osmem: Path, case: Case, watched: list[Path]) -> CheckRun:
    """Grades `osmem`, then checks it changed nothing and left no process behind."""
    before = tree_digest(watched)
    run = run_check(osmem, case.program)
    assert tree_digest(watched) == before, "grading changed the checkout or the submission"
    assert lingering_processes(run) == [], "a process of the submission outlived its run"
    assert_graded(run, case)
    return run


@pytest.mark.sample(6)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_submission_fails_with_reason(case: Case, tmp_path: Path,
                                              record_property) -> None:
    graded_safely(build_case(case.name, tmp_path), case, [])
    record_property("reliability", (HOSTILE_FIGURE, 1))


@pytest.fixture(scope="module")
def stub_earned(tmp_path_factory: pytest.TempPathFactory) -> int:
    """What an honest stub (every os_* returns NULL) earns on the representative program."""
    run = run_check(build_case("stub", tmp_path_factory.mktemp("stub")), REPRESENTATIVE)
    assert REPRESENTATIVE in run.rows()
    return run.earned()


@pytest.mark.sample(4)
@pytest.mark.parametrize("case", ATTACKS, ids=[c.name for c in ATTACKS])
def test_attack_on_the_grading_gains_nothing(case: Case, tmp_path: Path, stub_earned: int,
                                            record_property) -> None:
    run = graded_safely(build_case(case.name, tmp_path), case, [])
    assert run.earned() <= stub_earned if case.program != ALL else run.earned() == 0
    assert "hostile: read the ref" not in run.output
    record_property("reliability", (HOSTILE_FIGURE, 1))


@pytest.mark.sample(2)
@pytest.mark.parametrize("case", BUILDS, ids=[c.name for c in BUILDS])
def test_build_that_leaves_no_library(case: Case, record_property) -> None:
    submission = HOSTILE / case.name
    run = graded_safely(submission, case, [submission])
    assert run.earned() == 0
    record_property("reliability", (HOSTILE_FIGURE, 1))


def test_makefile_cannot_touch_the_checker_or_the_submission(tmp_path: Path,
                                                             record_property) -> None:
    """The build runs in a scratch copy, in the sandbox: the kit's checker, its refs and the
    submission's own tree are out of its reach (as the Makefile finds them: by their paths)."""
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "Makefile").write_text(
        "libosmem.so:\n"
        f"\t-echo 'def grade(*args, **kwargs): pass' >> {ROOT}/checker/grade.py\n"
        f"\t-truncate -s 0 {ROOT}/tests/ref/{REPRESENTATIVE}.ref\n"
        f"\t-touch {submission}/built-here.o\n"
        "\tfalse\n")
    run = graded_safely(submission, Case("tampers", r"^does not build: "), [submission])
    assert not (submission / "built-here.o").exists()
    details = run.results["programs"][0]["details"]
    assert (f"truncate: cannot open '{ROOT}/tests/ref/{REPRESENTATIVE}.ref' for writing: No such "
            f"file or directory") in details
    record_property("reliability", (HOSTILE_FIGURE, 1))


def test_missing_symbol_does_not_fail_the_programs_that_do_not_use_it(tmp_path: Path) -> None:
    rows = run_check(build_case("no_calloc", tmp_path), REPRESENTATIVE).rows()
    assert rows[REPRESENTATIVE]["result"] == "passed"


def test_submission_that_does_not_build(record_property) -> None:
    run = run_check(HOSTILE / "does-not-build")
    reason = "^does not build: osmem\\.c:8:1: error: expected ';' before '}' token$"
    assert_graded(run, Case("does-not-build", reason, program=ALL))
    assert TOTAL.search(run.output)["earned"] == "0"
    assert "make: *** [Makefile:3: libosmem.so] Error 1" in run.output   # the first errors
    record_property("reliability", (HOSTILE_FIGURE, 1))


# ---- a fork bomb beside a fair run -----------------------------------------------------------

def sandboxed_programs() -> Counter[str]:
    """The processes of the sandbox's user on the host now, by the path of their program (a
    run's own copy: each run stages its program in a directory of its own)."""
    found: Counter[str] = Counter()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            uid = next(line.split()[1] for line in status.read_text().splitlines()
                       if line.startswith("Uid:"))
            argv0 = (status.parent / "cmdline").read_bytes().split(b"\0")[0]
        except (OSError, StopIteration):
            continue
        if uid == str(sandbox.SANDBOX_UID):
            found[argv0.decode(errors="replace")] += 1
    return found


def bomb_size() -> tuple[str, int]:
    """The staged program of REPRESENTATIVE that runs in the most processes, and how many."""
    runs = [(path, n) for path, n in sandboxed_programs().items()
            if Path(path).name == REPRESENTATIVE]
    return max(runs, key=lambda run: run[1], default=("", 0))


def test_a_fork_bomb_does_not_starve_runs_graded_beside_it(tmp_path: Path, monkeypatch,
                                                          grade_all) -> None:
    """Every sandbox runs as the same host user, `nobody`. A submission that forks as much as
    it may (the launcher's limit is 32 processes) must not take the processes of another run
    graded at the same time: the limit counts in each sandbox's own user namespace."""
    monkeypatch.delenv(sandbox.DISABLE_VARIABLE, raising=False)  # as root, unsandboxed, a bomb
    bomb = prepare(build_case("fork_bomb", tmp_path / "bomb"), tmp_path / "bomb-impl")
    bombed: list[Result] = []
    thread = threading.Thread(target=lambda: bombed.append(
        grade(catalogue.program(REPRESENTATIVE), bomb, settings_for("strace", 8.0))))
    thread.start()
    try:
        deadline = time.monotonic() + 6
        while bomb_size()[1] < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        staged, at_full = bomb_size()
        assert at_full >= 20, f"the bomb started only {at_full} processes"
        beside = [p for p in catalogue.graded_programs() if p.name != REPRESENTATIVE][:8]
        results = grade_all(ROOT / "src" / "libosmem.so", programs=beside)
        still = sandboxed_programs()[staged]
    finally:
        thread.join()
    assert {name: r.reason for name, r in results.items() if not r.passed} == {}
    assert still >= 20, "the fair runs did not overlap the bomb"
    assert re.match(r"timed out after 8 s", bombed[0].reason), bombed[0].reason
    assert sandboxed_programs()[staged] == 0, "the bomb outlived its run"

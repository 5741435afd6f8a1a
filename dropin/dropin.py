"""make dropin: run real programs on an os_* library through libosmem_malloc.so (LD_PRELOAD),
and compare each with the same program on glibc's malloc.

Each program is a few steps (command lines) run in a fresh copy of its inputs, once with the
drop-in and once without. What is compared: each step's stdout and exit status, and the files a
workload declares as its products (gcc's objects and library). Per program, one line: identical
or what went wrong (crashed: SIGSEGV in python3, timed out after N s, different output at line
K, failed: a step's exit status), and the wall and CPU times as ratios to glibc's.

The os_* library comes from OSMEM (a libosmem.so or a source directory), turned into a library
by checker/submission.py's prepare(), exactly as `make check` does. A copy of the drop-in is
staged next to it: its $ORIGIN rpath makes the loader link that libosmem.so.

Every program runs in its own session with a deadline shared by its steps: on a timeout the
whole process group is killed, so no library can hang the run. A program that crashes or times
out with the drop-in is not run on glibc (there is nothing to compare).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

DROPIN_DIR = Path(__file__).resolve().parent
ROOT = DROPIN_DIR.parent
sys.path.insert(0, str(ROOT / "checker"))

from run import end_group  # noqa: E402  (the checker's modules are found above)
from submission import prepare  # noqa: E402

WRAPPER = ROOT / "build" / "dropin" / "libosmem_malloc.so"
WORKLOADS = DROPIN_DIR / "workloads"
OUTPUT_LIMIT = 64 * 1024 * 1024   # RLIMIT_FSIZE: a flood of output ends the step (SIGXFSZ)
# RLIMIT_AS per process: an os_* library that never gives memory back fails its allocations
# (the program then exits with an error) before the machine runs out of memory.
ADDRESS_SPACE_LIMIT = 8 << 30
STDERR_SHOWN = 200                # characters of a failing step's last stderr line in a verdict
# The kit itself, as copied for git to commit and gcc to compile (no build products).
KIT_PARTS = ("Makefile", "README.md", "src", "utils", "tests", "checker", "dropin")
KIT_IGNORED = shutil.ignore_patterns("*.so", "*.o", "__pycache__", "build")


@dataclass(frozen=True)
class Step:
    argv: tuple[str, ...]
    stdin: str | None = None      # a file of the work directory fed on stdin

    def __str__(self) -> str:
        return " ".join(self.argv)


@dataclass(frozen=True)
class Workload:
    name: str
    describe: str                                # for --help
    setup: Callable[[Path], None]               # fills the empty work directory
    steps: Callable[[Path], list[Step]]          # what to run in it, in order
    products: tuple[str, ...] = ()               # globs of files compared byte for byte


@dataclass(frozen=True)
class Outcome:
    transcript: list[str]   # per step: the command, its stdout, its exit status; then products
    seconds: float          # wall time of the steps
    cpu_seconds: float      # user + system time of the steps and the processes they waited for
    failed_step: Step | None = None
    returncode: int | None = 0   # of the failed step; None: the deadline passed
    stderr_tail: str = ""

    @property
    def crashed(self) -> bool:
        return self.returncode is not None and self.returncode < 0


def copy_kit(work: Path) -> None:
    for part in KIT_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, work / "kit" / part, ignore=KIT_IGNORED)
        elif source.exists():
            (work / "kit").mkdir(exist_ok=True)
            shutil.copy2(source, work / "kit" / part)


def copy_library_sources(work: Path) -> None:
    for part in ("src", "utils"):
        shutil.copytree(ROOT / part, work / part, ignore=KIT_IGNORED)


def copy_workload_file(name: str) -> Callable[[Path], None]:
    return lambda work: shutil.copy(WORKLOADS / name, work / name)


def git_steps(work: Path) -> list[Step]:
    git = ("git", "-C", "kit")
    return [Step(("git", "init", "-q", "-b", "main", "kit")), Step(git + ("add", "-A")),
            Step(git + ("commit", "-q", "-m", "the kit")), Step(git + ("rev-parse", "HEAD")),
            Step(git + ("log", "--stat", "--format=%H %an %ad %s")),
            Step(git + ("repack", "-a", "-d", "-q")), Step(git + ("fsck", "--no-progress")),
            Step(git + ("count-objects",))]


def gcc_steps(work: Path) -> list[Step]:
    sources = sorted(str(p.relative_to(work)) for p in (work / "src").glob("*.c"))
    sources.append("utils/printf.c")
    objects = [Path(s).with_suffix(".o").name for s in sources]
    return [Step(("gcc", "-O2", "-Wall", "-Wextra", "-fPIC", "-Isrc", "-Iutils", "-c", *sources)),
            Step(("gcc", "-shared", "-Wl,--version-script=src/libosmem.map", "-o",
                  "libosmem.so", *objects))]


WORKLOAD_LIST = (
    Workload("python", "python3 dropin/workloads/python_workload.py: dicts, strings, big buffers",
             copy_workload_file("python_workload.py"),
             lambda work: [Step(("/usr/bin/python3", "python_workload.py"))]),
    Workload("git", "git init, add, commit, repack and fsck of a copy of the kit",
             copy_kit, git_steps),
    Workload("gcc", "gcc -O2 compiles and links the kit's library (objects compared)",
             copy_library_sources, gcc_steps, products=("*.o", "libosmem.so")),
    Workload("sqlite", "sqlite3 inserts 10^5 rows, indexes and queries them",
             copy_workload_file("rows.sql"),
             lambda work: [Step(("sqlite3", ":memory:"), stdin="rows.sql")]),
)
WORKLOADS_BY_NAME = {w.name: w for w in WORKLOAD_LIST}


def environment(home: Path, preload: Path | None) -> dict[str, str]:
    """The same environment for both runs but LD_PRELOAD: fixed identity and dates for git."""
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "TZ": "UTC", "HOME": str(home),
           "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "osmem", "GIT_AUTHOR_EMAIL": "osmem@example.org",
           "GIT_COMMITTER_NAME": "osmem", "GIT_COMMITTER_EMAIL": "osmem@example.org",
           "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}
    if preload:
        env["LD_PRELOAD"] = str(preload)
    return env


def _limit_child() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_LIMIT, OUTPUT_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))


def run_step(step: Step, work: Path, env: dict[str, str],
             timeout: float) -> tuple[int | None, bytes, str]:
    """Runs one step in its own session; (exit status or None on timeout, stdout, stderr)."""
    stdin = work / step.stdin if step.stdin else Path(os.devnull)
    with open(work / ".stdout", "w+b") as out, open(work / ".stderr", "w+b") as err, \
            open(stdin, "rb") as source:
        try:
            process = subprocess.Popen(step.argv, cwd=work, env=env, stdin=source, stdout=out,
                                       stderr=err, start_new_session=True,
                                       preexec_fn=_limit_child)
        except FileNotFoundError:
            return 127, b"", f"{step.argv[0]}: not installed (make dropin-deps installs it)"
        try:
            returncode: int | None = process.wait(timeout=max(timeout, 0.01))
        except subprocess.TimeoutExpired:
            returncode = None
        finally:
            end_group(process)                            # and whatever it forked
        out.seek(0)
        err.seek(0)
        return returncode, out.read(), err.read().decode("utf-8", "replace")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_workload(workload: Workload, work: Path, preload: Path | None,
                 timeout: float) -> Outcome:
    """Runs the steps in order until one fails. CPU time is reported besides wall time because
    it hardly depends on what else the (shared) machine is doing."""
    work.mkdir(parents=True)
    (work / "home").mkdir()
    workload.setup(work)
    env = environment(work / "home", preload)
    transcript: list[str] = []
    start, cpu_start = time.monotonic(), children_cpu_seconds()
    for step in workload.steps(work):
        returncode, stdout, stderr = run_step(step, work, env,
                                              start + timeout - time.monotonic())
        transcript.append(f"$ {step}")
        transcript.extend(stdout.decode("utf-8", "replace").splitlines())
        transcript.append(f"exit {returncode}")
        if returncode != 0:
            tail = (stderr.strip().splitlines() or [""])[-1][:STDERR_SHOWN]
            return Outcome(transcript, time.monotonic() - start,
                           children_cpu_seconds() - cpu_start, step, returncode, tail)
    seconds, cpu_seconds = time.monotonic() - start, children_cpu_seconds() - cpu_start
    for pattern in workload.products:
        for product in sorted(work.glob(pattern)):
            digest = hashlib.sha256(product.read_bytes()).hexdigest()
            transcript.append(f"{product.name} sha256 {digest}")
    return Outcome(transcript, seconds, cpu_seconds)


def signal_name(returncode: int) -> str:
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def failure(outcome: Outcome, timeout: float) -> str:
    """One line on how a run ended early ('' when it did not)."""
    step = outcome.failed_step
    if step is None:
        return ""
    tail = f": {outcome.stderr_tail}" if outcome.stderr_tail else ""
    if outcome.returncode is None:
        return f"timed out after {timeout:g} s (in `{step}`)"
    if outcome.crashed:
        program = Path(step.argv[0]).name
        return f"crashed: {signal_name(outcome.returncode)} in {program} (`{step}`){tail}"
    return f"failed: `{step}` exited {outcome.returncode}{tail}"


def first_difference(expected: list[str], actual: list[str]) -> str:
    for number, (want, got) in enumerate(zip(expected, actual), start=1):
        if want != got:
            return f"line {number}: glibc {want[:80]!r}, drop-in {got[:80]!r}"
    shorter = "drop-in" if len(actual) < len(expected) else "glibc"
    return f"line {min(len(expected), len(actual)) + 1}: the {shorter} output ends there"


def ratio_to(seconds: float, glibc_seconds: float) -> str:
    return f"{seconds / max(glibc_seconds, 1e-3):.1f}x"


def verdict(workload: Workload, scratch: Path, preload: Path,
            timeout: float) -> tuple[bool, str]:
    """(identical, one line): the drop-in first; glibc only when there is something to compare."""
    dropin = run_workload(workload, scratch / "dropin", preload, timeout)
    if dropin.returncode is None or dropin.crashed:
        return False, failure(dropin, timeout)
    glibc = run_workload(workload, scratch / "glibc", None, timeout)
    if glibc.failed_step is not None:
        return False, f"cannot compare: on glibc it {failure(glibc, timeout)}"
    ratio = f"time {ratio_to(dropin.seconds, glibc.seconds)} glibc's " \
            f"({dropin.seconds:.2f} s vs {glibc.seconds:.2f} s), cpu " \
            f"{ratio_to(dropin.cpu_seconds, glibc.cpu_seconds)} " \
            f"({dropin.cpu_seconds:.2f} s vs {glibc.cpu_seconds:.2f} s)"
    if dropin.failed_step is not None:
        return False, f"{failure(dropin, timeout)}; {ratio}"
    if dropin.transcript != glibc.transcript:
        return False, f"different output at {first_difference(glibc.transcript, dropin.transcript)}; {ratio}"
    return True, f"identical; {ratio}"


def stage(osmem: Path, wrapper: Path, workdir: Path) -> tuple[Path | None, str]:
    """The drop-in staged next to the prepared os_* library: (path to preload, problem)."""
    implementation = prepare(osmem, workdir / "implementation")
    if implementation.lib_dir is None:
        return None, implementation.problem
    if implementation.missing:
        return None, f"library lacks {', '.join(implementation.missing)}"
    staged = Path(implementation.lib_dir) / wrapper.name
    shutil.copyfile(wrapper, staged)
    return staged, ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter,
        epilog="programs:\n" + "\n".join(f"  {w.name:8} {w.describe}" for w in WORKLOAD_LIST))
    parser.add_argument("--osmem", type=Path, default=ROOT / "src" / "libosmem.so",
                        help="the os_* library: a libosmem.so or a source dir with a Makefile")
    parser.add_argument("--programs", default=",".join(WORKLOADS_BY_NAME),
                        help=f"comma-separated, among {', '.join(WORKLOADS_BY_NAME)}")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds each program may run, all its steps together")
    parser.add_argument("--wrapper", type=Path, default=WRAPPER,
                        help="the built libosmem_malloc.so")
    args = parser.parse_args(argv)
    names = [name for name in args.programs.split(",") if name]
    unknown = [name for name in names if name not in WORKLOADS_BY_NAME]
    if unknown or not names:
        parser.error(f"unknown program {', '.join(unknown) or '(none)'}; "
                     f"choose among {', '.join(WORKLOADS_BY_NAME)}")
    if not args.wrapper.is_file():
        parser.error(f"{args.wrapper} does not exist: build it with make")

    with tempfile.TemporaryDirectory(prefix="osmem-dropin-") as tmp:
        scratch = Path(tmp)
        preload, problem = stage(args.osmem, args.wrapper, scratch)
        print(f"osmem drop-in: {args.osmem} under libosmem_malloc.so, compared with glibc "
              f"(timeout {args.timeout:g} s per program)", flush=True)
        if preload is None:
            print(f"cannot run: {problem}")
            return 1
        identical = 0
        for name in names:
            workload = WORKLOADS_BY_NAME[name]
            same, line = verdict(workload, scratch / name, preload, args.timeout)
            identical += same
            print(f"{name:8} {line}", flush=True)
        print(f"{identical}/{len(names)} programs identical under the drop-in")
    return 0 if identical == len(names) else 1


if __name__ == "__main__":
    sys.exit(main())

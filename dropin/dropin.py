"""make dropin: run real programs on an os_* library through libosmem_malloc.so (LD_PRELOAD),
and compare each with the same program on glibc's malloc.

Each program is a few steps (command lines) run in a fresh copy of its inputs, once with the
drop-in and once without. What is compared: each step's stdout and exit status, and the files a
workload declares as its products (gcc's objects and library). Per program, one line: identical
or what went wrong (crashed: SIGSEGV in python3 after 0.4 s, timed out after N s, flooded its
output, different output at line K, failed: a step's exit status), and the wall and CPU times as
ratios to glibc's.

The os_* library comes from OSMEM (a libosmem.so or a source directory), turned into a library
by checker/submission.py's prepare(), exactly as `make check` does. A copy of the drop-in is
staged next to it: its $ORIGIN rpath makes the loader link that libosmem.so.

Every step runs in the checker's sandbox (checker/sandbox.py: bwrap as an unprivileged user,
the kit's launcher setting limits and its seccomp filter), the glibc runs and the kit's own
library included, so that both sides of a comparison run the same way. The sandbox sees /usr,
/bin, /lib, /proc, /dev, a private /tmp, the staged libraries read-only and the program's own
work directory (its inputs, writable); the checkout and the other programs' directories are not
visible. A step's CPU time is reported by a shell inside the sandbox (`times`), since bwrap does
not pass its children's resource usage on.

Each program has a deadline shared by its steps: on a timeout bwrap's process group is killed,
and the sandbox's pid namespace with it, so no library can hang the run. A program that
crashes or times out with the drop-in is not run on glibc (there is nothing to compare).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shlex
import shutil
import signal
import stat
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

import sandbox  # noqa: E402  (the checker's modules are found above)
from report import printable  # noqa: E402
from run import end_group  # noqa: E402
from submission import _as_sandbox_user, prepare  # noqa: E402

WRAPPER = ROOT / "build" / "dropin" / "libosmem_malloc.so"
WORKLOADS = DROPIN_DIR / "workloads"
# RLIMIT_AS per process: an os_* library that never gives memory back fails its allocations
# (the program then exits with an error) before the machine runs out of memory.
ADDRESS_SPACE_LIMIT = 8 << 30
PROCESSES = 64                    # per sandbox user: git and gcc start a few each
FILE_SIZE_LIMIT = sandbox.Limits(0).file_size   # a flood of output ends the step (SIGXFSZ)
# Inside the sandbox, a shell runs the step (with the drop-in preloaded, for the drop-in's run)
# then reports the CPU time of what it waited for on stderr, after this line.
CPU_MARK = "osmem-dropin: cpu"
CPU_REPORT = f'"$@"; status=$?; echo "{CPU_MARK}" >&2; times >&2; exit $status'
TIMES_LINE = re.compile(r"(\d+)m([\d.]+)s (\d+)m([\d.]+)s")
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
    cpu_seconds: float | None  # user + system time of the steps and what they waited for
    failed_step: Step | None = None
    returncode: int | None = 0   # of the failed step; None: the deadline passed
    stderr_tail: str = ""

    @property
    def signal(self) -> int | None:
        """The signal that killed the failed step."""
        return signal_of(self.returncode)


@dataclass(frozen=True)
class Confinement:
    """What every step's sandbox sees besides the system and its work directory."""

    launcher: Path                 # a copy of the kit's launcher the sandbox's user can read
    read_only: tuple[Path, ...]    # the staged os_* library and drop-in
    limits: sandbox.Limits


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


def environment(home: Path) -> dict[str, str]:
    """The same environment for both runs (LD_PRELOAD is the step's shell's): fixed identity
    and dates for git."""
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "TZ": "UTC", "HOME": str(home),
           "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "osmem", "GIT_AUTHOR_EMAIL": "osmem@example.org",
           "GIT_COMMITTER_NAME": "osmem", "GIT_COMMITTER_EMAIL": "osmem@example.org",
           "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}
    return env


def step_command(step: Step, work: Path, env: dict[str, str], preload: Path | None,
                 confinement: Confinement) -> list[str]:
    """bwrap (unless SANDBOX=0), the launcher, and a shell that runs the step and reports its
    CPU time; LD_PRELOAD is set for the step alone, not for that shell."""
    script = CPU_REPORT if preload is None else \
        f"LD_PRELOAD={shlex.quote(str(preload))} {CPU_REPORT}"
    launch = sandbox.launcher_command(str(confinement.launcher), confinement.limits,
                                      ["/bin/sh", "-c", script, "sh", *step.argv])
    if not sandbox.enabled():
        return launch
    return sandbox.bwrap_command({str(p): p for p in confinement.read_only},
                                 {str(work): work}, env, str(work), tools=True) + launch


def signal_of(returncode: int | None) -> int | None:
    """The signal a status reports: bwrap and the shell both exit with 128 + its number (so a
    step that exits 139 by itself reads as SIGSEGV, as in a shell)."""
    if returncode is None or returncode <= 128:
        return None
    number = returncode - 128
    return number if number in signal.valid_signals() else None


def shell_report(stderr: str, returncode: int | None) -> tuple[str, float | None]:
    """(the step's own stderr, its CPU seconds from the shell's `times`, None if missing).
    The shell's own line on a step it saw killed ("Segmentation fault") is not the step's."""
    head, mark, report = stderr.rpartition(CPU_MARK + "\n")
    times = report.splitlines()
    found = TIMES_LINE.fullmatch(times[1]) if mark and len(times) == 2 else None
    if found is None:
        return stderr, None
    number = signal_of(returncode)
    if number is not None:
        shell_said = signal.strsignal(number) or ""
        for said in (shell_said + " (core dumped)\n", shell_said + "\n"):
            if head.endswith(said) and head[:-len(said)][-1:] in ("", "\n"):
                head = head[:-len(said)]
                break
    minutes_user, user, minutes_system, system = found.groups()
    return head, 60 * (int(minutes_user) + int(minutes_system)) + float(user) + float(system)


def read_regular(path: Path, limit: int) -> bytes | None:
    """At most `limit` bytes of `path` if it is a regular file, else None. The work directory
    is the sandbox's to change: what a program left there may be a link out of it or a FIFO,
    which the runner, outside the sandbox, must neither follow nor wait on."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as stream:
        return stream.read(limit) if stat.S_ISREG(os.fstat(fd).st_mode) else None


def run_step(step: Step, work: Path, outputs: Path, env: dict[str, str], preload: Path | None,
             confinement: Confinement,
             timeout: float) -> tuple[int | None, bytes, str, float | None]:
    """Runs one step in the sandbox, in its own session: (exit status or None on timeout,
    stdout, stderr, CPU seconds). Its output goes to files outside the sandbox's view, each
    bounded by the launcher's file size limit; its stdin is a copy of the workload's file."""
    stdin = outputs / "stdin"
    fed = read_regular(work / step.stdin, FILE_SIZE_LIMIT) if step.stdin else None
    stdin.write_bytes(fed or b"")
    with open(outputs / "stdout", "w+b") as out, open(outputs / "stderr", "w+b") as err, \
            open(stdin, "rb") as source:
        try:
            process = subprocess.Popen(step_command(step, work, env, preload, confinement),
                                       cwd=work, env=env, stdin=source, stdout=out, stderr=err,
                                       start_new_session=True, **_as_sandbox_user())
        except FileNotFoundError as error:
            return 127, b"", f"{error.filename}: not installed (make dropin installs it)", None
        try:
            returncode: int | None = process.wait(timeout=max(timeout, 0.01))
        except subprocess.TimeoutExpired:
            returncode = None
        finally:
            end_group(process)                   # bwrap, and with it the sandbox's processes
        out.seek(0)
        err.seek(0)
        stderr, cpu_seconds = shell_report(err.read().decode("utf-8", "replace"),
                                           returncode)
        return returncode, out.read(), stderr, cpu_seconds


def run_workload(workload: Workload, work: Path, preload: Path | None,
                 confinement: Confinement, timeout: float) -> Outcome:
    """Runs the steps in order until one fails. CPU time is reported besides wall time because
    it hardly depends on what else the (shared) machine is doing."""
    work.mkdir(parents=True)
    (work / "home").mkdir()
    workload.setup(work)
    if sandbox.enabled():
        sandbox.hand_over(work)         # the sandbox's user writes there (git wants it its own)
    outputs = work.with_name(work.name + "-output")   # out of the sandbox's view
    outputs.mkdir()
    env = environment(work / "home")
    transcript: list[str] = []
    start = time.monotonic()
    cpu_seconds: float | None = 0.0
    for step in workload.steps(work):
        returncode, stdout, stderr, cpu = run_step(step, work, outputs, env, preload, confinement,
                                                   start + timeout - time.monotonic())
        cpu_seconds = None if cpu is None or cpu_seconds is None else cpu_seconds + cpu
        transcript.append(f"$ {step}")
        transcript.extend(stdout.decode("utf-8", "replace").splitlines())
        transcript.append(f"exit {returncode}")
        if returncode != 0:
            tail = printable((stderr.strip().splitlines() or [""])[-1][:STDERR_SHOWN])
            return Outcome(transcript, time.monotonic() - start, cpu_seconds, step, returncode,
                           tail)
    seconds = time.monotonic() - start
    for pattern in workload.products:
        for product in sorted(work.glob(pattern)):
            content = read_regular(product, FILE_SIZE_LIMIT)
            digest = "not a regular file" if content is None else \
                f"sha256 {hashlib.sha256(content).hexdigest()}"
            transcript.append(f"{printable(product.name)} {digest}")
    return Outcome(transcript, seconds, cpu_seconds)


def failure(outcome: Outcome, timeout: float) -> str:
    """One line on how a run ended early ('' when it did not)."""
    step = outcome.failed_step
    if step is None:
        return ""
    tail = f": {outcome.stderr_tail}" if outcome.stderr_tail else ""
    after = f"after {outcome.seconds:.1f} s"
    if outcome.returncode is None:
        return f"timed out after {timeout:g} s (in `{step}`)"
    if outcome.signal == signal.SIGXFSZ:
        return (f"flooded its output: more than {FILE_SIZE_LIMIT >> 20} MiB, killed {after} "
                f"(in `{step}`)")
    if outcome.signal == signal.SIGXCPU:
        return (f"used its {limits_for(timeout).cpu_seconds} s of CPU time, killed {after} "
                f"(in `{step}`)")
    if outcome.signal is not None:
        program = Path(step.argv[0]).name
        return (f"crashed: {signal.Signals(outcome.signal).name} in {program} {after} "
                f"(`{step}`){tail}")
    return f"failed: `{step}` exited {outcome.returncode}{tail}"


def first_difference(expected: list[str], actual: list[str]) -> str:
    for number, (want, got) in enumerate(zip(expected, actual), start=1):
        if want != got:
            return f"line {number}: glibc {want[:80]!r}, drop-in {got[:80]!r}"
    shorter = "drop-in" if len(actual) < len(expected) else "glibc"
    return f"line {min(len(expected), len(actual)) + 1}: the {shorter} output ends there"


def ratio_to(seconds: float, glibc_seconds: float) -> str:
    return f"{seconds / max(glibc_seconds, 1e-3):.1f}x"


def cpu_ratio(dropin: float | None, glibc: float | None) -> str:
    if dropin is None or glibc is None:
        return "cpu not reported"
    return f"cpu {ratio_to(dropin, glibc)} ({dropin:.2f} s vs {glibc:.2f} s)"


def limits_for(timeout: float) -> sandbox.Limits:
    """Per process: CPU a little above the program's deadline (the deadline reports first)."""
    return sandbox.Limits.for_timeout(timeout, address_space=ADDRESS_SPACE_LIMIT,
                                      processes=PROCESSES)


def verdict(workload: Workload, scratch: Path, preload: Path, confinement: Confinement,
            timeout: float) -> tuple[bool, str]:
    """(identical, one line): the drop-in first; glibc only when there is something to compare."""
    dropin = run_workload(workload, scratch / "dropin", preload, confinement, timeout)
    if dropin.returncode is None or dropin.signal is not None:
        return False, failure(dropin, timeout)
    glibc = run_workload(workload, scratch / "glibc", None, confinement, timeout)
    if glibc.failed_step is not None:
        return False, f"cannot compare: on glibc it {failure(glibc, timeout)}"
    ratio = f"time {ratio_to(dropin.seconds, glibc.seconds)} glibc's " \
            f"({dropin.seconds:.2f} s vs {glibc.seconds:.2f} s), " \
            f"{cpu_ratio(dropin.cpu_seconds, glibc.cpu_seconds)}"
    if dropin.failed_step is not None:
        return False, f"{failure(dropin, timeout)}; {ratio}"
    if dropin.transcript != glibc.transcript:
        where = first_difference(glibc.transcript, dropin.transcript)
        return False, f"different output at {where}; {ratio}"
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


def confine(scratch: Path, preload: Path, timeout: float) -> Confinement:
    """The sandbox's view of the staged libraries and its own copy of the launcher, in
    `scratch`, which the sandbox's user may cross but not list."""
    scratch.chmod(0o711)
    launcher = scratch / "launcher"
    shutil.copyfile(sandbox.LAUNCHER, launcher)
    launcher.chmod(0o755)
    return Confinement(launcher, (launcher, preload.parent), limits_for(timeout))


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
    for built in (args.wrapper, sandbox.LAUNCHER):
        if not built.is_file():
            parser.error(f"{built} does not exist: build it with make")

    with tempfile.TemporaryDirectory(prefix="osmem-dropin-") as tmp:
        scratch = Path(tmp)
        preload, problem = stage(args.osmem, args.wrapper, scratch)
        where = "in the sandbox" if sandbox.enabled() else "WITHOUT the sandbox (SANDBOX=0)"
        print(f"osmem drop-in: {args.osmem} under libosmem_malloc.so, compared with glibc "
              f"(timeout {args.timeout:g} s per program, every run {where})", flush=True)
        if preload is None:
            print(f"cannot run: {problem}")
            return 1
        confinement = confine(scratch, preload, args.timeout)
        identical = 0
        for name in names:
            workload = WORKLOADS_BY_NAME[name]
            same, line = verdict(workload, scratch / name, preload, confinement, args.timeout)
            identical += same
            print(f"{name:8} {line}", flush=True)
        print(f"{identical}/{len(names)} programs identical under the drop-in")
    return 0 if identical == len(names) else 1


if __name__ == "__main__":
    sys.exit(main())

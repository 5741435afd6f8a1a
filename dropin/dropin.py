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

Every run of a program, the glibc runs and the kit's own library included (both sides of a
comparison run the same way), is one sandbox (checker/sandbox.py: bwrap as an unprivileged
user, the kit's launcher setting limits and its seccomp filter). It sees /usr, /bin, /lib,
/proc, /dev, the staged libraries and the program's inputs read-only, and a private /tmp of
bounded size, where a shell, the driver, copies the inputs and runs the steps; the checkout
and the runner's files are not visible, nothing of the host is writable, and only the driver's
stdout and stderr (files bounded by the launcher's limit) come out. The driver also hashes the
products and reports the steps' CPU time (`times`: bwrap does not pass its children's resource
usage on).

Each program has a deadline shared by its steps: on a timeout bwrap's process group is killed,
and the sandbox's pid namespace with it, so no library can hang the run. A program that
crashes or times out with the drop-in is not run on glibc (there is nothing to compare).
"""

from __future__ import annotations

import argparse
import re
import shlex
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

import sandbox  # noqa: E402  (the checker's modules are found above)
from report import printable  # noqa: E402
from run import end_group, wait_exit  # noqa: E402
from submission import prepare  # noqa: E402

WRAPPER = ROOT / "build" / "dropin" / "libosmem_malloc.so"
WORKLOADS = DROPIN_DIR / "workloads"
# RLIMIT_AS per process: an os_* library that never gives memory back fails its allocations
# (the program then exits with an error) before the machine runs out of memory.
ADDRESS_SPACE_LIMIT = 8 << 30
PROCESSES = 64                    # per sandbox user: git and gcc start a few each
FILE_SIZE_LIMIT = sandbox.Limits(0).file_size   # a flood of output ends the step (SIGXFSZ)
# Inside the sandbox a shell, the driver, copies the inputs into the work directory (a private
# tmpfs) and runs the steps; on stderr it marks each step's start and, after the last step it
# ran, reports the CPU time of what it waited for (`times`).
SANDBOX_WORK = "/tmp/work"
STEP_MARK = "osmem-dropin: step"
CPU_MARK = "osmem-dropin: cpu"
STEP_LINE = re.compile(rf"^{STEP_MARK} (\d+)\n", re.MULTILINE)
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


SETUP = Step(("cp", "-R", "inputs", "work"))   # what the driver does before the first step


@dataclass(frozen=True)
class Workload:
    name: str
    describe: str                                # for --help
    setup: Callable[[Path], None]               # fills the empty inputs directory
    steps: Callable[[Path], list[Step]]          # what to run on a copy of it, in order
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


def driver_script(steps: list[Step], products: tuple[str, ...], preload: Path | None) -> str:
    """The shell script that runs a workload inside the sandbox: `sh -c SCRIPT sh INPUTS WORK`.
    Its stdout is the transcript: per step the command, its stdout and its exit status, then a
    digest of each product that is a regular file. It stops at the first step that fails and
    exits with its status (128 + the signal's number for a step killed). LD_PRELOAD is set for
    the steps alone, not for the driver or what it runs itself (cp, sha256sum)."""
    preload_for_step = "" if preload is None else f"LD_PRELOAD={shlex.quote(str(preload))} "
    report = f'echo "{CPU_MARK}" >&2; times >&2'
    # A mark starts a line even after a step whose stderr does not end with one.
    mark = f"printf '\\n%s %d\\n' {shlex.quote(STEP_MARK)}"
    lines = [f"{mark} 0 >&2", 'mkdir -p "$2" && cp -R "$1/." "$2" && cd "$2" || exit 125']
    for number, step in enumerate(steps, start=1):
        stdin = shlex.quote(step.stdin) if step.stdin else "/dev/null"
        lines += [f"{mark} {number} >&2",
                  f"printf '%s\\n' {shlex.quote(f'$ {step}')}",
                  f"{preload_for_step}{shlex.join(step.argv)} < {stdin}; status=$?",
                  'echo "exit $status"',
                  f'[ "$status" -eq 0 ] || {{ {report}; exit "$status"; }}']
    lines.append(report)
    for pattern in products:
        lines.append(f'for f in {pattern}; do '
                     'if [ -f "$f" ] && [ ! -L "$f" ]; then '
                     'printf "%s sha256 %s\\n" "$f" "$(sha256sum < "$f" | cut -d " " -f 1)"; '
                     'elif [ -e "$f" ] || [ -L "$f" ]; then '
                     'printf "%s not a regular file\\n" "$f"; fi; done')
    return "\n".join(lines) + "\n"


def driver_command(script: str, inputs: Path, work: str, confinement: Confinement,
                   watch: sandbox.EndWatch) -> list[str]:
    """bwrap (unless SANDBOX=0; watched by `watch`), the launcher, and the driver."""
    launch = sandbox.launcher_command(str(confinement.launcher), confinement.limits,
                                      ["/bin/sh", "-c", script, "sh", str(inputs), work])
    if not sandbox.enabled():
        return launch
    read_only = {str(path): path for path in (*confinement.read_only, inputs)}
    return sandbox.bwrap_command(read_only, {}, environment(Path(work) / "home"), "/tmp",
                                 tools=True, info_fd=watch.fd) + launch


def signal_of(returncode: int | None) -> int | None:
    """The signal a status reports: bwrap and the shell both exit with 128 + its number (so a
    step that exits 139 by itself reads as SIGSEGV, as in a shell)."""
    if returncode is None or returncode <= 128:
        return None
    number = returncode - 128
    return number if number in signal.valid_signals() else None


def driver_report(stderr: str, returncode: int | None) -> tuple[int | None, str, float | None]:
    """From the driver's stderr: (the number of the last step it started, 0 for its setup,
    None if it said nothing; that step's own stderr; the CPU seconds of the steps, None if not
    reported). The driver's line on a step it saw killed ("Segmentation fault") is not the
    step's."""
    cpu_seconds = None
    head, mark, report = stderr.rpartition(CPU_MARK + "\n")
    times = report.splitlines()
    found = TIMES_LINE.fullmatch(times[1]) if mark and len(times) == 2 else None
    if found is not None:
        stderr = head
        minutes_user, user, minutes_system, system = found.groups()
        cpu_seconds = 60 * (int(minutes_user) + int(minutes_system)) + float(user) + float(system)
    starts = list(STEP_LINE.finditer(stderr))
    if not starts:
        return None, stderr, cpu_seconds
    own = stderr[starts[-1].end():]
    number = signal_of(returncode)
    if number is not None:
        driver_said = signal.strsignal(number) or ""
        for said in (driver_said + " (core dumped)\n", driver_said + "\n"):
            if own.endswith(said) and own[:-len(said)][-1:] in ("", "\n"):
                own = own[:-len(said)]
                break
    return int(starts[-1][1]), own, cpu_seconds


def run_workload(workload: Workload, run_dir: Path, preload: Path | None,
                 confinement: Confinement, timeout: float) -> Outcome:
    """Runs the steps in order until one fails, in one sandbox. CPU time is reported besides
    wall time because it hardly depends on what else the (shared) machine is doing."""
    inputs = run_dir / "inputs"
    (inputs / "home").mkdir(parents=True)
    for directory in (run_dir.parent, run_dir):
        directory.chmod(0o755)          # the sandbox's user reaches inputs/ through them
    workload.setup(inputs)
    sandbox.hand_over(inputs)           # and reads it, whatever the umask
    steps = workload.steps(inputs)
    # In the sandbox, the work directory is in its private /tmp: bounded, and gone with it.
    work = SANDBOX_WORK if sandbox.enabled() else str(run_dir / "work")
    with open(run_dir / "stdout", "w+b") as out, open(run_dir / "stderr", "w+b") as err, \
            sandbox.EndWatch(sandbox.enabled()) as watch:
        command = driver_command(driver_script(steps, workload.products, preload), inputs, work,
                                 confinement, watch)
        start = time.monotonic()
        try:
            process = subprocess.Popen(command, cwd=run_dir, env=environment(Path(work) / "home"),
                                       stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                       start_new_session=True, pass_fds=watch.pass_fds,
                                       **sandbox.as_sandbox_user())
        except FileNotFoundError as error:
            return Outcome([], 0.0, None, SETUP, 127,
                           f"{error.filename}: not installed (make dropin installs it)")
        watch.started()
        try:
            returncode = wait_exit(process, timeout)
        finally:
            end_group(process, watch)            # bwrap, and with it the sandbox's processes
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        transcript = out.read().decode("utf-8", "replace").splitlines()
        number, stderr, cpu_seconds = driver_report(err.read().decode("utf-8", "replace"),
                                                    returncode)
    if returncode == 0:
        return Outcome(transcript, seconds, cpu_seconds)
    failed = steps[number - 1] if number is not None and 1 <= number <= len(steps) else SETUP
    tail = printable((stderr.strip().splitlines() or [""])[-1][:STDERR_SHOWN])
    return Outcome(transcript, seconds, cpu_seconds, failed, returncode, tail)


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

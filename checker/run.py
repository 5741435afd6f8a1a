"""The run stage of the pipeline: run one test program under a tracer and keep what it left behind.

Nothing is interpreted here: the result is the raw trace text, the program's own output and how
it ended. Whatever the graded library does (crash, hang, flood the terminal, fork), this stage
returns within ``timeout`` seconds with bounded output, so the checker itself never hangs.

The program runs in the sandbox (sandbox.py), started by the kit's launcher; the tracer runs
outside it and follows every process, bwrap's included, into a file the sandbox cannot see.
The parser finds the program in that trace (its execve), and strace's -i shows where each
write came from, so markers a library writes itself are recognised as forged.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import select
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import sandbox

CHECKER_DIR = Path(__file__).resolve().parent
# The strace tracer's call markers (checker/markers.c), built by `make`.
MARKERS_LIB = CHECKER_DIR.parent / "build" / "libosmem_markers.so"
LTRACE_CONFIGS = (CHECKER_DIR / "ltrace" / "osmem.conf", CHECKER_DIR / "ltrace" / "syscalls.conf")
TRACERS = ("strace", "ltrace")

OUTPUT_LIMIT = 64 * 1024          # bytes kept of the program's stdout and stderr each
FILE_SIZE_LIMIT = 64 * 1024 * 1024  # RLIMIT_FSIZE: a flood of output ends the run with SIGXFSZ
TRACE_LIMIT = 8 * 1024 * 1024     # bytes of trace parsed at most


@dataclass(frozen=True)
class Run:
    program: str
    tracer: str
    trace: str
    stdout: str
    stderr: str
    returncode: int | None      # None when the run was killed for taking too long
    timeout: float
    trace_truncated: bool = False

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    @property
    def output_flooded(self) -> bool:
        """The tracer or the program hit the file size limit (the tracer dies of SIGXFSZ too)."""
        return self.returncode == -signal.SIGXFSZ or "+++ killed by SIGXFSZ" in self.trace


@dataclass(frozen=True)
class Options:
    """What a kit test may add to a run: strace options (fault injection), environment
    variables for the program, ASLR off (`setarch -R`) for reproducible addresses."""

    strace_options: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    aslr: bool = True
    # False only for the kit's own fault injection: strace injects into every process it
    # traces, the sandbox's own included. Graded runs are always sandboxed (unless SANDBOX=0).
    sandbox: bool = True


def tracer_command(tracer: str, launch: list[str], trace_file: Path, env: dict[str, str],
                   confined: bool, options: Options = Options()) -> list[str]:
    """The command line that runs `launch` (the sandbox's or the launcher's command line) under
    `tracer`, following every process. The tracer stays outside the sandbox, as the checker's
    user: its output file is out of the traced processes' reach. `env` is passed to the program
    by the tracer when nothing else does (no sandbox, strace)."""
    as_user = ["-u", sandbox.unprivileged_user()] if confined and sandbox.drops_privileges() \
        else []
    if tracer == "strace":
        passed = [] if confined else [arg for key, value in env.items() for arg in ("-E",
                                                                                 f"{key}={value}")]
        command = ["strace", "-f", "-i", "-X", "raw", "-s", "256", "-o", str(trace_file),
                   *as_user, *passed, *options.strace_options, "--", *launch]
    elif tracer == "ltrace":
        if options.strace_options:
            raise ValueError("strace options given to the ltrace tracer")
        configs = [arg for conf in LTRACE_CONFIGS for arg in ("-F", str(conf))]
        command = ["ltrace", "-f", *as_user, *configs, "-S", "-e", "os_*", "-o", str(trace_file),
                   "--", *launch]
    else:
        raise ValueError(f"unknown tracer {tracer!r}; choose one of {', '.join(TRACERS)}")
    if not options.aslr:
        command = ["setarch", platform.machine(), "-R", *command]
    return command


def _stage_files(files: Path, program: Path, lib_dir: Path, markers: Path,
                 args: list[str]) -> tuple[dict[str, Path], list[str]]:
    """Copies what the run needs into `files`: {name: copy}, and the arguments with every
    argument that names a file replaced by the copy's name (the sandbox sees only copies)."""
    files.mkdir(mode=0o755)
    wanted = {"launcher": sandbox.LAUNCHER, program.name: program,
              "lib/libosmem.so": lib_dir / "libosmem.so", "lib/" + markers.name: markers}
    renamed = []
    for index, arg in enumerate(args):
        if Path(arg).is_file():
            wanted[f"input-{index}"] = Path(arg)
            renamed.append(f"input-{index}")
        else:
            renamed.append(arg)
    staged = {}
    for name, source in wanted.items():
        if not source.exists():
            continue                  # the run reports what is missing (the loader says it)
        target = files / name
        target.parent.mkdir(mode=0o755, exist_ok=True)
        sandbox.copy_executable(source, target)
        staged[name] = target
    return staged, renamed


def _launch(work: Path, program: Path, lib_dir: Path, tracer: str, markers: Path,
            timeout: float, args: list[str], options: Options,
            confined: bool, info_fd: int) -> tuple[list[str], dict[str, str]]:
    """The command the tracer starts (bwrap, which reports on `info_fd`; or, unconfined, the
    launcher itself) and the program's environment."""
    staged, args = _stage_files(work / "files", program, lib_dir, markers, args)
    # The sandbox sees the copies at their host paths: ltrace reads the program's ELF by the
    # path the program has inside, so that path must be the same outside.
    root = str(work / "files")
    inside = {name: f"{root}/{name}" for name in staged}
    inputs = [inside.get(arg, arg) for arg in args]
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "LD_LIBRARY_PATH": f"{root}/lib",
           **dict(options.env)}
    if tracer == "strace":
        env["LD_PRELOAD"] = inside["lib/" + markers.name]
    if "launcher" not in inside:
        raise LauncherMissing(f"the kit's launcher {sandbox.LAUNCHER} is missing: run `make`")
    launch = sandbox.launcher_command(inside["launcher"], sandbox.Limits.for_timeout(timeout),
                                      [inside[program.name], *inputs])
    if confined:
        launch = sandbox.bwrap_command({root: work / "files"}, {}, env, "/tmp",
                                       info_fd=info_fd) + launch
    return launch, env


def wait_exit(process: subprocess.Popen, timeout: float) -> int | None:
    """`process`'s exit status, or None if it is still running after `timeout` seconds.
    Popen.wait(timeout) polls, sleeping up to 50 ms between two looks, so each run would end
    up to 50 ms after its program; a pidfd wakes us when it exits."""
    try:
        pidfd = os.pidfd_open(process.pid)
    except OSError:                  # it has been reaped already, or no pidfd here
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        if not poller.poll(max(0, int(timeout * 1000))):
            return None
    finally:
        os.close(pidfd)
    return process.wait()


def end_group(process: subprocess.Popen, watch: sandbox.EndWatch | None = None) -> None:
    """Kills the process group that `process` leads (it was started with start_new_session, so
    the group holds whatever it forked too), reaps `process`, and waits until the processes of
    the sandbox that `watch` watches are gone too."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
    if watch:
        watch.wait()


def _limit_child() -> None:
    """The tracer's own limits (the program's are the launcher's): bounded trace and output
    files, no core dump."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _read_capped(path: Path, limit: int) -> tuple[str, bool]:
    with open(path, "rb") as stream:
        data = stream.read(limit + 1)
    return data[:limit].decode("utf-8", "replace"), len(data) > limit


# The kit's launcher could not be started: the tracer's own words when exec failed on the copy
# made a moment before, which nothing of the submission has touched yet, or the launcher not
# found when it was to be copied. The kit's failure, never the submission's. Seen on a loaded
# machine about once in 2,500 fuzz runs, "strace: exec: Exec format error" and once the
# launcher not found, although its file was there before and after, unchanged; the cause is not
# known. So such a run is made again, after a pause, up to two more times, and what the copy
# held is added to the report. (A program printing the same words first gains nothing: its run
# is made again, and the last run counts.)
TRACER_COULD_NOT_START = re.compile(r'^(strace: exec: |"[^"]*" is not an ELF file)')
START_ATTEMPTS = 3
START_PAUSE = 1.0              # seconds between two attempts


class LauncherMissing(FileNotFoundError):
    """The kit's launcher was not there to be copied into the run."""


def run_traced(program: Path, lib_dir: Path, tracer: str, markers: Path, timeout: float,
               args: list[str] | None = None, options: Options = Options()) -> Run:
    for attempt in range(START_ATTEMPTS):
        if attempt:
            time.sleep(START_PAUSE)
        try:
            run = _run_traced_once(program, lib_dir, tracer, markers, timeout, args, options)
        except LauncherMissing:
            if attempt == START_ATTEMPTS - 1:
                raise
            continue
        if not TRACER_COULD_NOT_START.match(run.stderr):
            break
    return run


def _run_traced_once(program: Path, lib_dir: Path, tracer: str, markers: Path, timeout: float,
                     args: list[str] | None, options: Options) -> Run:
    confined = options.sandbox and sandbox.enabled()
    with tempfile.TemporaryDirectory(prefix="osmem-run-") as tmp, \
            sandbox.EndWatch(confined) as watch:
        work = Path(tmp)
        work.chmod(0o711)             # the sandbox's user may reach files/, never the trace
        trace_file = work / "trace"
        trace_file.touch(mode=0o600)
        launch, env = _launch(work, program, lib_dir, tracer, markers, timeout, args or [],
                              options, confined, watch.fd)
        command = tracer_command(tracer, launch, trace_file, env, confined, options)
        tracer_env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}
        if tracer == "ltrace" and not confined:
            tracer_env.update(env)
        with open(work / "stdout", "wb") as out, open(work / "stderr", "wb") as err:
            process = sandbox.popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    env=tracer_env, cwd=work, start_new_session=True,
                                    preexec_fn=_limit_child, pass_fds=watch.pass_fds)
            watch.started()
            try:
                returncode = wait_exit(process, timeout)
            finally:
                # The tracer and the sandbox share one process group; the sandbox's own
                # processes die with it (bwrap --die-with-parent, then its pid namespace).
                # Without the sandbox, the program and what it forked share that group.
                end_group(process, watch)
        trace, truncated = ("", False)
        if trace_file.exists():
            trace, truncated = _read_capped(trace_file, TRACE_LIMIT)
        stdout, _ = _read_capped(work / "stdout", OUTPUT_LIMIT)
        stderr, _ = _read_capped(work / "stderr", OUTPUT_LIMIT)
        if TRACER_COULD_NOT_START.match(stderr):
            stderr += _staged_launcher_state(work / "files" / "launcher")
    return Run(program.name, tracer, trace, stdout, stderr, returncode, timeout, truncated)


def _staged_launcher_state(copy: Path) -> str:
    """What the tracer found when it could not start the launcher's copy, for the report."""
    try:
        head = copy.read_bytes()[:4]
        return (f"(the launcher's copy: {copy.stat().st_size} bytes of "
                f"{sandbox.LAUNCHER.stat().st_size}, starting {head!r})\n")
    except OSError as error:
        return f"(the launcher's copy: {error})\n"


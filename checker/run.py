"""Stage 1 of the pipeline: run one test program under a tracer and keep what it left behind.

Nothing is interpreted here: the result is the raw trace text, the program's own output and how
it ended. Whatever the graded library does (crash, hang, flood the terminal, fork), this stage
returns within ``timeout`` seconds with bounded output, so the checker itself never hangs.
"""

from __future__ import annotations

import os
import platform
import resource
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

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
    variables for the program, and ASLR off (`setarch -R`) for reproducible addresses."""

    strace_options: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    aslr: bool = True


def tracer_command(tracer: str, program: Path, lib_dir: Path, markers: Path,
                   trace_file: Path, args: list[str],
                   options: Options = Options()) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that run `program` under `tracer`."""
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}
    program_env = (("LD_LIBRARY_PATH", str(lib_dir)),) + options.env
    if tracer == "strace":
        command = ["strace", "-f", "-X", "raw", "-s", "256", "-o", str(trace_file),
                   *(arg for key, value in program_env for arg in ("-E", f"{key}={value}")),
                   "-E", f"LD_PRELOAD={markers}", *options.strace_options,
                   "--", str(program), *args]
    elif tracer == "ltrace":
        if options.strace_options:
            raise ValueError("strace options given to the ltrace tracer")
        configs = [arg for conf in LTRACE_CONFIGS for arg in ("-F", str(conf))]
        command = ["ltrace", *configs, "-S", "-e", "os_*", "-o", str(trace_file),
                   "--", str(program), *args]
        env.update(program_env)
    else:
        raise ValueError(f"unknown tracer {tracer!r}; choose one of {', '.join(TRACERS)}")
    if not options.aslr:
        command = ["setarch", platform.machine(), "-R", *command]
    return command, env


def _limit_child() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _read_capped(path: Path, limit: int) -> tuple[str, bool]:
    with open(path, "rb") as stream:
        data = stream.read(limit + 1)
    return data[:limit].decode("utf-8", "replace"), len(data) > limit


def run_traced(program: Path, lib_dir: Path, tracer: str, markers: Path, timeout: float,
               args: list[str] | None = None, options: Options = Options()) -> Run:
    with tempfile.TemporaryDirectory(prefix="osmem-run-") as tmp:
        work = Path(tmp)
        trace_file = work / "trace"
        command, env = tracer_command(tracer, program, lib_dir, markers, trace_file, args or [],
                                      options)
        with open(work / "stdout", "wb") as out, open(work / "stderr", "wb") as err:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                       env=env, cwd=work, start_new_session=True,
                                       preexec_fn=_limit_child)
            try:
                returncode: int | None = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                returncode = None
            finally:
                # The tracer, the program and anything it forked share one process group.
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait()
        trace, truncated = ("", False)
        if trace_file.exists():
            trace, truncated = _read_capped(trace_file, TRACE_LIMIT)
        stdout, _ = _read_capped(work / "stdout", OUTPUT_LIMIT)
        stderr, _ = _read_capped(work / "stderr", OUTPUT_LIMIT)
    return Run(program.name, tracer, trace, stdout, stderr, returncode, timeout, truncated)

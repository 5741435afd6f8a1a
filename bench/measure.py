"""Running bench_replay: one timed run of a contender on a workload, or one untimed run under
strace that counts the allocator's brk/mmap calls and its footprint.

Invariants:
  - every run ends within its timeout: the driver (and strace's tracee) run in their own process
    group, killed whole when time is up, and the run is then "timed out", never retried;
  - a run that exits non-zero is a failure with the driver's one-line reason (a broken
    allocator is reported, not timed);
  - the strace run counts only the calls between bench_replay's pass markers, so the driver's
    own start-up (loading libraries) is not charged to the allocator;
  - the driver runs with the plain environment plus the contender's own (LD_PRELOAD,
    GLIBC_TUNABLES), in the timed run and, through strace's -E, in the counting run; strace
    itself gets the plain one.
"""

from __future__ import annotations

import json
import re
import resource
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from contenders import Contender
from run import end_group  # the checker's (contenders puts checker/ on the path)

MEMORY_CALLS = ("brk", "mmap", "munmap", "mremap")
DRIVER_PREFIX = "bench_replay: "
VERDICTS = {2: "bad workload", 3: "failed", 4: "too slow"}   # bench_replay's exit statuses
FILE_SIZE_LIMIT = 1 << 30       # RLIMIT_FSIZE: the strace output of a flood of syscalls
OUTPUT_LIMIT = 1 << 20          # bytes kept of stdout and stderr (a result is ~25 bytes a pass)
PLAIN_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}   # every run's, strace's included


@dataclass(frozen=True)
class Outcome:
    """What one run of bench_replay gave: its JSON result, or why there is none."""

    result: dict | None = None
    problem: str = ""           # "timed out after 20 s", "failed: <driver's reason>"
    trace: str = ""             # the strace output, for a counting run

    @property
    def ok(self) -> bool:
        return self.result is not None


def _command(driver: Path, contender: Contender, workload_spec: str,
             options: list[str]) -> list[str]:
    args = [str(driver), *options]
    if contender.osmem_library:
        args += ["--osmem", contender.osmem_library]
    return args + [workload_spec]


def _limit_child() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _run(command: list[str], env: dict[str, str], timeout: float) -> tuple[int | None, str, str]:
    with subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, start_new_session=True,
                          preexec_fn=_limit_child) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
            returncode: int | None = process.returncode
        except subprocess.TimeoutExpired:
            stdout, stderr, returncode = "", "", None
        finally:
            # the driver (and strace's tracee) and anything an os_* library forked: one group
            end_group(process)
    return returncode, stdout[-OUTPUT_LIMIT:], stderr[-OUTPUT_LIMIT:]


def _outcome(returncode: int | None, stdout: str, stderr: str, timeout: float) -> Outcome:
    if returncode is None:
        return Outcome(problem=f"timed out after {timeout:g} s")
    if returncode != 0:
        reason = stderr.strip().splitlines()[-1] if stderr.strip() else ""
        if reason.startswith(DRIVER_PREFIX):    # the table names the workload already
            reason = reason.split(": ", 2)[-1]
        if returncode < 0:
            reason = f"killed by {signal.Signals(-returncode).name} {reason}".strip()
        verdict = VERDICTS.get(returncode, "failed")
        return Outcome(problem=f"{verdict}: {reason or f'exit status {returncode}'}")
    try:
        return Outcome(result=json.loads(stdout))
    except json.JSONDecodeError:
        return Outcome(problem=f"failed: unreadable output {stdout[:80]!r}")


def timed_run(driver: Path, contender: Contender, workload_spec: str, timeout: float,
              min_seconds: float, budget: float, fill_limit: float) -> Outcome:
    command = _command(driver, contender, workload_spec,
                       ["--min-seconds", f"{min_seconds:g}", "--budget", f"{budget:g}",
                        "--fill-limit", f"{fill_limit:g}"])
    return _outcome(*_run(command, PLAIN_ENV | contender.environment, timeout), timeout)


def counting_run(driver: Path, contender: Contender, workload_spec: str, timeout: float,
                 budget: float, fill_limit: float) -> Outcome:
    """The checking pass and one more, under strace (untimed: strace slows every syscall)."""
    command = _command(driver, contender, workload_spec,
                       ["--max-passes", "2", "--min-seconds", "0", "--budget", f"{budget:g}",
                        "--fill-limit", f"{fill_limit:g}"])
    with tempfile.TemporaryDirectory(prefix="osmem-bench-") as tmp:
        trace_file = Path(tmp) / "trace"
        strace = ["strace", "-f", "-qq", "-e", "trace=" + ",".join(MEMORY_CALLS) + ",write",
                  "-o", str(trace_file)]
        # the contender's variables go to the traced program alone: strace runs on plain glibc
        strace += [arg for key, value in contender.environment.items()
                   for arg in ("-E", f"{key}={value}")]
        returncode, stdout, stderr = _run(strace + ["--"] + command, PLAIN_ENV, timeout)
        outcome = _outcome(returncode, stdout, stderr, timeout)
        if outcome.ok:
            outcome = Outcome(outcome.result, "", trace_file.read_text(errors="replace"))
    return outcome


# ---- reading the strace output ----------------------------------------------------------------

_CALL = re.compile(r"^(?:\d+ +)?(\w+)\((.*)\) += (-?\w+)")
_MARKER = re.compile(r'"osmem-bench: pass (\d+) (begin|end)"')


@dataclass
class MemoryCalls:
    """The allocator's memory calls, pass by pass (pass 0 fills the steady state), and the
    largest footprint they made: the heap's extent above the break the driver started from,
    plus the bytes of its live mappings."""

    per_pass: dict[int, int] = field(default_factory=dict)
    peak_footprint: int = 0


def count_memory_calls(trace: str, brk_start: int) -> MemoryCalls:
    counted = MemoryCalls()
    current: int | None = None
    heap_end = brk_start
    mappings: dict[int, int] = {}
    mapped = 0
    for line in trace.splitlines():
        match = _CALL.match(line)
        if not match:
            continue
        name, args, result = match.groups()
        if name == "write":
            marker = _MARKER.search(args)
            if marker:
                current = int(marker.group(1)) if marker.group(2) == "begin" else None
            continue
        if current is None or name not in MEMORY_CALLS:
            continue
        counted.per_pass[current] = counted.per_pass.get(current, 0) + 1
        words = [word.strip() for word in args.split(",")]
        value = int(result, 0) if result.lstrip("-").startswith("0x") or \
            result.lstrip("-").isdigit() else -1
        if name == "brk" and value > 0:
            heap_end = max(heap_end, value)
        elif name == "mmap" and value > 0:
            mappings[value] = int(words[1], 0)
            mapped += mappings[value]
        elif name == "munmap" and value == 0:
            mapped -= mappings.pop(int(words[0], 0), 0)
        elif name == "mremap" and value > 0:
            mapped -= mappings.pop(int(words[0], 0), 0)
            mappings[value] = int(words[2], 0)
            mapped += mappings[value]
        footprint = heap_end - brk_start + mapped
        counted.peak_footprint = max(counted.peak_footprint, footprint)
    return counted

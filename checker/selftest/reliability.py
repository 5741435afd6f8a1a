"""Helpers of the reliability tests (issue 4): traced runs with ASLR off and fault injection.

The figures the tests measure (bad inputs tried, faults injected and survived) are attached to
their reports as user properties ``("reliability", (label, count))``; the selftest conftest sums
them over all tests (and xdist workers) and prints one line per label at the end of the run.
"""

from __future__ import annotations

import platform
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from support import MARKERS_LIB, ROOT

RELIABILITY_BIN = ROOT / "build" / "reliability"
LIB_DIR = ROOT / "src"
TIMEOUT = 20.0

_LINE = re.compile(r"^(?P<pid>\d+)\s+(?P<rest>.*)$")
_SYSCALL = re.compile(r"^(?P<name>\w+)\((?P<args>.*)\)\s+=\s+(?P<ret>\S+)")
_MARKER = re.compile(r'^write\(-1, "osmem:(?P<kind>call|ret) ')


@dataclass(frozen=True)
class Traced:
    trace: str
    stdout: str
    stderr: str
    returncode: int


def run_traced(program: Path, args: list[str], *, inject: tuple[str, ...] = (),
               env: dict[str, str] | None = None, aslr: bool = False) -> Traced:
    """Runs `program` under strace with the call markers (ASLR off unless `aslr`)."""
    with tempfile.TemporaryDirectory(prefix="osmem-rel-") as tmp:
        trace_file = Path(tmp) / "trace"
        extra_env = [arg for key, value in (env or {}).items() for arg in ("-E", f"{key}={value}")]
        command = ["strace", "-f", "-X", "raw", "-s", "256", "-o", str(trace_file),
                   "-E", f"LD_LIBRARY_PATH={LIB_DIR}", "-E", f"LD_PRELOAD={MARKERS_LIB}",
                   *extra_env, *inject, "--", str(program), *args]
        if not aslr:
            command = ["setarch", platform.machine(), "-R", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT,
                              env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
                              stdin=subprocess.DEVNULL)
        return Traced(trace_file.read_text(errors="replace"), done.stdout, done.stderr,
                      done.returncode)


@dataclass(frozen=True)
class FaultPosition:
    """One brk or mmap made inside an os_* call, as counted by strace's `when=`."""

    syscall: str           # "brk" or "mmap"
    ordinal: int           # the N-th call of that syscall in the process (ld.so's included)
    call_index: int        # which top-level os_* call made it (0-based)
    syscall_index: int     # its place among that call's syscalls (0-based)
    current_break: int     # the break before it (the value a failed brk returns)

    def inject(self) -> tuple[str, ...]:
        if self.syscall == "brk":
            # The kernel's brk fails by returning the unchanged break, never an error code.
            return ("-e", f"inject=brk:retval={self.current_break:#x}:when={self.ordinal}")
        return ("-e", f"inject=mmap:error=ENOMEM:when={self.ordinal}")

    def injected_ret(self) -> int | str:
        return self.current_break if self.syscall == "brk" else "ENOMEM"

    def describe(self) -> str:
        return (f"{self.syscall} #{self.ordinal} (syscall {self.syscall_index} of os_* call "
                f"#{self.call_index})")


def fault_positions(trace: str) -> list[FaultPosition]:
    """Every brk (except brk(0) queries, which cannot fail) and mmap inside an os_* call."""
    positions: list[FaultPosition] = []
    counts = {"brk": 0, "mmap": 0}
    depth, call_index, syscall_index, current_break = 0, -1, 0, 0
    main_pid = None
    for raw in trace.splitlines():
        line = _LINE.match(raw)
        if not line:
            continue
        main_pid = main_pid or line["pid"]
        if line["pid"] != main_pid:
            continue
        rest = line["rest"]
        if marker := _MARKER.match(rest):
            if marker["kind"] == "call":
                if depth == 0:
                    call_index += 1
                    syscall_index = 0
                depth += 1
            else:
                depth -= 1
            continue
        syscall = _SYSCALL.match(rest)
        if not syscall:
            continue
        name = syscall["name"]
        if name in counts:
            counts[name] += 1
        if depth > 0:
            if name == "mmap" or (name == "brk" and syscall["args"] not in ("NULL", "0")):
                positions.append(FaultPosition(name, counts[name], call_index, syscall_index,
                                               current_break))
            syscall_index += 1
        if name == "brk":
            current_break = int(syscall["ret"], 0)
    return positions

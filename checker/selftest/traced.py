"""Traced runs of the reference library for the kit's own tests: ASLR off, and where in a
trace a syscall fault can be injected.

The figures those tests measure (bad inputs tried, faults injected and survived) are attached
to their reports as user properties ``("reliability", (label, count))``; checker/selftest_plugin.py
sums them over all tests (and xdist workers) and prints one line per label at the end of the
run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import run
from parse import parse_strace
from run import Options, Run
from support import MARKERS_LIB, ROOT

INSTRUMENTS_BIN = ROOT / "build" / "instruments"
LIB_DIR = ROOT / "src"
TIMEOUT = 20.0

def run_traced(program: Path, args: list[str], *, inject: tuple[str, ...] = (),
               env: dict[str, str] | None = None, aslr: bool = False) -> Run:
    """Runs `program` with the reference library under strace with the call markers, ASLR off
    unless `aslr` (the checker's own run stage, with the fault injection options)."""
    options = Options(inject, tuple((env or {}).items()), aslr)
    return run.run_traced(program, LIB_DIR, "strace", MARKERS_LIB, TIMEOUT, args, options)


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
    parsed = parse_strace(trace)
    positions: list[FaultPosition] = []
    current_break = parsed.initial_break or 0
    for call_index, call in enumerate(parsed.calls):
        for syscall_index, syscall in enumerate(call.syscalls):
            if syscall.name == "mmap" or (syscall.name == "brk" and syscall.args != (0,)):
                positions.append(FaultPosition(syscall.name, syscall.nth, call_index,
                                               syscall_index, current_break))
            if syscall.name == "brk" and isinstance(syscall.ret, int):
                current_break = syscall.ret
    return positions

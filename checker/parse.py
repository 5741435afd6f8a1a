"""Stage 2 of the pipeline: turn a raw strace or ltrace trace into top-level os_* calls.

Both parsers produce the same structure: the process's first program break, and each top-level
call with its raw arguments, return value and the syscalls made while it ran. Calls of os_*
made from inside os_* are folded into the outer call. Numbers stay numbers; giving them names
(HeapStart, <mapped-addrN>) is the next stage's job.

strace sees call boundaries through the markers that checker/markers.c writes to fd -1;
ltrace sees the calls themselves (``prog->os_malloc(10 <unfinished ...>`` ...
``<... os_malloc resumed> ) = 0x...``) with ``-S`` interleaving the syscalls.
"""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass, field
from typing import Iterator

ERRNO_RANGE = 4095  # the kernel returns -1..-4095 for errors


@dataclass(frozen=True)
class Syscall:
    name: str
    args: tuple[int | str, ...]   # numbers parsed, anything else kept as text
    ret: int | str                # a number, or an errno name such as "ENOMEM"
    # Its number among the process's syscalls of this name, from 1, ld.so's included: what
    # strace's fault injection counts in `-e inject=NAME:when=N`.
    nth: int = field(default=0, compare=False)


@dataclass
class TracedCall:
    func: str
    args: tuple[int, ...]
    ret: int | None = None        # None for os_free, and for a call that never returned
    syscalls: list[Syscall] = field(default_factory=list)
    returned: bool = False


@dataclass
class Trace:
    initial_break: int | None
    calls: list[TracedCall]
    ending: str                   # "exited with 0", "killed by SIGSEGV", or "" if not seen
    notes: list[str] = field(default_factory=list)   # what the parser could not make sense of


class TraceError(ValueError):
    pass


def parse_number(text: str) -> int | str:
    text = text.strip()
    if text in ("NULL", "nil"):
        return 0
    try:
        return int(text, 0)
    except ValueError:
        return text


def split_args(text: str) -> tuple[int | str, ...]:
    """Splits a syscall's argument list at top-level commas (strings and braces kept whole)."""
    args: list[str] = []
    depth, quoted, current = 0, False, []
    previous = ""
    for char in text:
        if quoted:
            if char == '"' and previous != "\\":
                quoted = False
        elif char == '"':
            quoted = True
        elif char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
        elif char == "," and depth == 0:
            args.append("".join(current))
            current = []
            previous = char
            continue
        current.append(char)
        previous = char
    if current or args:
        args.append("".join(current))
    return tuple(parse_number(arg) for arg in args)


def _errno_value(ret: int | str) -> int | str:
    """ltrace prints a failed syscall's raw return: -12 or 0xfffffffffffffff4 both mean ENOMEM."""
    if isinstance(ret, int):
        signed = ret - (1 << 64) if ret >= 1 << 63 else ret
        if -ERRNO_RANGE <= signed < 0:
            return errno.errorcode.get(-signed, f"E{-signed}")
    return ret


class _CallBuilder:
    """Collects calls and syscalls, folding nested os_* calls into the outermost one."""

    def __init__(self) -> None:
        self.initial_break: int | None = None
        self.calls: list[TracedCall] = []
        self.depth = 0
        self.counts: dict[str, int] = {}
        self.notes: list[str] = []

    @property
    def current(self) -> TracedCall | None:
        return self.calls[-1] if self.depth > 0 else None

    def syscall(self, name: str, args: tuple[int | str, ...], ret: int | str) -> None:
        self.counts[name] = nth = self.counts.get(name, 0) + 1
        if self.initial_break is None and name == "brk" and isinstance(ret, int):
            self.initial_break = ret
        if self.current is not None:
            self.current.syscalls.append(Syscall(name, args, ret, nth))

    def enter(self, func: str, args: tuple[int, ...]) -> None:
        if self.depth == 0:
            self.calls.append(TracedCall(func, args))
        self.depth += 1

    def leave(self, func: str, ret: int | None) -> None:
        if self.depth == 0:
            self.notes.append(f"return from {func} without a call")
            return
        self.depth -= 1
        if self.depth == 0:
            call = self.calls[-1]
            call.ret = ret
            call.returned = True

    def trace(self, ending: str) -> Trace:
        return Trace(self.initial_break, self.calls, ending, self.notes)


def _int_args(text: str, func: str) -> tuple[int, ...]:
    values = split_args(text) if text.strip() else ()
    if not all(isinstance(v, int) for v in values):
        raise TraceError(f"non-numeric arguments to {func}: {text!r}")
    return tuple(v for v in values if isinstance(v, int))


def _ret_value(text: str) -> int | None:
    text = text.strip()
    if text in ("<void>", "?"):
        return None
    value = parse_number(text)
    return value if isinstance(value, int) else None


# ---- strace -------------------------------------------------------------------------------

_STRACE_LINE = re.compile(r"^(?:\[pid\s+)?(?P<pid>\d+)\]?\s+(?P<rest>.*)$")
_STRACE_SYSCALL = re.compile(r"^(?P<name>\w+)\((?P<args>.*)\)\s+=\s+(?P<ret>.*)$")
_STRACE_ERROR = re.compile(r"^-1 (?P<errno>E[A-Z0-9]+)")
_MARKER = re.compile(r'^write\(-1, "osmem:(?P<kind>call|ret) (?P<text>[^"]*)", \d+\)')
_ENDING = re.compile(r"^\+\+\+ (?P<ending>.*) \+\+\+$")


_UNFINISHED = " <unfinished ...>"
_RESUMED = re.compile(r"^<\.\.\. \w+ resumed>\s?(?P<rest>.*)$")


def _whole_lines(text: str) -> Iterator[tuple[str, str]]:
    """(pid, line) pairs, with syscalls that other processes interrupted joined again.

    With several processes strace prints ``brk(NULL <unfinished ...>`` and later, for the same
    pid, ``<... brk resumed>) = 0x...``; the joined line stands where the call completed.
    """
    pending: dict[str, str] = {}
    for raw in text.splitlines():
        match = _STRACE_LINE.match(raw)
        if not match:
            continue
        pid, line = match["pid"], match["rest"]
        if line.endswith(_UNFINISHED):
            pending[pid] = line[:-len(_UNFINISHED)]
            continue
        resumed = _RESUMED.match(line)
        if resumed and pid in pending:
            line = pending.pop(pid) + resumed["rest"]
        yield pid, line


def parse_strace(text: str) -> Trace:
    builder = _CallBuilder()
    main_pid: str | None = None
    ending = ""
    for pid, line in _whole_lines(text):
        main_pid = main_pid or pid
        marker = _MARKER.match(line)
        if marker and pid == main_pid:
            words = marker["text"].split()
            func, values = words[0], words[1:]
            if marker["kind"] == "call":
                builder.enter(func, _int_args(", ".join(values), func))
            else:
                builder.leave(func, _ret_value(values[0]) if values else None)
            continue
        if ended := _ENDING.match(line):
            if pid == main_pid:
                ending = ended["ending"]
            continue
        syscall = _STRACE_SYSCALL.match(line)
        if not syscall:
            continue   # signals, resumed halves of interrupted calls
        ret_text = syscall["ret"].strip()
        error = _STRACE_ERROR.match(ret_text)
        ret: int | str = error["errno"] if error else parse_number(ret_text.split()[0])
        name = syscall["name"] if pid == main_pid else f"[pid {pid}] {syscall['name']}"
        builder.syscall(name, split_args(syscall["args"]), ret)
    return builder.trace(ending)


# ---- ltrace -------------------------------------------------------------------------------

_LTRACE_CALL = re.compile(r"^(?P<caller>[^\s>]+)->(?P<func>os_\w+)\((?P<args>[^)<]*?)"
                          r"(?: <unfinished \.\.\.>|\)\s+=\s+(?P<ret>\S+))$")
_LTRACE_RESUMED = re.compile(r"^<\.\.\. (?P<func>os_\w+) resumed> .*\)\s+=\s+(?P<ret>\S+)$")
_LTRACE_SYSCALL = re.compile(r"^SYS_(?P<name>\w+)\((?P<args>.*)\)\s+=\s+(?P<ret>\S+)$")
_LTRACE_ENDING = re.compile(r"^\+\+\+ (?P<ending>.*) \+\+\+$")


def _ltrace_ending(text: str) -> str:
    """ltrace says "exited (status 0)"; strace says "exited with 0". Use strace's words."""
    if m := re.fullmatch(r"exited \(status (\d+)\)", text):
        return f"exited with {m[1]}"
    return text


def parse_ltrace(text: str) -> Trace:
    builder = _CallBuilder()
    ending = ""
    for line in text.splitlines():
        line = line.strip()
        if call := _LTRACE_CALL.match(line):
            builder.enter(call["func"], _int_args(call["args"], call["func"]))
            if call["ret"] is not None:
                builder.leave(call["func"], _ret_value(call["ret"]))
        elif resumed := _LTRACE_RESUMED.match(line):
            builder.leave(resumed["func"], _ret_value(resumed["ret"]))
        elif syscall := _LTRACE_SYSCALL.match(line):
            ret = _errno_value(parse_number(syscall["ret"]))
            builder.syscall(syscall["name"], split_args(syscall["args"]), ret)
        elif ended := _LTRACE_ENDING.match(line):
            ending = _ltrace_ending(ended["ending"])
    return builder.trace(ending)


PARSERS = {"strace": parse_strace, "ltrace": parse_ltrace}


def parse(tracer: str, text: str) -> Trace:
    return PARSERS[tracer](text)

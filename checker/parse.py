"""The parse stage of the pipeline: turn a raw strace or ltrace trace into top-level os_* calls.

Both parsers produce the same structure: the process's first program break, and each top-level
call with its raw arguments, return value and the syscalls made while it ran. Calls of os_*
made from inside os_* are folded into the outer call. Numbers stay numbers; giving them names
(HeapStart, <mapped-addrN>) is the next stage's job.

strace sees call boundaries through the markers that checker/markers.c writes to fd -1;
ltrace sees the calls themselves (``prog->os_malloc(10 <unfinished ...>`` ...
``<... os_malloc resumed> ) = 0x...``) with ``-S`` interleaving the syscalls.

Both tracers follow the sandbox (bwrap) and the launcher before the program: the program is
the process, and the part of it, after its last exec before its first call. What the program
could not have written itself is kept apart: strace -i gives each syscall's address, so a
marker written from anywhere but the marker layer's image is recorded as forged (and not
obeyed), as is a completion report ("osmem:finished N", the program's last act) written from
inside a shared library; markers out of order are notes; clones the launcher's seccomp filter
refused (ENOSYS) are recorded. grade.py turns each of those into a failure.
"""

from __future__ import annotations

import errno
import re
from dataclasses import dataclass, field
from typing import Callable, Generic, Iterator, TypeVar

ERRNO_RANGE = 4095  # the kernel returns -1..-4095 for errors
# What the launcher's seccomp filter refuses (with ENOSYS, which the kernel never returns for
# them otherwise): clone with CLONE_UNTRACED, and clone3.
REFUSABLE = ("clone", "clone3")
MARKERS_IMAGE = "libosmem_markers.so"
LIBRARY_IMAGE = "libosmem.so"
COMPLETION = re.compile(r"^osmem:finished (?P<count>\d+)$")


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
    notes: list[str] = field(default_factory=list)   # markers out of order (unbalanced, stray)
    # Markers the kit's marker layer did not write (strace -i: written from elsewhere).
    forged: list[str] = field(default_factory=list)
    # The program's own completion report: the os_* calls it says it made, once main() was
    # done (None: it never reported, so main() did not finish).
    finished: int | None = None
    # Syscalls the launcher's seccomp filter refused (clone with CLONE_UNTRACED, clone3).
    refused: list[str] = field(default_factory=list)


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
        self.forged: list[str] = []
        self.finished: int | None = None
        self.refused: list[str] = []

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

    def refusal(self, name: str, ret: int | str) -> None:
        if name.split()[-1] in REFUSABLE and ret == "ENOSYS":
            self.refused.append(name)

    def finish(self, count: int) -> None:
        if self.depth != 0:
            self.notes.append("the completion report came from inside an os_* call")
        elif self.finished is not None:
            self.notes.append("a second completion report")
        else:
            self.finished = count

    def trace(self, ending: str) -> Trace:
        return Trace(self.initial_break, self.calls, ending, self.notes, self.forged,
                     self.finished, self.refused)


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

_STRACE_LINE = re.compile(r"^(?:\[pid\s+)?(?P<pid>\d+)\]?\s+(?:\[(?P<ip>[0-9a-f?]+)\]\s+)?"
                          r"(?P<rest>.*)$")
_STRACE_SYSCALL = re.compile(r"^(?P<name>\w+)\((?P<args>.*)\)\s+=\s+(?P<ret>.*)$")
_STRACE_ERROR = re.compile(r"^-1 (?P<errno>E[A-Z0-9]+)")
_MARKER = re.compile(r'^write\(-1, "(?P<marker>osmem:(?P<kind>call|ret|finished) '
                     r'(?P<text>[^"]*))", \d+\)')
_ENDING = re.compile(r"^\+\+\+ (?P<ending>.*) \+\+\+$")
_EXECVE_DONE = re.compile(r"^execve\(.*\)\s+=\s+0$")


Tag = TypeVar("Tag")
_UNFINISHED = " <unfinished ...>"
_RESUMED = re.compile(r"^<\.\.\. (?P<name>\w+) resumed>\s?(?P<rest>.*)$")
_CALL_NAME = re.compile(r"^(?P<name>\w+)\(")


class _Interrupted(Generic[Tag]):
    """Syscalls that another process's line cut in two, joined again.

    When several processes are traced, a syscall that another's line interrupts is printed in
    two halves: ``brk(NULL <unfinished ...>`` and later, for the same pid, ``<... brk resumed>)
    = 0x...`` (ltrace -S alike, as ``SYS_munmap(0x7f.., 4096 <unfinished ...>`` and ``<...
    SYS_munmap resumed> ) = 0``). The joined line stands where the call completed. `joins`
    says which unfinished lines are such halves (ltrace also leaves its os_* calls unfinished
    around the syscalls they make: those are not joined)."""

    def __init__(self, joins: Callable[[str], bool]) -> None:
        self._joins = joins
        self._pending: dict[str, tuple[Tag, str]] = {}

    def join(self, pid: str, tag: Tag, line: str) -> tuple[Tag, str] | None:
        """(tag, line) as it stands, or joined to its first half (and that half's tag); None
        for a first half, held until its end comes."""
        if line.endswith(_UNFINISHED) and self._joins(line):
            self._pending[pid] = (tag, line[:-len(_UNFINISHED)])
            return None
        resumed = _RESUMED.match(line)
        if resumed and pid in self._pending:
            first_tag, first = self._pending[pid]
            called = _CALL_NAME.match(first)
            if called and called["name"] == resumed["name"]:
                del self._pending[pid]
                return first_tag, first + resumed["rest"]
        return tag, line


@dataclass(frozen=True)
class _Line:
    pid: str
    ip: int | None                # strace -i: where the syscall was made (None: not shown)
    text: str


def _whole_lines(text: str) -> Iterator[_Line]:
    """The trace's lines, with syscalls that other processes interrupted joined again (the
    instruction pointer is the first half's)."""
    interrupted: _Interrupted[int | None] = _Interrupted(lambda line: True)
    for raw in text.splitlines():
        match = _STRACE_LINE.match(raw)
        if not match:
            continue
        ip = int(match["ip"], 16) if match["ip"] and "?" not in match["ip"] else None
        if whole := interrupted.join(match["pid"], ip, match["rest"]):
            yield _Line(match["pid"], *whole)


def _program_start(lines: list[_Line]) -> tuple[str | None, int]:
    """The program's pid and the index of its first line after its execve.

    The tracer follows the sandbox and the launcher before the program: the program is the
    image exec'd last before the first call marker (or, without any marker, the last one exec'd
    at all); a trace without execve lines is the program's alone.
    """
    first_marker = next((i for i, line in enumerate(lines) if _MARKER.match(line.text)
                         and not COMPLETION.match(_MARKER.match(line.text)["marker"])),
                        len(lines))
    pid = lines[first_marker].pid if first_marker < len(lines) else None
    start: int | None = None
    for index, line in enumerate(lines[:first_marker]):
        if _EXECVE_DONE.match(line.text) and (pid is None or line.pid == pid):
            start, exec_pid = index + 1, line.pid
    if start is None:
        return (pid or (lines[0].pid if lines else None)), 0
    return pid or exec_pid, start


class _Images:
    """Where the loader mapped the marker layer and the graded library in the program: each
    image's first mapping of its file (offset 0) spans the whole image."""

    def __init__(self) -> None:
        self.open_files: dict[int, str] = {}
        self.spans: dict[str, tuple[int, int]] = {}

    def see(self, name: str, args: tuple[int | str, ...], ret: int | str) -> None:
        if name == "openat" and len(args) >= 2 and isinstance(ret, int) and ret >= 0:
            self.open_files[ret] = str(args[1]).strip('"').rsplit("/", 1)[-1]
        elif name == "close" and args and isinstance(args[0], int):
            self.open_files.pop(args[0], None)
        elif (name == "mmap" and len(args) == 6 and args[4] in self.open_files
              and args[5] == 0 and isinstance(args[1], int) and isinstance(ret, int)):
            self.spans.setdefault(self.open_files[args[4]], (ret, ret + args[1]))

    def holds(self, image: str, ip: int) -> bool:
        span = self.spans.get(image)
        return span is not None and span[0] <= ip < span[1]


def _marker_forged(images: _Images, kind: str, ip: int | None) -> str:
    """Why a marker at `ip` was not written by the kit ("" when it was, or cannot be told)."""
    if ip is None:
        return ""
    if kind == "finished":
        # The program's own image is mapped by the kernel, every shared library by the loader
        # (in the trace): a report from inside any of those did not come from the program.
        for image in images.spans:
            if images.holds(image, ip):
                return f"written from inside {image} at {ip:#x}, not by the program"
        return ""
    if MARKERS_IMAGE not in images.spans:
        return f"written at {ip:#x} before the marker layer was loaded"
    if not images.holds(MARKERS_IMAGE, ip):
        where = " (inside the graded library)" if images.holds(LIBRARY_IMAGE, ip) else ""
        return f"written at {ip:#x}{where}, outside the marker layer"
    return ""


_FORKS = ("clone", "clone3", "fork", "vfork")


def parse_strace(text: str) -> Trace:
    builder = _CallBuilder()
    images = _Images()
    lines = list(_whole_lines(text))
    main_pid, start = _program_start(lines)
    # The program and what it forked: strace also follows the sandbox's own processes (bwrap
    # and its monitor), whose syscalls may land inside a call and are none of the library's.
    family = {main_pid}
    ending = ""
    for line in lines[:start]:      # strace's fault injection counts from the process's start
        if line.pid == main_pid and (syscall := _STRACE_SYSCALL.match(line.text)):
            builder.counts[syscall["name"]] = builder.counts.get(syscall["name"], 0) + 1
    for pid, ip, text_line in ((l.pid, l.ip, l.text) for l in lines[start:]):
        marker = _MARKER.match(text_line)
        if marker and pid == main_pid:
            forged = _marker_forged(images, marker["kind"], ip)
            if forged:
                builder.forged.append(f'"{marker["marker"]}" {forged}')
                continue
            words = marker["text"].split()
            if marker["kind"] == "finished":
                builder.finish(int(words[0]) if words and words[0].isdigit() else -1)
                continue
            if not words:
                builder.notes.append(f'an empty marker "{marker["marker"]}"')
                continue
            func, values = words[0], words[1:]
            if marker["kind"] == "call":
                builder.enter(func, _int_args(", ".join(values), func))
            else:
                builder.leave(func, _ret_value(values[0]) if values else None)
            continue
        if ended := _ENDING.match(text_line):
            if pid == main_pid:
                ending = ended["ending"]
            continue
        syscall = _STRACE_SYSCALL.match(text_line)
        if not syscall or pid not in family:
            continue   # signals, resumed halves of interrupted calls, the sandbox's processes
        ret_text = syscall["ret"].strip()
        error = _STRACE_ERROR.match(ret_text)
        ret: int | str = error["errno"] if error else parse_number(ret_text.split()[0])
        if syscall["name"] in _FORKS and isinstance(ret, int) and ret > 0:
            family.add(str(ret))
        name = syscall["name"] if pid == main_pid else f"[pid {pid}] {syscall['name']}"
        args = split_args(syscall["args"])
        if pid == main_pid:
            images.see(name, args, ret)
        builder.refusal(name, ret)
        builder.syscall(name, args, ret)
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


_LTRACE_PID = re.compile(r"^(?:(?P<pid>\d+) )?(?P<rest>.*)$")
_LTRACE_EXEC = "--- Called exec() ---"
_LTRACE_COMPLETION = re.compile(r'^SYS_write\(-1, "osmem:finished (?P<count>\d+)"')


def _ltrace_program(lines: list[tuple[str, str]]) -> tuple[str, int]:
    """The program's pid (ltrace -f follows the sandbox too) and its first line after exec:
    the process of the first os_* call (or of the last exec, without calls), from its last
    exec before that."""
    first_call = next((i for i, (_, line) in enumerate(lines) if _LTRACE_CALL.match(line)),
                      None)
    if first_call is None:
        execs = [i for i, (_, line) in enumerate(lines) if line == _LTRACE_EXEC]
        if not execs:
            return (lines[0][0] if lines else ""), 0
        return lines[execs[-1]][0], execs[-1] + 1
    pid = lines[first_call][0]
    execs = [i for i, (p, line) in enumerate(lines[:first_call])
             if p == pid and line == _LTRACE_EXEC]
    return pid, (execs[-1] + 1 if execs else 0)


def parse_ltrace(text: str) -> Trace:
    builder = _CallBuilder()
    ending = ""
    lines = []
    interrupted: _Interrupted[None] = _Interrupted(lambda line: line.startswith("SYS_"))
    for raw in text.splitlines():
        match = _LTRACE_PID.match(raw.strip())
        pid = match["pid"] or ""
        if whole := interrupted.join(pid, None, match["rest"].strip()):
            lines.append((pid, whole[1]))
    main_pid, start = _ltrace_program(lines)
    for pid, line in lines[start:]:
        if pid != main_pid:
            if syscall := _LTRACE_SYSCALL.match(line):
                name = f"[pid {pid}] {syscall['name']}"
                ret = _errno_value(parse_number(syscall["ret"]))
                builder.refusal(name, ret)
                builder.syscall(name, split_args(syscall["args"]), ret)
            continue
        if call := _LTRACE_CALL.match(line):
            builder.enter(call["func"], _int_args(call["args"], call["func"]))
            if call["ret"] is not None:
                builder.leave(call["func"], _ret_value(call["ret"]))
        elif resumed := _LTRACE_RESUMED.match(line):
            builder.leave(resumed["func"], _ret_value(resumed["ret"]))
        elif completion := _LTRACE_COMPLETION.match(line):
            builder.finish(int(completion["count"]))
        elif syscall := _LTRACE_SYSCALL.match(line):
            ret = _errno_value(parse_number(syscall["ret"]))
            builder.refusal(syscall["name"], ret)
            builder.syscall(syscall["name"], split_args(syscall["args"]), ret)
        elif ended := _LTRACE_ENDING.match(line):
            ending = _ltrace_ending(ended["ending"])
    return builder.trace(ending)


PARSERS = {"strace": parse_strace, "ltrace": parse_ltrace}


def parse(tracer: str, text: str) -> Trace:
    return PARSERS[tracer](text)

"""The normalised trace: the one vocabulary shared by the normaliser, the model and the refs.

A trace is a list of top-level ``os_*`` calls. Each call has its arguments and return value
already normalised to text, and the ``brk``/``mmap``/``munmap`` calls made inside it, also as
text. Two traces are equal exactly when their rendered ref text is equal, so every producer of
a trace must build its strings with the helpers below, never by hand.

Ref file format (``tests/ref/<program>.ref``)::

    os_malloc(131032) = HeapStart + 0x20
        brk(0) = HeapStart
        brk(HeapStart + 0x20000) = HeapStart + 0x20000
    os_free(HeapStart + 0x20)

Value notation: ``HeapStart`` is the process's first program break; heap addresses are
``HeapStart + 0x<hex offset>``; ``<mapped-addrN>`` is the address returned by the N-th ``mmap``
made inside ``os_*`` (counting from 1, in trace order), ``<mapped-addrN> + 0x20`` its payload;
NULL is ``0``; sizes are decimal. ``os_free`` has no return value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

INDENT = "    "
FUNCTIONS = ("os_malloc", "os_calloc", "os_realloc", "os_free")
VOID_FUNCTIONS = ("os_free",)

PROT_READ, PROT_WRITE, PROT_EXEC = 0x1, 0x2, 0x4
MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x1, 0x2, 0x10, 0x20
PROT_NAMES = ((PROT_READ, "PROT_READ"), (PROT_WRITE, "PROT_WRITE"), (PROT_EXEC, "PROT_EXEC"))
MAP_NAMES = ((MAP_SHARED, "MAP_SHARED"), (MAP_PRIVATE, "MAP_PRIVATE"), (MAP_FIXED, "MAP_FIXED"),
             (MAP_ANONYMOUS, "MAP_ANONYMOUS"))


@dataclass(frozen=True)
class Call:
    """One top-level os_* call and the syscalls made while it ran."""

    func: str
    args: tuple[str, ...]
    ret: str | None
    syscalls: tuple[str, ...] = field(default=())

    def head(self) -> str:
        """The call line without its syscalls: ``os_malloc(10) = HeapStart + 0x20``."""
        line = f"{self.func}({', '.join(self.args)})"
        return line if self.ret is None else f"{line} = {self.ret}"

    def lines(self) -> list[str]:
        return [self.head()] + [INDENT + s for s in self.syscalls]


# ---- values -------------------------------------------------------------------------------

NULL = "0"
NEVER_RETURNED = "<never returned"


def never_returned(ending: str) -> str:
    """The return value of a call the process never came back from (a crash, an exit)."""
    return f"{NEVER_RETURNED}: {ending or 'trace ended'}>"


def heap_addr(offset: int) -> str:
    if offset == 0:
        return "HeapStart"
    if offset < 0:
        return f"HeapStart - {-offset:#x}"
    return f"HeapStart + {offset:#x}"


def mapped_addr(index: int, offset: int = 0) -> str:
    base = f"<mapped-addr{index}>"
    return base if offset == 0 else f"{base} + {offset:#x}"


def flags_text(value: int, names: tuple[tuple[int, str], ...]) -> str:
    parts = [name for bit, name in names if value & bit]
    rest = value & ~sum(bit for bit, _ in names)
    if rest:
        parts.append(f"{rest:#x}")
    return "|".join(parts) if parts else "0"


def errno_ret(errno_name: str) -> str:
    return f"-1 {errno_name}"


# ---- syscalls -----------------------------------------------------------------------------

def brk(arg: str, ret: str) -> str:
    return f"brk({arg}) = {ret}"


def mmap(addr: str, length: int, prot: int, flags: int, fd: int, offset: int, ret: str) -> str:
    return (f"mmap({addr}, {length}, {flags_text(prot, PROT_NAMES)}, "
            f"{flags_text(flags, MAP_NAMES)}, {fd}, {offset}) = {ret}")


def anonymous_mmap(length: int, ret: str) -> str:
    """The only mmap the contract allows: a private anonymous read-write mapping."""
    return mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, ret)


def munmap(addr: str, length: int, ret: str = "0") -> str:
    return f"munmap({addr}, {length}) = {ret}"


def other_syscall(name: str, args: str, ret: str) -> str:
    """A syscall the contract does not allow inside os_*; shown so the diff names it."""
    return f"{name}({args}) = {ret}"


# ---- ref text -----------------------------------------------------------------------------

def render(calls: list[Call]) -> str:
    return "".join(line + "\n" for call in calls for line in call.lines())


class RefFormatError(ValueError):
    pass


def parse_call_head(line: str) -> tuple[str, tuple[str, ...], str | None]:
    """``os_realloc(HeapStart + 0x20, 25) = 0`` -> ("os_realloc", ("HeapStart + 0x20", "25"), "0")."""
    open_paren = line.find("(")
    close_paren = line.find(")", open_paren)
    if open_paren <= 0 or close_paren < 0:
        raise RefFormatError(f"not a call: {line!r}")
    func = line[:open_paren]
    if func not in FUNCTIONS:
        raise RefFormatError(f"unknown function {func!r} in {line!r}")
    inner = line[open_paren + 1:close_paren]
    args = tuple(a.strip() for a in inner.split(",")) if inner else ()
    rest = line[close_paren + 1:]
    if func in VOID_FUNCTIONS and not rest.startswith(f" = {NEVER_RETURNED}"):
        if rest:
            raise RefFormatError(f"{func} returns nothing: {line!r}")
        return func, args, None
    if not rest.startswith(" = "):
        raise RefFormatError(f"missing return value: {line!r}")
    return func, args, rest[3:]


def parse_ref(text: str) -> list[Call]:
    calls: list[Call] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith(INDENT):
            if not calls:
                raise RefFormatError(f"line {number}: syscall before any call")
            last = calls[-1]
            calls[-1] = Call(last.func, last.args, last.ret,
                             last.syscalls + (line[len(INDENT):],))
        else:
            try:
                func, args, ret = parse_call_head(line)
            except RefFormatError as error:
                raise RefFormatError(f"line {number}: {error}") from None
            calls.append(Call(func, args, ret))
    return calls

"""The normalise stage of the pipeline: give the numbers of a parsed trace their names.

Addresses become ``HeapStart + 0x..`` (HeapStart = the process's first program break) or
``<mapped-addrN> + 0x..`` (N = the order in which os_* made its mmaps, from 1), NULL becomes
``0``, and every call and syscall is rendered through events.py, the vocabulary the model and
the refs share. An address that is neither in a live mapping nor near the heap stays raw hex:
it cannot match a ref, and the diff shows it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import events
from parse import Syscall, Trace, TracedCall

# Heap addresses lie in [HeapStart, HeapStart + HEAP_WINDOW): far more than any test's break,
# far less than the distance from the brk heap to the mmap area.
HEAP_WINDOW = 1 << 36
# Unknown numbers this large are addresses far more often than counts: print them in hex.
POINTER_LIKE = 1 << 16


@dataclass
class AddressNames:
    heap_start: int | None
    mappings: dict[int, tuple[int, int]] = field(default_factory=dict)  # base -> (N, length)
    count: int = 0

    def name(self, value: int) -> str:
        if value == 0:
            return events.NULL
        return self.known(value) or f"{value:#x}"

    def known(self, value: int) -> str | None:
        """The symbolic name of an address inside a live mapping or the heap, else None."""
        for base, (index, length) in self.mappings.items():
            if base <= value < base + max(length, 1):
                return events.mapped_addr(index, value - base)
        if self.heap_start is not None and 0 <= value - self.heap_start < HEAP_WINDOW:
            return events.heap_addr(value - self.heap_start)
        return None

    def value(self, ret: int | str) -> str:
        if isinstance(ret, int):
            return self.name(ret)
        return events.errno_ret(ret) if ret.startswith("E") else ret

    def mapped(self, base: int, length: int) -> None:
        self.count += 1
        self.mappings[base] = (self.count, length)

    def unmapped(self, base: int) -> None:
        self.mappings.pop(base, None)


def _plain(names: AddressNames, value: int | str) -> str:
    """An argument or result of a syscall the contract does not allow: a name if it is one of
    our addresses, else as strace would print it (decimal numbers, errno names, text)."""
    if isinstance(value, int):
        return names.known(value) or (f"{value:#x}" if value >= POINTER_LIKE else str(value))
    return events.errno_ret(value) if value.startswith("E") else value


def _syscall(names: AddressNames, call: Syscall) -> str:
    args = call.args
    numeric = all(isinstance(a, int) for a in args)
    if call.name == "brk" and len(args) >= 1 and numeric:
        return events.brk(names.name(int(args[0])), names.value(call.ret))
    if call.name == "mmap" and len(args) == 6 and numeric:
        addr, length, prot, flags, fd, offset = (int(a) for a in args)
        if isinstance(call.ret, int):
            names.mapped(call.ret, length)
        fd = fd - (1 << 32) if fd >= 1 << 31 else fd   # ltrace may print -1 as 4294967295
        return events.mmap(names.name(addr), length, prot, flags, fd, offset,
                           names.value(call.ret))
    if call.name == "munmap" and len(args) == 2 and numeric:
        base, length = int(args[0]), int(args[1])
        text = events.munmap(names.name(base), length, names.value(call.ret))
        if call.ret == 0:
            names.unmapped(base)
        return text
    return events.other_syscall(call.name, ", ".join(_plain(names, a) for a in args),
                                _plain(names, call.ret))


def _call(names: AddressNames, call: TracedCall, ending: str) -> events.Call:
    args = tuple(names.name(a) if _is_pointer(call.func, i) else str(a)
                 for i, a in enumerate(call.args))
    syscalls = tuple(_syscall(names, s) for s in call.syscalls)
    if not call.returned:
        return events.Call(call.func, args, events.never_returned(ending), syscalls)
    ret = None if call.func in events.VOID_FUNCTIONS else names.name(call.ret or 0)
    return events.Call(call.func, args, ret, syscalls)


def _is_pointer(func: str, index: int) -> bool:
    return (func, index) in (("os_free", 0), ("os_realloc", 0))


def normalise(trace: Trace) -> list[events.Call]:
    names = AddressNames(trace.initial_break)
    return [_call(names, call, trace.ending) for call in trace.calls]

"""The heap after each call, as drawable frames: what ``make show`` pictures.

A frame is the state after one top-level call: the heap blocks in address order (ALLOC, FREE,
or UNKNOWN for bytes of the heap that no call told us about), the live mappings, the break,
and the call itself with its syscalls.

Two sources of frames:

* :func:`model_frames` steps a :class:`model.Model` along calls; this is exact for the
  expected trace, and for an actual trace as long as every call is the one the model predicts
  (then the model's heap *is* the implementation's heap).
* :class:`Tracker` follows an actual trace that diverged: it starts from the model's heap at
  the divergence (still exact there) and applies only what the trace shows: the returned
  addresses with the sizes asked for, the frees, the ``brk`` results and the mappings. What no
  call revealed is drawn as UNKNOWN, and every such frame says so in its ``note``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import events
from model import ALLOC, FREE, META, Model, ModelError, align8, parse_pointer

UNKNOWN = "UNKNOWN"
MAPPED = "MAPPED"
TRACKED_NOTE = ("actual heap after the divergence: drawn from the trace alone (returned "
                "addresses, sizes asked for, frees, brk and mmap results); '?' (hatched) is unknown")


@dataclass(frozen=True)
class Cell:
    """One drawn block: a heap block, an unknown stretch of heap, or a mapping."""

    kind: str                   # ALLOC, FREE, UNKNOWN or MAPPED
    address: str                # the payload address as the trace names it (HeapStart + 0x20)
    size: int                   # payload bytes (UNKNOWN: bytes of the stretch)
    header: int | None = None   # header offset from HeapStart (heap cells)
    touched: bool = False       # the call returned, freed or resized this block

    @property
    def span(self) -> int:
        """Bytes the cell covers (header included) for proportional drawing."""
        return self.size + (0 if self.kind == UNKNOWN else META)

    def short(self) -> str:
        return "+" + self.address[len("HeapStart + "):] \
            if self.address.startswith("HeapStart + ") else self.address


@dataclass(frozen=True)
class Frame:
    number: int                         # 1-based call number
    call: events.Call
    heap: list[Cell]
    maps: list[Cell]
    heap_break: int | None              # offset from HeapStart, None before the first heap use
    note: str = ""


def _touched(call: events.Call) -> set[str]:
    """Addresses (as the trace names them) this call returned or took as its pointer."""
    names = {call.ret} if call.ret else set()
    if call.func in ("os_free", "os_realloc") and call.args:
        names.add(call.args[0])
    return names - {events.NULL}


def _frame(number: int, call: events.Call, blocks: list[tuple[int, int, str]],
           maps: list[tuple[int, int]], heap_break: int | None, note: str = "") -> Frame:
    """``blocks``: (header offset, size, status) in address order; gaps become UNKNOWN."""
    touched = _touched(call)
    heap: list[Cell] = []
    cursor = 0 if heap_break is not None else None
    for header, size, status in blocks:
        if cursor is not None and header > cursor:
            heap.append(Cell(UNKNOWN, events.heap_addr(cursor), header - cursor, cursor))
        address = events.heap_addr(header + META)
        heap.append(Cell(status, address, size, header, address in touched))
        cursor = header + META + size
    if heap_break is not None and cursor is not None and heap_break > cursor:
        heap.append(Cell(UNKNOWN, events.heap_addr(cursor), heap_break - cursor, cursor))
    mapped = [Cell(MAPPED, events.mapped_addr(n, META), size,
                   touched=events.mapped_addr(n, META) in touched) for n, size in maps]
    return Frame(number, call, heap, mapped, heap_break, note)


def model_frames(calls: list[events.Call], start: int = 0) -> tuple[list[Frame], Model]:
    """Frames for ``calls`` by stepping the model; stops at the first call it cannot take.

    Returns the frames and the model after the last of them. ``start`` numbers the frames
    (calls[0] is call #start+1).
    """
    model = Model()
    frames: list[Frame] = []
    for offset, call in enumerate(calls):
        try:
            model.step(call.func, call.args)
        except ModelError:
            break
        blocks = [(b.offset, b.size, b.status) for b in model.snapshot()]
        frames.append(_frame(start + offset + 1, call, blocks, model.mappings(),
                             model.heap_break()))
    return frames, model


@dataclass
class Tracker:
    """What an actual trace says about the heap, from a known starting point."""

    blocks: dict[int, tuple[int, str]] = field(default_factory=dict)  # payload -> (size, status)
    maps: dict[int, int] = field(default_factory=dict)                # mapping N -> payload size
    heap_break: int | None = None

    @staticmethod
    def from_model(model: Model) -> Tracker:
        return Tracker({b.payload: (b.size, b.status) for b in model.snapshot()},
                       dict(model.mappings()), model.heap_break())

    def apply(self, number: int, call: events.Call) -> Frame:
        for syscall in call.syscalls:
            self._syscall(syscall)
        self._call(call)
        blocks = [(payload - META, size, status)
                  for payload, (size, status) in sorted(self.blocks.items())]
        return _frame(number, call, blocks, sorted(self.maps.items()), self.heap_break,
                      TRACKED_NOTE)

    # ---- syscalls ---------------------------------------------------------------------------

    def _syscall(self, line: str) -> None:
        name, _, rest = line.partition("(")
        arguments, _, result = rest.rpartition(") = ")
        if name == "brk" and result.startswith("HeapStart"):
            self.heap_break = _heap_offset(result)
        elif name == "mmap" and result.startswith("<mapped-addr"):
            length = _int(arguments.split(", ")[1]) if ", " in arguments else None
            number = _mapping(result)
            if number is not None and length is not None:
                self.maps[number] = length - META
        elif name == "munmap" and result == "0":
            number = _mapping(arguments.split(", ")[0])
            self.maps.pop(number or 0, None)

    # ---- calls ------------------------------------------------------------------------------

    def _call(self, call: events.Call) -> None:
        if call.func == "os_free":
            self._mark_free(call.args[0])
            return
        size = _requested(call)
        if call.func == "os_realloc" and call.ret not in (None, events.NULL) \
                and call.ret != call.args[0]:
            self._mark_free(call.args[0])
        if call.func == "os_realloc" and size == 0:
            self._mark_free(call.args[0])
        if call.ret and call.ret.startswith("HeapStart") and size is not None:
            self._allocate(_heap_offset(call.ret), align8(size))

    def _mark_free(self, pointer: str) -> None:
        if pointer.startswith("HeapStart"):
            payload = _heap_offset(pointer)
            if payload in self.blocks:
                self.blocks[payload] = (self.blocks[payload][0], FREE)

    def _allocate(self, payload: int, need: int) -> None:
        start, end = payload - META, payload + need
        for other, (size, status) in list(self.blocks.items()):
            if other == payload:
                continue
            other_start, other_end = other - META, other + size
            if other_end <= start or other_start >= end:
                continue
            if other_start < start:
                self.blocks[other] = (max(0, start - other), status)   # keeps its head
            else:
                del self.blocks[other]
        previous = self.blocks.get(payload)
        size = max(need, previous[0]) if previous and previous[1] == FREE \
            and previous[0] - need < META + 8 else need
        self.blocks[payload] = (size, ALLOC)


def _requested(call: events.Call) -> int | None:
    try:
        if call.func == "os_malloc":
            return int(call.args[0])
        if call.func == "os_calloc":
            return int(call.args[0]) * int(call.args[1])
        if call.func == "os_realloc":
            return int(call.args[1])
    except (ValueError, IndexError):
        return None
    return None


def _heap_offset(text: str) -> int:
    return parse_pointer(text).offset


def _mapping(text: str) -> int | None:
    try:
        return parse_pointer(text.strip()).mapping
    except ModelError:
        return None


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def actual_frames(actual: list[events.Call], divergence: int | None) -> list[Frame]:
    """Frames of an actual trace: the model's up to the divergence, tracked from there on."""
    cut = len(actual) if divergence is None else divergence
    frames, model = model_frames(actual[:cut])
    tracker = Tracker.from_model(model)
    for index in range(len(frames), len(actual)):
        frames.append(tracker.apply(index + 1, actual[index]))
    return frames

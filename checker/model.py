"""An executable model of the osmem contract (the rules numbered in ``rules.py``).

Written from the contract text only, independently of the C library in ``src/``: the refs are
kept only when this model and the traced reference library agree, so the two derivations must
not share mistakes.

Design
------
* Everything is relative to HeapStart (the program break before the first heap use), so the
  model never needs real addresses. A heap block is a frozen :class:`Block` (header offset,
  payload size, status); the heap list is a Python list in address order that tiles
  ``[HeapStart, break)``, so the break is simply the end of the last block. Mapped blocks live
  apart (rule 4: they are not in the heap list), keyed by their mapping number N.
* :meth:`Model.step` takes one top-level call with normalised arguments and returns the
  predicted :class:`events.Call`; all text is built with the ``events`` helpers so the
  prediction compares equal to a normalised trace exactly when the rendered refs are equal.
* Each contract rule is one small method named after it (``_preallocate``, ``_coalesce``,
  ``_best_fit``, ``_split``, ``_grow_last_free``, ``_append``, ``_grow_in_place`` ...). Every
  decision appends a :class:`Decision` record to ``Model.decisions``: the rule (numbered in
  ``rules.py``), what was decided (an :class:`Action`), the block, break or mapping involved,
  and the sentence a student reads. The first-divergence explanations select records by their
  fields and print their sentences; nothing parses a sentence back.
* Blocks are named in sentences by their *payload* offset (``+0x20``), the value the trace shows
  as a return value or a free/realloc argument. ``Block.offset`` is the header offset.
* Syscalls go through four methods only (``_sys_brk_query``, ``_sys_brk``, ``_sys_mmap``,
  ``_sys_munmap``). Syscall failures are not modelled yet; when they are, those methods record
  the failing line and raise :class:`_OutOfMemory`, and :meth:`Model.step` already rolls the
  state back and returns NULL, as the "Failures" paragraph requires. Size overflows (the only
  failures that need no fault injection) use that path today.
* Input the contract does not define (an unknown function, a malformed argument, a pointer
  that is not the payload start of a block in the heap list or of a live mapping) raises
  :class:`ModelError`, leaving the model unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Callable, Iterable

import events
import rules

META = 32  # sizeof(struct block_meta); the user pointer is header + META
ALIGNMENT = 8
MMAP_THRESHOLD = 128 * 1024  # rule 5: malloc/realloc map iff META + need >= this
PREALLOCATION = 128 * 1024  # rule 2: the first heap use grows the break by this much
MIN_SPLIT_REMAINDER = META + ALIGNMENT  # rule 10: a split-off block needs a header + 8 bytes
SIZE_MAX = 2**64 - 1  # size_t on x86-64

FREE = "FREE"
ALLOC = "ALLOC"

# How many blocks a sentence lists before summarising the rest: reports must fit a terminal.
REASON_LIST_LIMIT = 8


class ModelError(ValueError):
    """The input is outside what the contract defines (so the model cannot predict it)."""


class _OutOfMemory(Exception):
    """A call fails with ENOMEM: return NULL and leave every block as it was ("Failures")."""


@dataclass(frozen=True)
class Block:
    """One heap block: header at HeapStart + offset, ``size`` payload bytes after it."""

    offset: int
    size: int
    status: str

    @property
    def payload(self) -> int:
        """Offset of the user pointer (what os_malloc returns for this block)."""
        return self.offset + META

    @property
    def end(self) -> int:
        """Offset of the first byte after the block (the next header, or the break)."""
        return self.offset + META + self.size

    def name(self) -> str:
        """How sentences refer to the block: its payload offset, as seen in the trace."""
        return f"+{self.payload:#x}"


class Action(Enum):
    """What a decision did; explanations select decisions by action, never by their wording."""

    ZERO_SIZE = "zero size"                 # rule 7: NULL, no syscalls
    CLASSIFY = "classify"                   # rules 5, 6: heap or mapped
    MMAP = "mmap"                           # rule 4
    MUNMAP = "munmap"                       # rule 4
    PREALLOCATE = "preallocate"             # rule 2
    COALESCE = "coalesce"                   # rule 8
    BEST_FIT = "best fit"                   # rule 9: a block fits
    NO_FIT = "no fit"                       # rule 9: none does
    SPLIT = "split"                         # rule 10
    NO_SPLIT = "no split"                   # rule 10
    GROW_LAST_FREE = "grow last FREE"       # rule 11
    APPEND = "append"                       # rule 12
    FREE_NULL = "free NULL"                 # rule 13
    ALREADY_FREE = "already FREE"           # rule 13
    MARK_FREE = "mark FREE"                 # rule 13
    REALLOC_NULL = "realloc NULL"           # rule 14
    REALLOC_ZERO = "realloc to 0"           # rule 14
    REALLOC_FREE = "realloc FREE"           # rule 14
    REALLOC_MAPPED = "realloc mapped"       # rule 15
    REALLOC_TO_MAPPED = "realloc to mapped"  # rule 16
    SHRINK = "in place"                     # rule 17
    ABSORB = "absorb"                       # rule 18: one FREE successor absorbed
    ABSORB_ENOUGH = "absorb enough"         # rule 18: big enough, stop
    ABSORB_SHORT = "absorb short"           # rule 18: still too small
    BRK_GROW = "brk grow"                   # rule 19
    MOVE = "move"                           # rule 20: cannot grow in place
    MOVED = "moved"                         # rule 20: copied, old block FREE
    OUT_OF_MEMORY = "out of memory"         # "Failures": NULL, nothing changes


@dataclass(frozen=True)
class Decision:
    """One decision of the model, as data: which rule, what it did, what it involved.

    ``text`` is the whole sentence; ``premise`` is its first part, what the model saw before
    deciding (an explanation replaces the decision with "expected ..."); ``block`` is the block
    decided about (chosen, split, grown, freed, moved; before the change), ``created`` a block
    the decision made (the FREE tail of a split), ``merged`` the blocks a coalescing merged
    into ``block`` (their headers are gone), ``new_break`` the break a ``brk`` made by
    this decision asks for, ``mapping`` the mapping number N involved.
    """

    rule: int | None                # None for "Failures" (not a numbered rule)
    action: Action
    text: str
    premise: str = ""
    block: Block | None = None
    created: Block | None = None
    merged: tuple[Block, ...] = ()
    need: int | None = None         # the aligned request a search was for
    new_break: int | None = None
    mapping: int | None = None

    @property
    def situation(self) -> str:
        return self.premise or self.text

    def tagged(self) -> str:
        """The sentence with its rule: ``... [rule 9]``."""
        return f"{self.text} [{f'rule {self.rule}' if self.rule is not None else 'Failures'}]"


def align8(n: int) -> int:
    return (n + ALIGNMENT - 1) & ~(ALIGNMENT - 1)


@dataclass
class _State:
    """Everything a call may change; copied before each call so a failure can roll back."""

    heap_ready: bool = False  # rule 2: the preallocation happened (at most once)
    blocks: list[Block] = field(default_factory=list)  # the heap list, address order
    mappings: dict[int, int] = field(default_factory=dict)  # live mapping N -> payload size
    mmaps_made: int = 0  # mapping numbers are never reused

    def copy(self) -> _State:
        # Blocks are immutable, so copying the containers is a full copy.
        return _State(self.heap_ready, list(self.blocks), dict(self.mappings), self.mmaps_made)


@dataclass(frozen=True)
class _Pointer:
    """A parsed pointer argument: NULL, a heap offset, or an offset into mapping N."""

    mapping: int | None  # None for heap pointers and NULL
    offset: int
    is_null: bool = False


_NULL_POINTER = _Pointer(None, 0, is_null=True)
_SIZE_RE = re.compile(r"[0-9]+")
_HEAP_RE = re.compile(r"HeapStart(?: ([+-]) 0x([0-9a-f]+))?")
_MAPPED_RE = re.compile(r"<mapped-addr([1-9][0-9]*)>(?: \+ 0x([0-9a-f]+))?")


def parse_size(text: str) -> int:
    """A size_t argument in decimal."""
    if not _SIZE_RE.fullmatch(text):
        raise ModelError(f"size {text!r} is not a decimal number")
    value = int(text)
    if value > SIZE_MAX:
        raise ModelError(f"size {text} does not fit in size_t")
    return value


def parse_pointer(text: str) -> _Pointer:
    """A normalised pointer: ``0``, ``HeapStart + 0x20``, ``<mapped-addrN> + 0x20``."""
    if text == events.NULL:
        return _NULL_POINTER
    if match := _HEAP_RE.fullmatch(text):
        sign, digits = match.groups()
        offset = int(digits, 16) if digits else 0
        return _Pointer(None, -offset if sign == "-" else offset)
    if match := _MAPPED_RE.fullmatch(text):
        index, digits = match.groups()
        return _Pointer(int(index), int(digits, 16) if digits else 0)
    raise ModelError(f"pointer {text!r} is not normalised (expected 0, HeapStart + 0x..., "
                     f"or <mapped-addrN> + 0x...)")


def _block_list(blocks: list[Block], keep: Block | None = None) -> str:
    """``+0x148 (size 160), +0x7f0 (size 2024)``, shortened past REASON_LIST_LIMIT."""
    shown = blocks
    if len(blocks) > REASON_LIST_LIMIT:
        shown = blocks[:REASON_LIST_LIMIT]
        if keep is not None and keep not in shown:
            shown = shown[:-1] + [keep]
    text = ", ".join(f"{b.name()} (size {b.size})" for b in shown)
    if len(shown) < len(blocks):
        text += f" and {len(blocks) - len(shown)} more"
    return text


class Model:
    """The allocator state of one process, advanced one top-level ``os_*`` call at a time."""

    def __init__(self, page_size: int = 4096) -> None:
        if page_size <= 0:
            raise ValueError(f"page size must be positive, not {page_size}")
        self.page_size = page_size
        self.decisions: list[Decision] = []
        self._state = _State()
        self._syscalls: list[str] = []
        self._handlers: dict[str, tuple[int, Callable[..., str | None]]] = {
            "os_malloc": (1, self._os_malloc),
            "os_calloc": (2, self._os_calloc),
            "os_realloc": (2, self._os_realloc),
            "os_free": (1, self._os_free),
        }

    # ---- public API ---------------------------------------------------------------------

    def step(self, func: str, args: tuple[str, ...]) -> events.Call:
        """Predict one top-level call; ``self.decisions`` then holds the decisions it took."""
        if func not in self._handlers:
            raise ModelError(f"unknown function {func!r}; expected one of {events.FUNCTIONS}")
        arity, handler = self._handlers[func]
        if len(args) != arity:
            raise ModelError(f"{func} takes {arity} argument(s), got {len(args)}: {args!r}")
        saved = self._state.copy()
        self._syscalls = []
        self.decisions = []
        try:
            ret = handler(*args)
        except _OutOfMemory as failure:
            # "Failures": NULL with ENOMEM, every block and the heap exactly as before. The
            # syscall lines already recorded (a failed brk/mmap) stay in the trace.
            self._state = saved
            self.decisions.append(Decision(None, Action.OUT_OF_MEMORY,
                                           f"{failure}: return NULL (ENOMEM), nothing changes"))
            ret = None if func in events.VOID_FUNCTIONS else events.NULL
        except ModelError:
            self._state = saved
            raise
        return events.Call(func, tuple(args), ret, tuple(self._syscalls))

    def snapshot(self) -> list[Block]:
        """The heap list after the last step, in address order."""
        return list(self._state.blocks)

    def mappings(self) -> list[tuple[int, int]]:
        """Live mappings after the last step: (mapping number N, payload size)."""
        return sorted(self._state.mappings.items())

    def mappings_made(self) -> int:
        """How many mmaps the calls so far made: <mapped-addrN> for N up to this was used."""
        return self._state.mmaps_made

    def heap_break(self) -> int | None:
        """The program break as an offset from HeapStart, or None before the first heap use."""
        if not self._state.heap_ready:
            return None
        return self._state.blocks[-1].end if self._state.blocks else 0

    # ---- the four functions -------------------------------------------------------------

    def _os_malloc(self, size_text: str) -> str:
        return self._malloc(parse_size(size_text), "os_malloc")

    def _os_calloc(self, nmemb_text: str, size_text: str) -> str:
        nmemb, size = parse_size(nmemb_text), parse_size(size_text)
        if nmemb == 0 or size == 0:
            self._decide(7, Action.ZERO_SIZE,
                         f"os_calloc({nmemb}, {size}): zero size returns NULL, no syscalls")
            return events.NULL
        total = nmemb * size
        if total > SIZE_MAX:
            raise _OutOfMemory(f"{nmemb} * {size} overflows size_t")
        need = self._need(total)
        # The payload is zeroed (rule 6) - invisible in the trace, so nothing to model.
        if self._calloc_is_mapped(nmemb, size, need):
            return events.mapped_addr(self._map(need), META)
        return events.heap_addr(self._heap_alloc(need))

    def _os_free(self, ptr_text: str) -> None:
        self._free(parse_pointer(ptr_text), ptr_text)
        return None

    def _os_realloc(self, ptr_text: str, size_text: str) -> str:
        ptr, size = parse_pointer(ptr_text), parse_size(size_text)
        # Rule 14, in its order: NULL, then size 0, then a FREE block.
        if ptr.is_null:
            self._decide(14, Action.REALLOC_NULL, f"realloc of NULL is os_malloc({size})")
            return self._malloc(size, "os_realloc")
        if size == 0:
            self._decide(14, Action.REALLOC_ZERO, "realloc to size 0 is os_free(ptr), returns NULL")
            self._free(ptr, ptr_text)
            return events.NULL
        if ptr.mapping is not None:
            return self._realloc_mapped(self._mapping_of(ptr, ptr_text), size)
        index = self._heap_index_of(ptr, ptr_text)
        block = self._state.blocks[index]
        if block.status == FREE:
            self._decide(14, Action.REALLOC_FREE, f"realloc of FREE block {block.name()}: return "
                         f"NULL, nothing else happens", block=block)
            return events.NULL
        return self._realloc_heap(block, size)

    # ---- classification (rules 5-7) -----------------------------------------------------

    def _malloc(self, size: int, func: str) -> str:
        if size == 0:
            self._decide(7, Action.ZERO_SIZE, f"{func}(0) returns NULL, no syscalls")
            return events.NULL
        need = self._need(size)
        if self._malloc_is_mapped(size, need):
            return events.mapped_addr(self._map(need), META)
        return events.heap_addr(self._heap_alloc(need))

    @staticmethod
    def _need(size: int) -> int:
        """ALIGN8(size), refusing sizes where ALIGN8 or META + need would overflow."""
        need = align8(size)
        if META + need > SIZE_MAX:
            raise _OutOfMemory(f"size {size}: 32 + ALIGN8(size) overflows size_t")
        return need

    def _malloc_is_mapped(self, size: int, need: int) -> bool:
        mapped = META + need >= MMAP_THRESHOLD
        where = (f"mapped ({META} + {need} >= {MMAP_THRESHOLD})" if mapped
                 else f"heap ({META} + {need} < {MMAP_THRESHOLD})")
        self._decide(5, Action.CLASSIFY, f"need ALIGN8({size}) = {need}: {where}")
        return mapped

    def _calloc_is_mapped(self, nmemb: int, size: int, need: int) -> bool:
        mapped = META + need >= self.page_size
        where = (f"mapped ({META} + {need} >= page size {self.page_size})" if mapped
                 else f"heap ({META} + {need} < page size {self.page_size})")
        self._decide(6, Action.CLASSIFY,
                     f"total {nmemb} * {size} = {nmemb * size}, need {need}: {where}")
        return mapped

    # ---- mapped blocks (rules 4, 13, 15) ------------------------------------------------

    def _map(self, need: int) -> int:
        """Rule 4: a new mapping of exactly META + need bytes; returns its number N."""
        index = self._sys_mmap(META + need)
        self._state.mappings[index] = need
        self._decide(4, Action.MMAP, f"mmap {META} + {need} = {META + need} bytes (not "
                     f"page-rounded): <mapped-addr{index}>", mapping=index)
        return index

    def _unmap(self, index: int) -> None:
        need = self._state.mappings.pop(index)
        self._sys_munmap(index, META + need)
        self._decide(4, Action.MUNMAP, f"munmap <mapped-addr{index}> with the same length "
                     f"{META} + {need}", mapping=index)

    def _realloc_mapped(self, index: int, size: int) -> str:
        """Rule 15: always a new allocation (even same size), then munmap the old mapping."""
        old = self._state.mappings[index]
        self._decide(15, Action.REALLOC_MAPPED, f"mapped block <mapped-addr{index}> (size {old}) "
                     f"always moves: allocate anew, copy min({old}, {size}) bytes, then munmap "
                     f"it (munmap comes last)", mapping=index)
        ret = self._malloc(size, "os_realloc")
        self._unmap(index)
        return ret

    # ---- os_free (rule 13) --------------------------------------------------------------

    def _free(self, ptr: _Pointer, text: str) -> None:
        if ptr.is_null:
            self._decide(13, Action.FREE_NULL, "free(NULL): nothing")
            return
        if ptr.mapping is not None:
            self._unmap(self._mapping_of(ptr, text))
            return
        index = self._heap_index_of(ptr, text)
        block = self._state.blocks[index]
        if block.status == FREE:
            self._decide(13, Action.ALREADY_FREE, f"block {block.name()} is already FREE: nothing",
                         block=block)
            return
        self._state.blocks[index] = replace(block, status=FREE)
        self._decide(13, Action.MARK_FREE, f"mark {block.name()} (size {block.size}) FREE; no "
                     f"syscall, no merging", block=block)

    # ---- heap allocation (rules 2, 8-12) ------------------------------------------------

    def _heap_alloc(self, need: int) -> int:
        """Allocate ``need`` bytes on the heap; returns the payload offset."""
        if not self._state.heap_ready:
            self._preallocate()
        self._coalesce()
        index = self._best_fit(need)
        if index is not None:
            self._split(index, need)
            block = replace(self._state.blocks[index], status=ALLOC)
            self._state.blocks[index] = block
            return block.payload
        last = self._state.blocks[-1]
        if last.status == FREE:
            return self._grow_last_free(need)
        return self._append(need)

    def _preallocate(self) -> None:
        """Rule 2: brk(0), then brk(HeapStart + 128 KiB); one FREE block of 131040."""
        self._sys_brk_query()
        self._sys_brk(PREALLOCATION)
        block = Block(0, PREALLOCATION - META, FREE)
        self._state.blocks = [block]
        self._state.heap_ready = True
        self._decide(2, Action.PREALLOCATE, f"first heap use: brk(0), then "
                     f"brk({events.heap_addr(PREALLOCATION)}); one FREE block {block.name()} "
                     f"(size {block.size})", block=block, new_break=PREALLOCATION)

    def _coalesce(self) -> None:
        """Rule 8: merge every maximal run of adjacent FREE blocks into its first block."""
        merged: list[Block] = []
        run: list[Block] = []

        def close_run() -> None:
            if len(run) > 1:
                size = sum(b.size for b in run) + META * (len(run) - 1)
                merged.append(replace(run[0], size=size))
                self._decide(8, Action.COALESCE, f"coalesce {_block_list(run)} into "
                             f"{run[0].name()} (size {size})", block=run[0],
                             merged=tuple(run[1:]))
            elif run:
                merged.append(run[0])
            run.clear()

        for block in self._state.blocks:
            if block.status == FREE:
                run.append(block)
            else:
                close_run()
                merged.append(block)
        close_run()
        self._state.blocks = merged

    def _best_fit(self, need: int) -> int | None:
        """Rule 9: the FREE block with the smallest size >= need, ties to the lowest address."""
        free = [b for b in self._state.blocks if b.status == FREE]
        fits = [(i, b) for i, b in enumerate(self._state.blocks)
                if b.status == FREE and b.size >= need]
        if not fits:
            listed = f"free blocks after coalescing are {_block_list(free)}" if free \
                else "there are no free blocks"
            self._decide(9, Action.NO_FIT, f"best fit for need {need}: {listed}; none fits",
                         need=need)
            return None
        # min() keeps the first of equal keys, and fits is in address order: lowest address.
        index, chosen = min(fits, key=lambda item: item[1].size)
        ties = sum(1 for _, b in fits if b.size == chosen.size)
        tie_note = (f" (lowest address of {ties} blocks of size {chosen.size})"
                    if ties > 1 else "")
        premise = (f"best fit for need {need}: free blocks after coalescing are "
                   f"{_block_list(free, keep=chosen)}")
        self._decide(9, Action.BEST_FIT, f"{premise}; chose {chosen.name()}{tie_note}",
                     premise=premise, block=chosen, need=need)
        return index

    def _split(self, index: int, need: int) -> None:
        """Rule 10: split off a FREE tail iff the remainder is at least 40 bytes."""
        block = self._state.blocks[index]
        remainder = block.size - need
        if remainder < MIN_SPLIT_REMAINDER:
            self._decide(10, Action.NO_SPLIT, f"split: remainder {remainder} < "
                         f"{MIN_SPLIT_REMAINDER}, so no split ({block.name()} keeps size "
                         f"{block.size})", block=block)
            return
        tail = Block(block.offset + META + need, remainder - META, FREE)
        self._state.blocks[index] = replace(block, size=need)
        self._state.blocks.insert(index + 1, tail)
        self._decide(10, Action.SPLIT, f"split: remainder {remainder} >= {MIN_SPLIT_REMAINDER}: "
                     f"{block.name()} keeps size {need}, new FREE block {tail.name()} (size "
                     f"{tail.size})", block=block, created=tail)

    def _grow_last_free(self, need: int) -> int:
        """Rule 11: no fit and the last block is FREE: brk it to exactly ``need``."""
        last = self._state.blocks[-1]
        grown = Block(last.offset, need, ALLOC)
        self._sys_brk(grown.end)
        self._state.blocks[-1] = grown
        premise = f"no fit; last heap block {last.name()} is FREE"
        self._decide(11, Action.GROW_LAST_FREE, f"{premise}: grow it with brk to "
                     f"{events.heap_addr(grown.end)}", premise=premise, block=last,
                     new_break=grown.end)
        return grown.payload

    def _append(self, need: int) -> int:
        """Rule 12: no fit and the last block is ALLOC: a new block at the break."""
        last = self._state.blocks[-1]
        block = Block(last.end, need, ALLOC)
        self._sys_brk(block.end)
        self._state.blocks.append(block)
        premise = (f"no fit; last heap block {last.name()} is ALLOC: append {block.name()} "
                   f"(size {need})")
        self._decide(12, Action.APPEND, f"{premise} with brk to {events.heap_addr(block.end)}",
                     premise=premise, block=block, new_break=block.end)
        return block.payload

    # ---- os_realloc of a heap block (rules 16-20) ---------------------------------------

    def _realloc_heap(self, block: Block, size: int) -> str:
        need = self._need(size)
        if self._malloc_is_mapped(size, need):
            return self._realloc_heap_to_mapped(block, need, size)
        if need <= block.size:
            return self._shrink_in_place(block, need)
        if self._grow_in_place(block, need):
            return events.heap_addr(block.payload)
        index = self._index_at(block.offset)
        block = self._state.blocks[index]  # possibly larger now: absorbed blocks stay
        if index == len(self._state.blocks) - 1:
            return self._brk_grow_last(block, need)
        return self._move(block, need, size)

    def _realloc_heap_to_mapped(self, block: Block, need: int, size: int) -> str:
        """Rule 16: new mapping, copy, mark the old block FREE; no grow in place first."""
        self._decide(16, Action.REALLOC_TO_MAPPED, f"heap block {block.name()} to a mapped size: "
                     f"new mapping, copy min({block.size}, {size}) bytes, mark {block.name()} "
                     f"FREE (no grow in place)", block=block)
        index = self._map(need)
        self._mark_free(block)
        return events.mapped_addr(index, META)

    def _shrink_in_place(self, block: Block, need: int) -> str:
        """Rule 17: need fits the block: split in place; the tail is not merged onward."""
        self._decide(17, Action.SHRINK, f"need {need} <= size {block.size} of {block.name()}: "
                     f"keep it in place", block=block)
        self._split(self._index_at(block.offset), need)
        return events.heap_addr(block.payload)

    def _grow_in_place(self, block: Block, need: int) -> bool:
        """Rule 18: absorb FREE successors until the block fits; True if it then fits."""
        blocks = self._state.blocks
        index = self._index_at(block.offset)
        while block.size < need and index + 1 < len(blocks) and blocks[index + 1].status == FREE:
            absorbed = blocks.pop(index + 1)
            block = replace(block, size=block.size + META + absorbed.size)
            blocks[index] = block
            self._decide(18, Action.ABSORB, f"grow in place: absorb FREE {absorbed.name()} "
                         f"(size {absorbed.size}); {block.name()} now size {block.size}",
                         block=absorbed)
        if block.size < need:
            nxt = "no next block" if index + 1 == len(blocks) \
                else f"next block {blocks[index + 1].name()} is ALLOC"
            self._decide(18, Action.ABSORB_SHORT,
                         f"grow in place: size {block.size} < need {need} and {nxt}", block=block)
            return False
        self._decide(18, Action.ABSORB_ENOUGH,
                     f"grow in place: size {block.size} >= need {need}, stop absorbing",
                     block=block)
        self._split(index, need)
        return True

    def _brk_grow_last(self, block: Block, need: int) -> str:
        """Rule 19: still too small but (now) the last block: brk to exactly ``need``."""
        grown = replace(block, size=need)
        self._sys_brk(grown.end)
        self._state.blocks[-1] = grown
        premise = f"{block.name()} (size {block.size}) is the last heap block"
        self._decide(19, Action.BRK_GROW, f"{premise}: grow it with brk to "
                     f"{events.heap_addr(grown.end)}", premise=premise, block=block,
                     new_break=grown.end)
        return events.heap_addr(grown.payload)

    def _move(self, block: Block, need: int, size: int) -> str:
        """Rule 20: allocate elsewhere while the old block is still ALLOC, then free it."""
        self._decide(20, Action.MOVE, f"{block.name()} (size {block.size}) cannot grow in place: "
                     f"move it (allocate while it is still ALLOC)", block=block)
        payload = self._heap_alloc(need)
        self._mark_free(block)
        self._decide(20, Action.MOVED,
                     f"copy min({block.size}, {size}) bytes, then mark old {block.name()} FREE",
                     block=block)
        return events.heap_addr(payload)

    # ---- helpers ------------------------------------------------------------------------

    def _mark_free(self, block: Block) -> None:
        index = self._index_at(block.offset)
        self._state.blocks[index] = replace(self._state.blocks[index], status=FREE)

    def _index_at(self, offset: int) -> int:
        """Index of the heap block whose header is at ``offset`` (it must exist)."""
        for index, block in enumerate(self._state.blocks):
            if block.offset == offset:
                return index
        raise AssertionError(f"model bug: no heap block at {offset:#x}")

    def _heap_index_of(self, ptr: _Pointer, text: str) -> int:
        """The heap block whose payload starts at the pointer, or ModelError."""
        for index, block in enumerate(self._state.blocks):
            if block.payload == ptr.offset:
                return index
        raise ModelError(f"pointer {text} is not the payload start of any block in the heap "
                         f"list")

    def _mapping_of(self, ptr: _Pointer, text: str) -> int:
        assert ptr.mapping is not None
        if ptr.mapping not in self._state.mappings:
            raise ModelError(f"pointer {text}: mapping {ptr.mapping} is not live")
        if ptr.offset != META:
            raise ModelError(f"pointer {text} is not the payload start of mapping "
                             f"{ptr.mapping} (that is <mapped-addr{ptr.mapping}> + 0x20)")
        return ptr.mapping

    def _decide(self, rule: int, action: Action, text: str, **involved: object) -> None:
        assert rule in rules.BY_NUMBER, f"model bug: rule {rule} is not in rules.py"
        self.decisions.append(Decision(rule, action, text, **involved))  # type: ignore[arg-type]

    # ---- syscalls: the one place where failures will be injected ------------------------

    def _sys_brk_query(self) -> None:
        self._syscalls.append(events.brk(events.NULL, events.heap_addr(0)))

    def _sys_brk(self, new_break: int) -> None:
        self._syscalls.append(events.brk(events.heap_addr(new_break),
                                         events.heap_addr(new_break)))

    def _sys_mmap(self, length: int) -> int:
        self._state.mmaps_made += 1
        index = self._state.mmaps_made
        self._syscalls.append(events.anonymous_mmap(length, events.mapped_addr(index)))
        return index

    def _sys_munmap(self, index: int, length: int) -> None:
        self._syscalls.append(events.munmap(events.mapped_addr(index), length))


def predict(calls: Iterable[tuple[str, tuple[str, ...]]], page_size: int = 4096
            ) -> list[events.Call]:
    """The predicted trace of a whole program, given its calls with normalised arguments."""
    model = Model(page_size)
    return [model.step(func, tuple(args)) for func, args in calls]

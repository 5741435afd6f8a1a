"""Operation scripts for tests/replay, and the model's view of one while it is being written.

A script is one operation per line (``#`` starts a comment)::

    malloc ID SIZE
    calloc ID NMEMB SIZE
    realloc ID SIZE
    free ID

Each line is exactly one top-level ``os_*`` call of the replay program. The pointer an ID
stands for is its live block; once freed (``free``, or ``realloc`` to 0) the last pointer it
held (a stale pointer: the contract defines os_free/os_realloc of a FREE heap block); NULL if
the ID was never allocated. tests/replay.c implements exactly these rules, and
:class:`Simulation` mirrors them on the model, so a script generator can aim at the blocks the
heap really has (the free runs, a block's successors, the last block).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import events
from model import ALLOC, FREE, META, Block, Model, ModelError, parse_pointer

KINDS = ("malloc", "calloc", "realloc", "free")
ARITY = {"malloc": 1, "calloc": 2, "realloc": 1, "free": 0}   # numbers after the ID
MAX_ID = 255   # tests/common.h: MAX_SLOTS


class ScriptError(ValueError):
    """A line that is not an operation."""


@dataclass(frozen=True)
class Op:
    kind: str
    id: int
    args: tuple[int, ...] = ()

    def line(self) -> str:
        return " ".join([self.kind, str(self.id), *map(str, self.args)])


def render(ops: list[Op], header: list[str] | None = None) -> str:
    """The script text, with optional ``#`` comment lines first."""
    comments = [f"# {text}" if text else "#" for text in header or []]
    return "".join(line + "\n" for line in comments + [op.line() for op in ops])


def parse_line(text: str) -> Op | None:
    """One script line -> an Op, or None for a blank or comment line."""
    words = text.split("#", 1)[0].split()
    if not words:
        return None
    kind, numbers = words[0], words[1:]
    if kind not in KINDS or len(numbers) != 1 + ARITY[kind]:
        raise ScriptError(f"expected 'malloc ID SIZE', 'calloc ID NMEMB SIZE', "
                          f"'realloc ID SIZE' or 'free ID', got {text.strip()!r}")
    if not all(word.isdigit() for word in numbers):
        raise ScriptError(f"not a decimal number in {text.strip()!r}")
    values = tuple(int(word) for word in numbers)
    if values[0] > MAX_ID:
        raise ScriptError(f"ID {values[0]} is out of range (0..{MAX_ID})")
    return Op(kind, values[0], values[1:])


def parse_script(text: str) -> list[tuple[int, Op]]:
    """(line number, op) for every operation of a script."""
    ops = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            op = parse_line(line)
        except ScriptError as error:
            raise ScriptError(f"line {number}: {error}") from None
        if op is not None:
            ops.append((number, op))
    return ops


def call_of(op: Op, pointer: str) -> tuple[str, tuple[str, ...]]:
    """The os_* call a line makes, with normalised arguments (``pointer``: the ID's pointer)."""
    sizes = tuple(str(n) for n in op.args)
    if op.kind in ("malloc", "calloc"):
        return f"os_{op.kind}", sizes
    return f"os_{op.kind}", (pointer, *sizes)


@dataclass
class Simulation:
    """The model stepped along a script as replay performs it: IDs, pointers, the heap."""

    model: Model = field(default_factory=Model)
    ops: list[Op] = field(default_factory=list)
    live: dict[int, str] = field(default_factory=dict)     # ID -> pointer of its live block
    stale: dict[int, str] = field(default_factory=dict)    # ID -> pointer it held when freed
    sizes: dict[int, int] = field(default_factory=dict)    # ID -> bytes requested
    used: set[int] = field(default_factory=set)            # IDs any line has named

    def pointer(self, ident: int) -> str:
        return self.live.get(ident) or self.stale.get(ident) or events.NULL

    def fresh_id(self) -> int:
        return max(self.used, default=-1) + 1

    def apply(self, op: Op) -> events.Call:
        """Performs one line on the model (ModelError if the contract does not define it)."""
        func, args = call_of(op, self.pointer(op.id))
        call = self.model.step(func, args)
        self.ops.append(op)
        self.used.add(op.id)
        if op.kind == "free" or (op.kind == "realloc" and op.args[0] == 0):
            if op.id in self.live:
                self.stale[op.id] = self.live.pop(op.id)
                self.sizes.pop(op.id, None)
        elif call.ret not in (None, events.NULL):
            self.live[op.id] = call.ret
            self.stale.pop(op.id, None)
            self.sizes[op.id] = op.args[0] * (op.args[1] if op.kind == "calloc" else 1)
        return call

    # ---- what the heap looks like now -------------------------------------------------

    def blocks(self) -> list[Block]:
        return self.model.snapshot()

    def block_of(self, ident: int) -> Block | None:
        """The heap block an ID's pointer names (live or stale), None if mapped or NULL."""
        text = self.pointer(ident)
        if text == events.NULL:
            return None
        try:
            pointer = parse_pointer(text)
        except ModelError:
            return None
        if pointer.mapping is not None:
            return None
        return next((b for b in self.blocks() if b.payload == pointer.offset), None)

    def stale_free_ids(self) -> list[int]:
        """Freed IDs whose pointer is still the payload of a FREE heap block (defined input)."""
        ids = []
        for ident in sorted(self.stale):
            block = self.block_of(ident)
            if block is not None and block.status == FREE:
                ids.append(ident)
        return ids

    def free_runs(self) -> list[int]:
        """Sizes of the runs of adjacent FREE blocks, as coalescing would merge them."""
        runs: list[int] = []
        current: list[Block] = []
        for block in self.blocks() + [Block(-1, 0, ALLOC)]:
            if block.status == FREE:
                current.append(block)
                continue
            if current:
                runs.append(sum(b.size for b in current) + META * (len(current) - 1))
            current = []
        return runs

    def successors(self, ident: int) -> tuple[list[int], bool]:
        """Sizes of the FREE blocks right after an ID's heap block, and whether they reach the
        end of the heap (so absorbing them all makes the block the last one)."""
        block = self.block_of(ident)
        if block is None:
            return [], False
        after = [b for b in self.blocks() if b.offset > block.offset]
        sizes = []
        for b in after:
            if b.status != FREE:
                return sizes, False
            sizes.append(b.size)
        return sizes, True

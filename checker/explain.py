"""Stage 4b of the pipeline (between compare and report): why the first divergent call is wrong.

Given the expected calls, the actual calls and the index of the first call that differs, a
:class:`Model` is stepped along the EXPECTED calls up to that call (the calls before it are
identical in both traces, so the model's heap is also the implementation's heap at that
point); the divergent call is then stepped once more, and the model's reasons (tagged
``[rule N]``, the numbered rules of the contract) say what the contract requires. The actual
return value is located in the model's heap as it was before the call ("you returned +0x20,
a block that is ALLOC"), and the first differing syscall is matched with the rule that makes
the expected one.

Entry points (both pure functions of the traces, no I/O):

* ``explain(expected, actual, index) -> str``: the multi-line text, for a terminal. Used by
  ``grade.py`` for the fixed programs and by the random differential tests for scripts.
* ``explanation(expected, actual, index) -> Explanation``: the same text plus a one-line
  ``reason`` naming the rule briefly (``call #7 os_malloc(24), best fit: expected = ...``,
  short enough for the score table) and the rule number.
* ``stage(expected, actual, index)``: the pipeline's call; ``None`` when the traces agree.

Example (a best-fit mistake)::

    first difference: call #7 os_malloc(24), rule 9 (best fit)
      expected: os_malloc(24) = HeapStart + 0x148
      actual:   os_malloc(24) = HeapStart + 0x20
      why: best fit for need 24: free blocks after coalescing are +0x148 (size 160), +0x7f0
           (size 2024); expected +0x148; you returned +0x20, a block that is ALLOC
      the model, step by step:
        need ALIGN8(24) = 24: heap (32 + 24 < 131072) [rule 5]
        ...
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, replace

import events
from compare import first_syscall_difference
from model import FREE, META, Block, Model, ModelError, parse_pointer

RULE_NAMES: dict[int, str] = {
    1: "only brk, mmap and munmap",
    2: "preallocation",
    3: "exact heap growth",
    4: "mapped block",
    5: "mmap threshold",
    6: "calloc threshold",
    7: "zero size",
    8: "coalesce",
    9: "best fit",
    10: "split",
    11: "grow the last FREE block",
    12: "append at the break",
    13: "free",
    14: "realloc: NULL, 0, FREE block",
    15: "mapped block realloc",
    16: "realloc to a mapped size",
    17: "realloc in place",
    18: "realloc grows in place",
    19: "realloc grows the last block",
    20: "realloc moves",
}
# The score table's column is narrow: its one-line reason names the rule by a short name.
SHORT_NAMES: dict[int, str] = {
    1: "syscalls", 2: "preallocation", 3: "exact growth", 4: "mapped block",
    5: "mmap threshold", 6: "calloc threshold", 7: "zero size", 8: "coalesce", 9: "best fit",
    10: "split", 11: "grow last FREE", 12: "append", 13: "free", 14: "realloc NULL/0/FREE",
    15: "mapped realloc", 16: "realloc to mmap", 17: "realloc in place", 18: "realloc absorb",
    19: "realloc brk grow", 20: "realloc move",
}
CONTRACT_SYSCALLS = ("brk", "mmap", "munmap")
MAX_SYSCALL_LINES = 6       # per side, in the expected/actual lines
MAX_STEP_LINES = 10         # model reasons shown for the divergent call
WIDTH = 100                 # long sentences wrap here, continued with a deeper indent
_RULE_TAG = re.compile(r" \[rule (\d+)\]$")
_RET_RULES = (9, 11, 12, 17, 18, 19)          # rules that decide which heap block is returned
_KIND_RULES = (7, 5, 6, 16, 15, 14)           # rules that decide NULL / heap / mapped


@dataclass(frozen=True)
class Explanation:
    index: int
    rule: int | None        # the contract rule that the divergence breaks, when one applies
    reason: str             # one line for the score table ("" when no rule applies)
    text: str               # the multi-line explanation


@dataclass(frozen=True)
class _Heap:
    """The model's view of the heap just before the divergent call."""

    blocks: list[Block]
    mappings: dict[int, int]
    heap_break: int | None
    mmaps_made: int


@dataclass(frozen=True)
class _Why:
    rule: int | None
    sentence: str           # "best fit ...; expected +0x148; you returned +0x20, ..."
    difference: str         # the short difference for the one-line reason


# ---- the model along the expected calls ------------------------------------------------------

@dataclass(frozen=True)
class _Stepped:
    heap: _Heap | None
    reasons: list[str]
    history: list[list[str]]       # reasons of every earlier call, by index
    problem: str = ""              # why the model could not follow ("" when it could)


def _step_expected(expected: list[events.Call], index: int) -> _Stepped:
    model = Model()
    history: list[list[str]] = []
    for number, call in enumerate(expected[:index + 1]):
        if number == index:
            heap = _Heap(model.snapshot(), dict(model.mappings()), model.heap_break(),
                         model.mappings_made())
            try:
                model.step(call.func, call.args)
            except ModelError as error:
                return _Stepped(heap, [], history, f"the model cannot take this call: {error}")
            return _Stepped(heap, list(model.reasons), history)
        try:
            model.step(call.func, call.args)
        except ModelError as error:
            return _Stepped(None, [], history,
                            f"the model cannot take call #{number + 1}: {error}")
        history.append(list(model.reasons))
    return _Stepped(None, [], history, "the expected trace has no such call")


# ---- small text helpers ----------------------------------------------------------------------

def _rule(reason: str) -> int | None:
    match = _RULE_TAG.search(reason)
    return int(match[1]) if match else None


def _untagged(reason: str) -> str:
    return _RULE_TAG.sub("", reason)


def rule_label(rule: int) -> str:
    """``rule 9 (best fit)``."""
    name = RULE_NAMES.get(rule)
    return f"rule {rule} ({name})" if name else f"rule {rule}"


def _short(value: str) -> str:
    """``HeapStart + 0x20`` -> ``+0x20`` (how the model names blocks); others unchanged."""
    if value.startswith("HeapStart + "):
        return "+" + value[len("HeapStart + "):]
    return "NULL" if value == events.NULL else value


def _syscall_name(line: str) -> str:
    return line.split("(", 1)[0]


def _kind(ret: str | None) -> str:
    if ret is None:
        return "void"
    if ret == events.NULL:
        return "null"
    if ret.startswith("HeapStart"):
        return "heap"
    if ret.startswith("<mapped-addr"):
        return "mapped"
    return "other"


def _side(label: str, call: events.Call | None) -> list[str]:
    if call is None:
        return [f"  {label} (no such call)"]
    lines = [f"  {label} {call.head()}"]
    shown = call.syscalls[:MAX_SYSCALL_LINES]
    lines += [f"{' ' * (len(label) + 5)}{s}" for s in shown]
    if len(call.syscalls) > len(shown):
        lines.append(f"{' ' * (len(label) + 5)}... {len(call.syscalls) - len(shown)} more")
    if not call.syscalls:
        lines.append(f"{' ' * (len(label) + 5)}(no syscalls)")
    return lines


# ---- where an actual return value lies in the model's heap ----------------------------------

def _split_decision(block: Block, history: list[list[str]]) -> tuple[int, str] | None:
    """The model's last split decision about ``block``: (call index, reason)."""
    for number in range(len(history) - 1, -1, -1):
        for reason in history[number]:
            if reason.startswith("split:") and f"{block.name()} keeps" in reason:
                return number, reason
    return None


@dataclass(frozen=True)
class _Where:
    text: str
    rule: int | None = None     # a rule the location itself points at (an earlier split)


def _run_start(block: Block, blocks: list[Block]) -> Block | None:
    """The first block of the FREE run that ``block`` is in, when coalescing absorbs it."""
    position = blocks.index(block)
    start = position
    while start > 0 and blocks[start - 1].status == FREE:
        start -= 1
    return blocks[start] if start < position else None


def locate(value: str, heap: _Heap, history: list[list[str]] | None = None) -> _Where:
    """What ``value`` (an actual return value) is in the heap before the call, in words."""
    kind = _kind(value)
    if kind == "null":
        return _Where("NULL")
    if kind == "mapped":
        return _Where(_locate_mapped(value, heap))
    if kind != "heap":
        return _Where("not an address that the heap or a mapping made inside os_* contains")
    try:
        offset = parse_pointer(value).offset
    except ModelError:
        return _Where("an address the model cannot read")
    if heap.heap_break is None:
        return _Where("but the heap was not set up yet (no heap use before this call)")
    for block in heap.blocks:
        if block.payload == offset:
            return _Where(_block_words(block, heap.blocks))
    for block in heap.blocks:
        if block.offset <= offset - META < block.end:
            return _inside(block, offset, history or [])
    if offset - META == heap.heap_break:
        return _Where(f"at the break {events.heap_addr(heap.heap_break)}: a new block appended")
    return _Where(f"past the break {events.heap_addr(heap.heap_break)}")


def _block_words(block: Block, blocks: list[Block]) -> str:
    if block.status != FREE:
        return f"a block that is {block.status}"
    start = _run_start(block, blocks)
    merged = f", which coalescing merges into {start.name()}" if start else ""
    return f"a block that is FREE (size {block.size}){merged}"


def _inside(block: Block, offset: int, history: list[list[str]]) -> _Where:
    """``offset`` is no block's payload, and its header would lie inside ``block``."""
    into = offset - META - block.payload
    where = (f"{into} bytes into the payload of" if into >= 0 else "inside the header of")
    text = (f"whose header would be {where} {block.status} block {block.name()} "
            f"(size {block.size})")
    decision = _split_decision(block, history)
    if decision is None:
        return _Where(text)
    number, reason = decision
    return _Where(f"{text}, as if it had been split; at call #{number + 1} the model decided "
                  f"{_untagged(reason)}", _rule(reason))


def _locate_mapped(value: str, heap: _Heap) -> str:
    try:
        pointer = parse_pointer(value)
    except ModelError:
        return "an address the model cannot read"
    number = pointer.mapping or 0
    if number in heap.mappings:
        return f"inside live mapping <mapped-addr{number}> (size {heap.mappings[number]})"
    if number > heap.mmaps_made:
        return "a new mapping"
    return f"mapping <mapped-addr{number}>, which was unmapped"


# ---- which rule decides ----------------------------------------------------------------------

def _first_with(reasons: list[str], rules: tuple[int, ...]) -> str | None:
    for rule in rules:
        for reason in reasons:
            if _rule(reason) == rule:
                return reason
    return None


def _placement_reason(reasons: list[str], want: events.Call, got: events.Call) -> str | None:
    """The reason that decides which heap block the call returns."""
    moved = [r for r in reasons if _rule(r) == 20 and "cannot grow in place" in r]
    if moved and want.func == "os_realloc" and got.ret == want.args[0]:
        return moved[0]                         # stayed in place where the contract moves
    deciding = [r for r in reasons if _rule(r) in _RET_RULES
                and not (_rule(r) == 18 and "absorb FREE" in r)]
    return deciding[-1] if deciding else None


def _ret_reason(reasons: list[str], want: events.Call, got: events.Call) -> str | None:
    if _kind(got.ret) == "other":
        return None                 # not an address the trace could name: no rule explains it
    if _kind(want.ret) != _kind(got.ret):
        return _first_with(reasons, _KIND_RULES) or _placement_reason(reasons, want, got)
    if _kind(want.ret) == "heap":
        return _placement_reason(reasons, want, got)
    return _first_with(reasons, (4, 15, 16)) or (reasons[-1] if reasons else None)


def _syscall_reason(reasons: list[str], syscall: str) -> str | None:
    """The reason that makes the expected ``syscall``."""
    name = _syscall_name(syscall)
    if name == "brk":
        argument = syscall[len("brk("):].split(")", 1)[0]
        if argument == events.NULL:
            return _first_with(reasons, (2,))
        for reason in reasons:
            if f"brk to {argument}" in reason or f"brk({argument})" in reason:
                return reason
    mapped = re.search(r"<mapped-addr\d+>", syscall)
    if mapped:
        for reason in reasons:
            if reason.startswith(name) and mapped[0] in reason:
                return reason
    return None


def _chose_removed(reason: str) -> str:
    """A best-fit reason without its "; chose +0x.." tail (the sentence says "expected")."""
    return re.sub(r"; chose \+0x[0-9a-f]+.*$", "", _untagged(reason))


def _why_ret(reasons: list[str], want: events.Call, got: events.Call, heap: _Heap | None,
             history: list[list[str]]) -> _Why:
    if (got.ret or "").startswith(events.NEVER_RETURNED):
        return _Why(None, f"the call never returned ({got.ret}); expected = {want.ret}", "")
    freed = _freed_before_move(reasons, want, got, heap)
    if freed:
        return _Why(20, freed, f"expected = {want.ret}, got = {got.ret}")
    reason = _ret_reason(reasons, want, got)
    rule = _rule(reason) if reason else None
    where = locate(got.ret or "", heap, history) if heap is not None else _Where("")
    said = f"{_chose_removed(reason)}; " if reason else ""
    sentence = (f"{said}expected {_short(want.ret or '')}; you returned {_short(got.ret or '')}"
                + (f", {where.text}" if where.text else ""))
    return _Why(where.rule or rule, sentence, f"expected = {want.ret}, got = {got.ret}")


def _freed_before_move(reasons: list[str], want: events.Call, got: events.Call,
                       heap: _Heap | None) -> str:
    """A moving realloc that returned a block which only fits if the old block were FREE."""
    moving = [r for r in reasons if _rule(r) == 20 and "cannot grow in place" in r]
    if not moving or heap is None or _kind(got.ret) != "heap" or _kind(want.args[0]) != "heap":
        return ""
    old, new = parse_pointer(want.args[0]).offset, parse_pointer(got.ret or "").offset
    blocks = [replace(b, status=FREE) if b.payload == old else b for b in heap.blocks]
    runs: list[list[Block]] = []
    for block in blocks:
        if block.status == FREE and runs and runs[-1][-1].status == FREE:
            runs[-1].append(block)
        else:
            runs.append([block])
    for run in runs:
        payloads = [b.payload for b in run]
        if old in payloads and new in payloads and new != old:
            return (f"{_untagged(moving[0])}; expected {_short(want.ret or '')}; you returned "
                    f"{_short(got.ret or '')}, which fits only once the old block "
                    f"{_short(want.args[0])} is FREE and merged with it: the new block must be "
                    f"allocated before the old one is freed")
    return ""


def _why_syscalls(reasons: list[str], want: events.Call, got: events.Call) -> _Why:
    position, expected, actual = first_syscall_difference(want.syscalls, got.syscalls)
    if actual is not None and _syscall_name(actual) not in CONTRACT_SYSCALLS:
        return _Why(1, f"inside os_* only brk, mmap and munmap are made; you made {actual}",
                    f"extra syscall {actual}" if expected is None
                    else f"syscall {position} is {actual}, expected {expected}")
    difference = (f"extra syscall {actual}" if expected is None
                  else f"missing syscall {expected}" if actual is None
                  else f"syscall {position} is {actual}, expected {expected}")
    remap = _first_with(reasons, (15,))
    if (remap and actual is not None and actual.startswith("munmap(")
            and expected is not None and not expected.startswith("munmap(")):
        return _Why(15, "mapped block realloc: expected the new allocation before munmap "
                        f"({expected}); you made {actual} first", difference)
    reason = _syscall_reason(reasons, expected) if expected else \
        _placement_reason(reasons, want, got) or (reasons[-1] if reasons else None)
    rule = _rule(reason) if reason else None
    said = f"{_untagged(reason)}; " if reason else ""
    if expected is None:
        return _Why(rule, f"{said}no more syscalls expected; you also made {actual}", difference)
    you = f"you made {actual}" if actual is not None else "you made no such syscall"
    if _syscall_name(expected) == "brk" and expected != "brk(0) = HeapStart":
        target = expected[len("brk("):].split(")", 1)[0]
        said = said.replace(f"grow it with brk to {target}; ", f"expected brk to {target}; ")
        said = said.replace(f" with brk to {target}; ", f"; expected brk to {target}; ")
        if f"brk to {target}; " not in said:
            said += f"expected brk to {target}; "
        return _Why(rule, f"{said}{you}", difference)
    return _Why(rule, f"{said}expected {expected}; {you}", difference)


# ---- the explanation -------------------------------------------------------------------------

def explanation(expected: list[events.Call], actual: list[events.Call],
                index: int) -> Explanation:
    """Why call ``index`` (0-based, the first that differs) is wrong, from the contract."""
    number = index + 1
    want = expected[index] if index < len(expected) else None
    got = actual[index] if index < len(actual) else None
    if want is None:
        assert got is not None, "index is past both traces"
        text = (f"first difference: call #{number} {got.head()} is extra\n"
                f"  the expected trace ends after call #{len(expected)}; the program made "
                f"{len(actual) - len(expected)} more call(s)")
        return Explanation(index, None, "", text)
    stepped = _step_expected(expected, index)
    if got is None:
        why = _Why(None, f"the program made no call #{number}: it stopped after call "
                         f"#{index} (see how it ended and its stderr)", "")
    elif (want.func, want.args) != (got.func, got.args):
        why = _Why(None, f"the program called {got.func}({', '.join(got.args)}) where "
                         f"{want.func}({', '.join(want.args)}) was expected: the calls before "
                         f"were identical, so the program itself took another path", "")
    elif want.ret != got.ret:
        why = _why_ret(stepped.reasons, want, got, stepped.heap, stepped.history)
    else:
        why = _why_syscalls(stepped.reasons, want, got)
    return _assemble(index, want, got, why, stepped)


def _assemble(index: int, want: events.Call, got: events.Call | None, why: _Why,
              stepped: _Stepped) -> Explanation:
    number = index + 1
    call = f"{want.func}({', '.join(want.args)})"
    label = f", {rule_label(why.rule)}" if why.rule is not None else ""
    lines = [f"first difference: call #{number} {call}{label}",
             *_side("expected:", want), *_side("actual:  ", got),
             _wrapped(f"  why: {why.sentence}", 7)]
    if stepped.problem:
        lines.append(f"  ({stepped.problem})")
    if stepped.reasons:
        lines.append("  the model, step by step:")
        shown = stepped.reasons[:MAX_STEP_LINES]
        lines += [_wrapped(f"    {reason}", 6) for reason in shown]
        if len(stepped.reasons) > len(shown):
            lines.append(f"    ... {len(stepped.reasons) - len(shown)} more")
    reason = ""
    if why.rule is not None and why.difference:
        reason = f"call #{number} {call}, {SHORT_NAMES.get(why.rule, f'rule {why.rule}')}: " \
            f"{why.difference}"
    return Explanation(index, why.rule, reason, "\n".join(lines))


def _wrapped(text: str, indent: int) -> str:
    return textwrap.fill(text, WIDTH, subsequent_indent=" " * indent, break_long_words=False,
                         break_on_hyphens=False)


def explain(expected: list[events.Call], actual: list[events.Call], index: int) -> str:
    """The terminal explanation of the first divergent call ``index`` (0-based)."""
    return explanation(expected, actual, index).text


def stage(expected: list[events.Call], actual: list[events.Call],
          index: int | None) -> Explanation | None:
    """The pipeline stage: the explanation of the first divergence, None when there is none."""
    if index is None:
        return None
    return explanation(expected, actual, index)

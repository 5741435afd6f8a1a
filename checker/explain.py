"""The explain stage (between compare and report): why the first divergent call is wrong.

Given the expected calls, the actual calls and the index of the first call that differs, a
:class:`Model` is stepped along the EXPECTED calls up to that call (the calls before it are
identical in both traces, so the model's heap is also the implementation's heap at that
point); the divergent call is then stepped once more, and the model's decisions (records
with a rule number from ``rules.py``, an action, the block, break or mapping involved) say what
the contract requires: the explanation selects decisions by those fields and prints their
sentences, it never parses them. The actual
return value is located in the model's heap as it was before the call ("you returned +0x20,
a block that is ALLOC"), and the first differing syscall is matched with the rule that makes
the expected one.

Entry points (both pure functions of the traces, no I/O):

* ``explain(expected, actual, index) -> str``: the multi-line text, for a terminal. Used by
  ``grade.py`` for the fixed programs and by the random differential tests for scripts.
* ``explanation(expected, actual, index) -> Explanation``: the same text plus a one-line
  ``reason`` naming the rule briefly (``call #7 os_malloc(24), best fit: expected = ...``,
  short enough for the score table) and the rule number.
* ``stage(expected, actual, index, stopped)``: the pipeline's call; ``None`` when the traces
  agree. ``stopped`` is the program's own failure message when it stopped itself after one of
  its checks: the explanation leads with it (and takes the rule its ``[rule N]`` names when the
  trace itself shows no wrong call).

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
import rules
from compare import first_syscall_difference
from model import FREE, META, Action, Block, Decision, Model, ModelError, parse_pointer

CONTRACT_SYSCALLS = ("brk", "mmap", "munmap")
MAX_SYSCALL_LINES = 6       # per side, in the expected/actual lines
MAX_STEP_LINES = 10         # model decisions shown for the divergent call
WIDTH = 100                 # long sentences wrap here, continued with a deeper indent
# The decisions that say which heap block a call returns.
_PLACEMENT = (Action.BEST_FIT, Action.NO_FIT, Action.GROW_LAST_FREE, Action.APPEND,
              Action.SHRINK, Action.ABSORB_ENOUGH, Action.ABSORB_SHORT, Action.BRK_GROW)
_KIND_RULES = (7, 5, 6, 16, 15, 14)           # rules that decide NULL / heap / mapped
# The decisions about the pointer a free or realloc was given.
_POINTER_ACTIONS = (Action.ALREADY_FREE, Action.MARK_FREE, Action.REALLOC_FREE,
                    Action.REALLOC_ZERO, Action.REALLOC_MAPPED, Action.REALLOC_TO_MAPPED)
# A test program ends its own failure message with the rule its check stands for.
_PROGRAM_RULE = re.compile(r"\[rule (\d+)\]\s*$")


@dataclass(frozen=True)
class Explanation:
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
    decisions: list[Decision]
    history: list[list[Decision]]  # decisions of every earlier call, by index
    problem: str = ""              # why the model could not follow ("" when it could)


def _step_expected(expected: list[events.Call], index: int) -> _Stepped:
    model = Model()
    history: list[list[Decision]] = []
    for number, call in enumerate(expected[:index + 1]):
        if number == index:
            heap = _Heap(model.snapshot(), dict(model.mappings()), model.heap_break(),
                         model.mappings_made())
            try:
                model.step(call.func, call.args)
            except ModelError as error:
                return _Stepped(heap, [], history, f"the model cannot take this call: {error}")
            return _Stepped(heap, list(model.decisions), history)
        try:
            model.step(call.func, call.args)
        except ModelError as error:
            return _Stepped(None, [], history,
                            f"the model cannot take call #{number + 1}: {error}")
        history.append(list(model.decisions))
    return _Stepped(None, [], history, "the expected trace has no such call")


# ---- small text helpers ----------------------------------------------------------------------

def rule_label(rule: int) -> str:
    """``rule 9 (best fit)``."""
    return rules.label(rule)


def _short(value: str) -> str:
    """``HeapStart + 0x20`` -> ``+0x20`` (how the model names blocks); others unchanged."""
    if value.startswith("HeapStart + "):
        return "+" + value[len("HeapStart + "):]
    return "NULL" if value == events.NULL else value


def _syscall_name(line: str) -> str:
    return line.split("(", 1)[0]


def _syscall_argument(line: str) -> str:
    """The first argument of a normalised syscall line: ``brk(HeapStart + 0x20) = ...``."""
    return line.split("(", 1)[1].split(")", 1)[0].split(", ", 1)[0]


def _brief(line: str | None) -> str:
    """A syscall line short enough for the score table: no result, no mmap protection and
    flags (``mmap(0, 300032, ...)``); the sizes, which differ, stay."""
    if line is None:
        return ""
    call = line.split(" = ", 1)[0]
    if _syscall_name(call) == "mmap":
        return ", ".join(call.split(", ")[:2]) + ", ...)"
    return call


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

def _split_decision(block: Block, history: list[list[Decision]]) -> tuple[int, Decision] | None:
    """The model's last split decision about ``block``: (call index, decision)."""
    for number in range(len(history) - 1, -1, -1):
        for decision in history[number]:
            if (decision.action in (Action.SPLIT, Action.NO_SPLIT) and decision.block is not None
                    and decision.block.offset == block.offset):
                return number, decision
    return None


def _split_creating(block: Block, history: list[list[Decision]]) -> tuple[int, Decision] | None:
    """The earlier split whose FREE tail starts where ``block`` does, when nothing used that
    tail since (call index, decision)."""
    for number in range(len(history) - 1, -1, -1):
        for decision in reversed(history[number]):
            if decision.created is not None and decision.created.offset == block.offset:
                return number, decision
            if decision.block is not None and decision.block.offset == block.offset:
                return None     # chosen, freed, grown since: no longer the split's tail
    return None


@dataclass(frozen=True)
class _Where:
    text: str
    rule: int | None = None     # a rule the location itself points at (an earlier split)
    at_break: bool = False      # the value is a new block appended at the break


def _run_size(block: Block, blocks: list[Block]) -> int:
    """The size ``block`` has once the FREE blocks following it are merged into it."""
    size = block.size
    for following in blocks[blocks.index(block) + 1:]:
        if following.status != FREE:
            break
        size += META + following.size
    return size


def _run_start(block: Block, blocks: list[Block]) -> Block | None:
    """The first block of the FREE run that ``block`` is in, when coalescing absorbs it."""
    position = blocks.index(block)
    start = position
    while start > 0 and blocks[start - 1].status == FREE:
        start -= 1
    return blocks[start] if start < position else None


def locate(value: str, heap: _Heap, history: list[list[Decision]] | None = None) -> _Where:
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
        return _Where(f"at the break {events.heap_addr(heap.heap_break)}: a new block appended",
                      at_break=True)
    return _Where(f"past the break {events.heap_addr(heap.heap_break)}")


def _block_words(block: Block, blocks: list[Block]) -> str:
    if block.status != FREE:
        return f"a block that is {block.status}"
    start = _run_start(block, blocks)
    merged = f", which coalescing merges into {start.name()}" if start else ""
    return f"a block that is FREE (size {block.size}){merged}"


def _inside(block: Block, offset: int, history: list[list[Decision]]) -> _Where:
    """``offset`` is no block's payload, and its header would lie inside ``block``."""
    into = offset - META - block.payload
    where = (f"{into} bytes into the payload of" if into >= 0 else "inside the header of")
    text = (f"whose header would be {where} {block.status} block {block.name()} "
            f"(size {block.size})")
    found = _split_decision(block, history)
    if found is not None:
        number, decision = found
        return _Where(f"{text}, as if it had been split; at call #{number + 1} the model decided "
                      f"{decision.text}", _split_rule(history[number], decision))
    merge = _merge_removing(offset - META, history)
    if merge is not None:
        number, decision = merge
        return _Where(f"{text}, where a header was before call #{number + 1}, as if the FREE run "
                      f"had not been merged: the model decided {decision.text}", decision.rule)
    return _Where(text)


def _split_rule(call: list[Decision], split: Decision) -> int | None:
    """A split is rule 10 in a search, rule 17 when realloc shrinks in place, 18 after
    realloc absorbed its successors: the rule of the decision the split completes."""
    actions = {d.action for d in call}
    if Action.SHRINK in actions:
        return 17
    if Action.ABSORB_ENOUGH in actions:
        return 18
    return split.rule


def _merge_removing(header: int, history: list[list[Decision]]) -> tuple[int, Decision] | None:
    """The last coalescing that merged away a block whose header was at ``header``."""
    for number in range(len(history) - 1, -1, -1):
        for decision in history[number]:
            if any(block.offset == header for block in decision.merged):
                return number, decision
    return None


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


# ---- which decision the divergence contradicts -----------------------------------------------

def _first_with(decisions: list[Decision], rule_order: tuple[int, ...]) -> Decision | None:
    for rule in rule_order:
        for decision in decisions:
            if decision.rule == rule:
                return decision
    return None


def _first_action(decisions: list[Decision], action: Action) -> Decision | None:
    return next((d for d in decisions if d.action is action), None)


def _placement(decisions: list[Decision], want: events.Call,
               got: events.Call) -> Decision | None:
    """The decision that says which heap block the call returns."""
    move = _first_action(decisions, Action.MOVE)
    if move and want.func == "os_realloc" and got.ret == want.args[0]:
        return move                             # stayed in place where the contract moves
    deciding = [d for d in decisions if d.action in _PLACEMENT]
    return deciding[-1] if deciding else None


def _ret_decision(decisions: list[Decision], want: events.Call,
                  got: events.Call) -> Decision | None:
    if _kind(got.ret) == "other":
        return None                 # not an address the trace could name: no rule explains it
    remap = _first_action(decisions, Action.REALLOC_MAPPED)
    if remap and got.ret == want.args[0]:
        return remap                # a mapped block kept in its mapping: it always moves
    if _kind(want.ret) != _kind(got.ret):
        return _first_with(decisions, _KIND_RULES) or _placement(decisions, want, got)
    if _kind(want.ret) == "heap":
        return _placement(decisions, want, got)
    return _first_with(decisions, (15, 16, 4)) or (decisions[-1] if decisions else None)


def _syscall_decision(decisions: list[Decision], syscall: str) -> Decision | None:
    """The decision that makes the expected ``syscall``."""
    name, argument = _syscall_name(syscall), _syscall_argument(syscall)
    if name == "brk":
        if argument == events.NULL:
            return _first_action(decisions, Action.PREALLOCATE)
        try:
            new_break = parse_pointer(argument).offset
        except ModelError:
            return None
        return next((d for d in decisions if d.new_break == new_break), None)
    action = {"mmap": Action.MMAP, "munmap": Action.MUNMAP}.get(name)
    mapped = re.search(r"<mapped-addr(\d+)>", syscall)
    if action is None or mapped is None:
        return None
    return next((d for d in decisions if d.action is action and d.mapping == int(mapped[1])),
                None)


def _why_ret(decisions: list[Decision], want: events.Call, got: events.Call, heap: _Heap | None,
             history: list[list[Decision]]) -> _Why:
    if (got.ret or "").startswith(events.NEVER_RETURNED):
        # What a free or a realloc had to do with its pointer, and did not live to do.
        task = next((d for d in decisions if d.action in _POINTER_ACTIONS), None)
        said = f"; the model decided {task.text}" if task else ""
        return _Why(task.rule if task else None,
                    f"the call never returned ({got.ret}); expected = {want.ret}{said}", "")
    difference = f"expected = {want.ret}, got = {got.ret}"
    freed = _freed_before_move(decisions, want, got, heap)
    if freed:
        return _Why(20, freed, difference)
    decision = _ret_decision(decisions, want, got)
    if decision is not None and decision.action is Action.REALLOC_MAPPED \
            and got.ret == want.args[0]:
        return _Why(15, f"{decision.text}; expected {_short(want.ret or '')}; you returned the "
                        f"same block {got.ret}, kept in its mapping", difference)
    where = locate(got.ret or "", heap, history) if heap is not None else _Where("")
    unmerged = _never_merged(decisions, decision, got, heap)
    if unmerged:
        assert decision is not None
        return _Why(8, f"{decision.situation}; expected {_short(want.ret or '')}; you returned "
                       f"{_short(got.ret or '')}, {where.text}, as if {unmerged}", difference)
    unsplit = _never_split(decision, where, got, heap, history)
    if unsplit:
        assert decision is not None
        return _Why(_never_split_rule(decision, history),
                    f"{decision.situation}; expected {_short(want.ret or '')}; you returned "
                    f"{_short(got.ret or '')}, {where.text}, as if {unsplit}", difference)
    # A best fit states its candidates and the explanation the block expected; other placing
    # decisions (append, grow) say what they do, which the returned block contradicts.
    said = "" if decision is None else f"{decision.situation}; " \
        if decision.action is Action.BEST_FIT else f"{decision.text}; "
    sentence = (f"{said}expected {_short(want.ret or '')}; you returned {_short(got.ret or '')}"
                + (f", {where.text}" if where.text else ""))
    return _Why(where.rule or (decision.rule if decision else None), sentence, difference)


def _never_merged(decisions: list[Decision], decision: Decision | None, got: events.Call,
                  heap: _Heap | None) -> str:
    """Best fit chose a block that this call's coalescing made, and the value returned is the
    block best fit picks when the FREE runs are left unmerged: rule 8, not a best-fit choice."""
    if decision is None or decision.action is not Action.BEST_FIT or decision.block is None \
            or decision.need is None or heap is None or _kind(got.ret) != "heap":
        return ""
    merged = next((d for d in decisions if d.action is Action.COALESCE and d.block is not None
                   and d.block.offset == decision.block.offset), None)
    if merged is None:
        return ""
    need = decision.need
    offset = parse_pointer(got.ret or "").offset
    run_starts = [b for b in heap.blocks if b.status == FREE and _run_start(b, heap.blocks) is None
                  and _run_size(b, heap.blocks) >= need]
    if run_starts and run_starts[0].payload == offset:
        return ""       # the first merged run that fits: a first-fit choice, not a missing merge
    fits = [b for b in heap.blocks if b.status == FREE and b.size >= need]
    unmerged_choice = min(fits, key=lambda b: b.size) if fits else None
    at_break = heap.heap_break is not None and offset - META == heap.heap_break
    if (unmerged_choice is None and at_break) or \
            (unmerged_choice is not None and unmerged_choice.payload == offset):
        return f"the FREE run had not been merged: the model decided {merged.text}"
    return ""


def _never_split(decision: Decision | None, where: _Where, got: events.Call, heap: _Heap | None,
                 history: list[list[Decision]]) -> str:
    """Where the model reuses the FREE tail of an earlier split, the value returned is a new
    block at the break or a larger FREE block further on (no fit policy prefers those): the
    implementation has no such FREE tail, as if it never made that split (rule 10, or 17/18
    when os_realloc made it)."""
    if decision is None or decision.action is not Action.BEST_FIT or decision.block is None \
            or heap is None:
        return ""
    chosen = decision.block
    returned = next((b for b in heap.blocks if _kind(got.ret) == "heap"
                     and b.payload == parse_pointer(got.ret or "").offset), None)
    further = returned is not None and returned.status == FREE \
        and returned.payload > chosen.payload and returned.size > chosen.size
    if not (where.at_break or further):
        return ""
    found = _split_creating(decision.block, history)
    if found is None:
        return ""
    number, split = found
    return (f"there were no FREE block {decision.block.name()}: at call #{number + 1} the model "
            f"decided {split.text}")


def _never_split_rule(decision: Decision | None, history: list[list[Decision]]) -> int:
    """The rule of the split _never_split points at (10, or 17/18 inside os_realloc)."""
    assert decision is not None and decision.block is not None
    found = _split_creating(decision.block, history)
    assert found is not None
    number, split = found
    return _split_rule(history[number], split) or 10


def _freed_before_move(decisions: list[Decision], want: events.Call, got: events.Call,
                       heap: _Heap | None) -> str:
    """A moving realloc that returned a block which only fits if the old block were FREE."""
    move = _first_action(decisions, Action.MOVE)
    if move is None or heap is None or _kind(got.ret) != "heap" \
            or _kind(want.args[0]) != "heap":
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
            return (f"{move.text}; expected {_short(want.ret or '')}; you returned "
                    f"{_short(got.ret or '')}, which fits only once the old block "
                    f"{_short(want.args[0])} is FREE and merged with it: the new block must be "
                    f"allocated before the old one is freed")
    return ""


def _why_syscalls(decisions: list[Decision], want: events.Call, got: events.Call) -> _Why:
    position, expected, actual = first_syscall_difference(want.syscalls, got.syscalls)
    difference = (f"extra syscall {_brief(actual)}" if expected is None
                  else f"missing syscall {_brief(expected)}" if actual is None
                  else f"syscall {position} is {_brief(actual)}, expected {_brief(expected)}")
    if actual is not None and _syscall_name(actual) not in CONTRACT_SYSCALLS:
        return _Why(1, f"inside os_* only brk, mmap and munmap are made; you made {actual}",
                    difference)
    remap = _first_action(decisions, Action.REALLOC_MAPPED)
    if (remap and actual is not None and actual.startswith("munmap(")
            and expected is not None and not expected.startswith("munmap(")):
        return _Why(15, "mapped block realloc: expected the new allocation before munmap "
                        f"({expected}); you made {actual} first", difference)
    decision = _syscall_decision(decisions, expected) if expected else \
        _placement(decisions, want, got) or (decisions[-1] if decisions else None)
    rule = decision.rule if decision else None
    if expected is None:
        said = f"{decision.text}; " if decision else ""
        return _Why(rule, f"{said}no more syscalls expected; you also made {actual}", difference)
    you = f"you made {actual}" if actual is not None else "you made no such syscall"
    said = f"{decision.situation}; " if decision else ""
    if _syscall_name(expected) == "brk" and expected != "brk(0) = HeapStart":
        if actual is not None and _syscall_name(actual) == "brk" and decision is not None \
                and decision.action in (Action.GROW_LAST_FREE, Action.APPEND, Action.BRK_GROW):
            rule = 3            # the right growth, by the wrong number of bytes
        return _Why(rule, f"{said}expected brk to {_syscall_argument(expected)}; {you}",
                    difference)
    return _Why(rule, f"{said}expected {expected}; {you}", difference)


# ---- the explanation -------------------------------------------------------------------------

def program_rule(message: str) -> int | None:
    """The rule a test program's own failure message names (``... [rule 22]``), if any."""
    match = _PROGRAM_RULE.search(message)
    return int(match[1]) if match else None


def explanation(expected: list[events.Call], actual: list[events.Call], index: int,
                stopped: str = "") -> Explanation:
    """Why call ``index`` (0-based, the first that differs) is wrong, from the contract.

    ``stopped`` is the program's own message when it stopped itself after one of its checks
    (its last stderr line): the explanation then leads with it.
    """
    number = index + 1
    want = expected[index] if index < len(expected) else None
    got = actual[index] if index < len(actual) else None
    if want is None:
        assert got is not None, "index is past both traces"
        text = (f"first difference: call #{number} {got.head()} is extra\n"
                f"  the expected trace ends after call #{len(expected)}; the program made "
                f"{len(actual) - len(expected)} more call(s)")
        return Explanation(None, "", _lead(stopped, text))
    stepped = _step_expected(expected, index)
    if got is None:
        rule = program_rule(stopped) if stopped else None
        why = _Why(rule, f"the program made no call #{number}: it stopped after call #{index}"
                   + (" (its own check failed, above)" if stopped
                      else " (see how it ended and its stderr)"), "")
    elif (want.func, want.args) != (got.func, got.args):
        why = _Why(None, f"the program called {got.func}({', '.join(got.args)}) where "
                         f"{want.func}({', '.join(want.args)}) was expected: the calls before "
                         f"were identical, so the program itself took another path", "")
    elif want.ret != got.ret:
        why = _why_ret(stepped.decisions, want, got, stepped.heap, stepped.history)
    else:
        why = _why_syscalls(stepped.decisions, want, got)
    explained = _assemble(index, want, got, why, stepped)
    return replace(explained, text=_lead(stopped, explained.text))


def _lead(stopped: str, text: str) -> str:
    """The program's own reason first, when it stopped itself."""
    if not stopped:
        return text
    return f"{_wrapped(f'the program stopped itself: {stopped}', 4)}\n{text}"


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
    if stepped.decisions:
        lines.append("  the model, step by step:")
        shown = stepped.decisions[:MAX_STEP_LINES]
        lines += [_wrapped(f"    {decision.tagged()}", 6) for decision in shown]
        if len(stepped.decisions) > len(shown):
            lines.append(f"    ... {len(stepped.decisions) - len(shown)} more")
    reason = ""
    if why.rule is not None and why.difference:
        reason = f"call #{number} {call}, {rules.short_name(why.rule)}: {why.difference}"
    return Explanation(why.rule, reason, "\n".join(lines))


def _wrapped(text: str, indent: int) -> str:
    return textwrap.fill(text, WIDTH, subsequent_indent=" " * indent, break_long_words=False,
                         break_on_hyphens=False)


def explain(expected: list[events.Call], actual: list[events.Call], index: int,
            stopped: str = "") -> str:
    """The terminal explanation of the first divergent call ``index`` (0-based)."""
    return explanation(expected, actual, index, stopped).text


def stage(expected: list[events.Call], actual: list[events.Call],
          index: int | None, stopped: str = "") -> Explanation | None:
    """The pipeline stage: the explanation of the first divergence, None when there is none."""
    if index is None:
        return None
    return explanation(expected, actual, index, stopped)

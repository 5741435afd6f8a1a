"""Tests of checker/explain.py: hand-made divergences, each explained with its rule and numbers.

Every scenario is a short trace the model predicts (the expected side) and a copy of it with
one call changed the way a broken allocator would change it (the actual side). The asserted
sentences are the ones a student reads, so they are checked exactly.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import catalogue
import events
from compare import compare
from events import Call
from explain import explain, explanation, stage
from grade import grade
from model import Model
from report import Row, table
from submission import prepare
from support import BROKEN, build_patched, settings_for

MMAP_1 = "mmap(0, 200032, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = <mapped-addr1>"
MMAP_2 = "mmap(0, 300032, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = <mapped-addr2>"
MUNMAP_1 = "munmap(<mapped-addr1>, 200032) = 0"


def predicted(*calls: tuple[str, ...]) -> list[Call]:
    """The model's trace of ``(func, arg, ...)`` calls."""
    model = Model()
    return [model.step(func, tuple(args)) for func, *args in calls]


def why_line(text: str) -> str:
    """The "why" sentence, unwrapped (its continuation lines are indented by 7)."""
    lines = text.splitlines()
    starts = [number for number, line in enumerate(lines) if line.startswith("  why: ")]
    assert len(starts) == 1, text
    sentence = [lines[starts[0]][len("  why: "):]]
    for line in lines[starts[0] + 1:]:
        if not line.startswith(" " * 7):
            break
        sentence.append(line.strip())
    return " ".join(sentence)


def with_call(trace: list[Call], index: int, **changes: object) -> list[Call]:
    changed = list(trace)
    changed[index] = replace(trace[index], **changes)
    return changed


# ---- best fit ------------------------------------------------------------------------------

BEST_FIT = predicted(
    ("os_malloc", "264"), ("os_malloc", "160"), ("os_malloc", "1480"), ("os_malloc", "2024"),
    ("os_malloc", "8"), ("os_malloc", "126944"),     # the rest of the preallocation: no tail
    ("os_free", "HeapStart + 0x148"), ("os_free", "HeapStart + 0x7f0"),
    ("os_malloc", "24"))


def test_best_fit_names_the_free_blocks_and_what_was_returned() -> None:
    assert BEST_FIT[-1].ret == "HeapStart + 0x148"
    actual = with_call(BEST_FIT, 8, ret="HeapStart + 0x20")
    result = explanation(BEST_FIT, actual, 8)
    assert why_line(result.text) == (
        "best fit for need 24: free blocks after coalescing are +0x148 (size 160), +0x7f0 "
        "(size 2024); expected +0x148; you returned +0x20, a block that is ALLOC")
    assert result.rule == 9
    assert result.reason == ("call #9 os_malloc(24), best fit: "
                             "expected = HeapStart + 0x148, got = HeapStart + 0x20")


def test_the_explanation_shows_both_sides_and_the_models_steps() -> None:
    actual = with_call(BEST_FIT, 8, ret="HeapStart + 0x7f0")
    assert explain(BEST_FIT, actual, 8).splitlines() == [
        "first difference: call #9 os_malloc(24), rule 9 (best fit)",
        "  expected: os_malloc(24) = HeapStart + 0x148",
        "              (no syscalls)",
        "  actual:   os_malloc(24) = HeapStart + 0x7f0",
        "              (no syscalls)",
        "  why: best fit for need 24: free blocks after coalescing are +0x148 (size 160), +0x7f0 "
        "(size 2024);",
        "       expected +0x148; you returned +0x7f0, a block that is FREE (size 2024)",
        "  the model, step by step:",
        "    need ALIGN8(24) = 24: heap (32 + 24 < 131072) [rule 5]",
        "    best fit for need 24: free blocks after coalescing are +0x148 (size 160), +0x7f0 "
        "(size 2024);",
        "      chose +0x148 [rule 9]",
        "    split: remainder 136 >= 40: +0x148 keeps size 24, new FREE block +0x180 "
        "(size 104) [rule 10]",
    ]


# ---- split at a remainder of 32 ------------------------------------------------------------

SPLIT = predicted(
    ("os_malloc", "1000"), ("os_malloc", "1000"), ("os_malloc", "128976"),
    ("os_free", "HeapStart + 0x20"),
    ("os_malloc", "968"),            # remainder 1000 - 968 = 32 < 40: no split
    ("os_free", "HeapStart + 0x428"),
    ("os_malloc", "1032"))           # too big for +0x428 alone: appended with brk


def test_split_at_32_is_traced_back_to_the_no_split_decision() -> None:
    # An allocator that splits at 32 leaves a 0-byte FREE block at header 0x3e8; freeing
    # +0x428 merges it into a 1032-byte block whose payload is +0x408, returned without brk.
    assert SPLIT[-1].ret == "HeapStart + 0x20020"
    actual = with_call(SPLIT, 6, ret="HeapStart + 0x408", syscalls=())
    result = explanation(SPLIT, actual, 6)
    assert why_line(result.text) == (
        "no fit; last heap block +0x830 is ALLOC: append +0x20020 (size 1032) with brk to "
        "HeapStart + 0x20428; expected +0x20020; you returned +0x408, whose header would be "
        "968 bytes into the payload of ALLOC block +0x20 (size 1000), as if it had been split; "
        "at call #5 the model decided split: remainder 32 < 40, so no split (+0x20 keeps size "
        "1000)")
    assert result.rule == 10
    assert result.reason.startswith("call #7 os_malloc(1032), split: ")


# ---- growing the last FREE block with brk --------------------------------------------------

GROW = predicted(("os_malloc", "100000"), ("os_malloc", "50000"))


def test_missing_brk_grow_names_the_last_free_block_and_the_break() -> None:
    assert GROW[-1].syscalls == ("brk(HeapStart + 0x24a30) = HeapStart + 0x24a30",)
    actual = with_call(GROW, 1, syscalls=())
    result = explanation(GROW, actual, 1)
    assert why_line(result.text) == (
        "no fit; last heap block +0x186e0 is FREE; expected brk to HeapStart + 0x24a30; "
        "you made no such syscall")
    assert result.rule == 11
    assert result.reason == ("call #2 os_malloc(50000), grow last FREE: "
                             "missing syscall brk(HeapStart + 0x24a30)")


def test_page_rounded_brk_is_a_wrong_syscall() -> None:
    actual = with_call(GROW, 1, syscalls=("brk(HeapStart + 0x25000) = HeapStart + 0x25000",))
    assert why_line(explain(GROW, actual, 1)) == (
        "no fit; last heap block +0x186e0 is FREE; expected brk to HeapStart + 0x24a30; "
        "you made brk(HeapStart + 0x25000) = HeapStart + 0x25000")


# ---- mapped realloc: munmap comes last ------------------------------------------------------

REMAP = predicted(("os_malloc", "200000"), ("os_realloc", "<mapped-addr1> + 0x20", "300000"))


def test_munmap_before_the_new_allocation() -> None:
    assert REMAP[-1].syscalls == (MMAP_2, MUNMAP_1)
    actual = with_call(REMAP, 1, syscalls=(MUNMAP_1, MMAP_2))
    result = explanation(REMAP, actual, 1)
    assert why_line(result.text) == (
        f"mapped block realloc: expected the new allocation before munmap ({MMAP_2}); "
        f"you made {MUNMAP_1} first")
    assert result.rule == 15
    assert result.reason.startswith(
        "call #2 os_realloc(<mapped-addr1> + 0x20, 300000), mapped block always moves: "
        "syscall 1 is munmap(")


# ---- other shapes of divergence ------------------------------------------------------------

def test_a_syscall_outside_the_contract_is_rule_1() -> None:
    actual = with_call(REMAP, 1, syscalls=("mremap(<mapped-addr1>, 200032, 300032, 1) = "
                                           "<mapped-addr1>",))
    result = explanation(REMAP, actual, 1)
    assert result.rule == 1
    row = table([Row("realloc-mmap-to-heap", 1, False, result.reason)], "title")
    assert result.reason == ("call #2 os_realloc(<mapped-addr1> + 0x20, 300000), syscalls: "
                             "syscall 1 is mremap(<mapped-addr1>, 200032, 300032, 1), "
                             "expected mmap(0, 300032, ...)")
    assert row.splitlines()[2].endswith("200032, 300032, 1), expected mmap(0, 300032, ...)"), \
        "the table keeps what was made and what was expected"
    assert why_line(result.text).startswith("inside os_* only brk, mmap and munmap are made; "
                                            "you made mremap(<mapped-addr1>, 200032")


def test_mapped_threshold_and_zero_size() -> None:
    trace = predicted(("os_malloc", "0"), ("os_malloc", "131033"))
    zero = explanation(trace, with_call(trace, 0, ret="HeapStart + 0x20"), 0)
    assert zero.rule == 7
    assert why_line(zero.text) == ("os_malloc(0) returns NULL, no syscalls; expected NULL; you "
                                   "returned +0x20, but the heap was not set up yet (no heap "
                                   "use before this call)")
    heap = with_call(trace, 1, ret="HeapStart + 0x20", syscalls=GROW[0].syscalls)
    mapped = explanation(trace, heap, 1)
    assert mapped.rule == 5
    assert why_line(mapped.text).startswith(
        "need ALIGN8(131033) = 131040: mapped (32 + 131040 >= 131072); expected "
        "<mapped-addr1> + 0x20; you returned +0x20")


def test_an_address_the_trace_cannot_name_has_no_rule() -> None:
    actual = with_call(BEST_FIT, 0, ret="0x7f5914872020")
    result = explanation(BEST_FIT, actual, 0)
    assert result.rule is None and result.reason == ""
    assert why_line(result.text) == (
        "expected +0x20; you returned 0x7f5914872020, not an address that the heap or a "
        "mapping made inside os_* contains")


def test_a_program_that_stopped_early_has_no_rule() -> None:
    result = explanation(BEST_FIT, BEST_FIT[:8], 8)
    assert result.rule is None and result.reason == ""
    assert "the program made no call #9: it stopped after call #8" in result.text
    assert "  actual:   (no such call)" in result.text.splitlines()


def test_an_extra_call() -> None:
    extra = BEST_FIT + [Call("os_free", ("HeapStart + 0x148",), None)]
    text = explain(BEST_FIT, extra, 9)
    assert text.splitlines()[0] == "first difference: call #10 os_free(HeapStart + 0x148) is extra"


def test_a_crash_inside_the_call() -> None:
    actual = with_call(BEST_FIT, 8, ret=events.never_returned("killed by SIGSEGV"))
    assert why_line(explain(BEST_FIT, actual, 8)) == (
        "the call never returned (<never returned: killed by SIGSEGV>); "
        "expected = HeapStart + 0x148")


def test_stage_follows_compare() -> None:
    assert stage(BEST_FIT, BEST_FIT, compare(BEST_FIT, BEST_FIT).first_divergence) is None
    actual = with_call(BEST_FIT, 8, ret="HeapStart + 0x20")
    verdict = compare(BEST_FIT, actual)
    explained = stage(BEST_FIT, actual, verdict.first_divergence)
    assert verdict.first_divergence == 8
    assert explained is not None and explained.text.startswith("first difference: call #9 ")


@pytest.mark.parametrize("index", range(len(BEST_FIT)))
def test_every_call_can_be_explained(index: int) -> None:
    """Any single wrong return value yields an explanation without raising."""
    actual = with_call(BEST_FIT, index, ret="HeapStart + 0x999")
    assert explain(BEST_FIT, actual, index).startswith(f"first difference: call #{index + 1} ")


# ---- wired into grade.py -------------------------------------------------------------------

def test_a_graded_failure_starts_with_the_explanation(tmp_path: Path) -> None:
    """A real broken allocator (no coalescing) on calloc-coalesce: details start with the
    program's own reason, then the explanation naming the missing merge."""
    library = build_patched(BROKEN / "no-coalesce.patch", tmp_path)
    implementation = prepare(library, tmp_path / "impl")
    result = grade(catalogue.program("calloc-coalesce"), implementation, settings_for("strace"))
    assert not result.passed
    lines = result.details.splitlines()
    # The program stopped itself after its own check: its reason comes first.
    assert lines[:2] == [
        "the program stopped itself: calloc-coalesce.c: slot 10: payload at HeapStart + 0x2088, "
        "expected", "    HeapStart + 0x428"]
    assert lines[2] == "first difference: call #14 os_calloc(2, 1000), rule 8 (coalesce)"
    assert why_line(result.details) == (
        "best fit for need 2000: free blocks after coalescing are +0x428 (size 2032), +0x2088 "
        "(size 122744); expected +0x428; you returned +0x2088, a block that is FREE "
        "(size 122744), as if the FREE run had not been merged: the model decided coalesce "
        "+0x428 (size 1000), +0x830 (size 1000) into +0x428 (size 2032)")
    assert result.rule == 8
    # The one-line reason names the rule first, then how the program's own check stopped it.
    assert result.reason == (
        "call #14 os_calloc(2, 1000), coalesce: expected = HeapStart + 0x428, got = HeapStart + "
        "0x2088; program exited with 1: calloc-coalesce.c: slot 10: payload at HeapStart + "
        "0x2088, expected HeapStart + 0x428")
    assert result.reason in lines


# ---- realloc that frees the old block before moving ---------------------------------------

MOVE = predicted(("os_malloc", "8"), ("os_malloc", "8"), ("os_malloc", "8"),
                 ("os_free", "HeapStart + 0x20"),
                 ("os_realloc", "HeapStart + 0x48", "33"))   # 8 -> 40: +0x70 is ALLOC, move


def test_free_before_move_is_rule_20() -> None:
    # Freeing +0x48 first merges it with FREE +0x20 into 48 bytes, enough for need 40.
    assert MOVE[-1].ret == "HeapStart + 0x98"
    actual = with_call(MOVE, 4, ret="HeapStart + 0x20")
    result = explanation(MOVE, actual, 4)
    assert result.rule == 20
    assert why_line(result.text) == (
        "+0x48 (size 8) cannot grow in place: move it (allocate while it is still ALLOC); "
        "expected +0x98; you returned +0x20, which fits only once the old block +0x48 is FREE "
        "and merged with it: the new block must be allocated before the old one is freed")


# ---- a mapped block always moves (rule 15), whatever its new size ----------------------------

def test_mapped_block_kept_in_its_mapping_for_a_heap_size_is_rule_15() -> None:
    trace = predicted(("os_malloc", "200000"), ("os_realloc", "<mapped-addr1> + 0x20", "1000"))
    assert trace[1].ret == "HeapStart + 0x20"
    actual = with_call(trace, 1, ret="<mapped-addr1> + 0x20", syscalls=())
    result = explanation(trace, actual, 1)
    assert result.rule == 15
    assert result.text.splitlines()[0] == ("first difference: call #2 os_realloc(<mapped-addr1> "
                                           "+ 0x20, 1000), rule 15 (mapped block always moves)")
    assert why_line(result.text).endswith(
        "expected +0x20; you returned the same block <mapped-addr1> + 0x20, kept in its mapping")


def test_mapped_block_kept_for_the_same_size_is_rule_15_not_4() -> None:
    trace = predicted(("os_malloc", "200000"), ("os_realloc", "<mapped-addr1> + 0x20", "200000"))
    assert trace[1].ret == "<mapped-addr2> + 0x20"
    actual = with_call(trace, 1, ret="<mapped-addr1> + 0x20", syscalls=())
    result = explanation(trace, actual, 1)
    assert result.rule == 15
    assert result.reason == ("call #2 os_realloc(<mapped-addr1> + 0x20, 200000), mapped block "
                             "always moves: expected = <mapped-addr2> + 0x20, got = "
                             "<mapped-addr1> + 0x20")


# ---- a program that stopped itself leads with its own reason ---------------------------------

def test_a_program_that_stopped_itself_is_explained_by_its_own_check_first() -> None:
    trace = predicted(("os_malloc", "100"), ("os_free", "HeapStart + 0x20"))
    message = ("prog.c: os_malloc(100) [slot 0]: slot 0: header size is 100 for a request of 100 "
               "bytes (need 104) [rule 22]")
    result = explanation(trace, trace[:1], 1, stopped=message)
    lines = result.text.splitlines()
    assert lines[0].startswith("the program stopped itself: prog.c: os_malloc(100) [slot 0]")
    assert "first difference: call #2 os_free(HeapStart + 0x20), rule 22 (header size)" in lines
    assert result.rule == 22
    # Without its message, the same trace names no rule: the trace alone shows nothing wrong.
    assert explanation(trace, trace[:1], 1).rule is None

"""Tests of checker/model.py against values computed by hand from the contract.

Every expected value below is derived from the rules in the comment next to it, not copied
from the model's output. Offsets are relative to HeapStart; a block's header is at ``offset``
and its payload (the pointer the trace shows) at ``offset + 0x20``.
"""

from __future__ import annotations

import dataclasses
import random

import pytest

from events import Call
from model import Action, Block, Decision, Model, ModelError, predict

SIZE_MAX = 2**64 - 1
PREALLOC = ("brk(0) = HeapStart", "brk(HeapStart + 0x20000) = HeapStart + 0x20000")


# ---- hand-written renderers (independent of events.py, so the text format is checked too) --

def heap(offset: int) -> str:
    return f"HeapStart + {offset:#x}"


def brk(offset: int) -> str:
    return f"brk({heap(offset)}) = {heap(offset)}"


def mmap(length: int, n: int) -> str:
    return (f"mmap(0, {length}, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = "
            f"<mapped-addr{n}>")


def munmap(n: int, length: int) -> str:
    return f"munmap(<mapped-addr{n}>, {length}) = 0"


def mapped(n: int) -> str:
    return f"<mapped-addr{n}> + 0x20"


def expect(model: Model, func: str, args: tuple[object, ...], ret: str | None,
           *syscalls: str) -> None:
    text_args = tuple(str(a) for a in args)
    assert model.step(func, text_args) == Call(func, text_args, ret, syscalls)


def F(offset: int, size: int) -> Block:
    return Block(offset, size, "FREE")


def A(offset: int, size: int) -> Block:
    return Block(offset, size, "ALLOC")


def full_first_block() -> Model:
    """malloc(131032): need 131032, prealloc block of 131040, remainder 8 < 40: no split."""
    model = Model()
    expect(model, "os_malloc", (131032,), heap(0x20), *PREALLOC)
    assert model.snapshot() == [A(0, 131040)]
    return model


def four_small_blocks() -> Model:
    """Four malloc(16) at 0, 0x30, 0x60, 0x90 carved from the preallocation (each split)."""
    model = Model()
    # 131040 - 16 = 131024 >= 40: split, tail at 0x30 of 131040 - 48 = 130992; and so on.
    expect(model, "os_malloc", (16,), heap(0x20), *PREALLOC)
    expect(model, "os_malloc", (16,), heap(0x50))
    expect(model, "os_malloc", (16,), heap(0x80))
    expect(model, "os_malloc", (16,), heap(0xb0))
    assert model.snapshot() == [A(0, 16), A(0x30, 16), A(0x60, 16), A(0x90, 16),
                                F(0xc0, 130848)]
    return model


# ---- the worked example ------------------------------------------------------------------

def test_worked_example_from_the_issue() -> None:
    model = Model()
    calls = [model.step("os_malloc", ("131032",)),
             model.step("os_malloc", ("10",)),
             model.step("os_realloc", ("HeapStart + 0x20020", "25")),
             model.step("os_malloc", ("131072",))]
    text = [line for call in calls for line in call.lines()]
    assert text == [
        "os_malloc(131032) = HeapStart + 0x20",
        "    brk(0) = HeapStart",
        "    brk(HeapStart + 0x20000) = HeapStart + 0x20000",
        "os_malloc(10) = HeapStart + 0x20020",
        "    brk(HeapStart + 0x20030) = HeapStart + 0x20030",
        "os_realloc(HeapStart + 0x20020, 25) = HeapStart + 0x20020",
        "    brk(HeapStart + 0x20040) = HeapStart + 0x20040",
        "os_malloc(131072) = <mapped-addr1> + 0x20",
        "    mmap(0, 131104, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = "
        "<mapped-addr1>",
    ]
    assert model.snapshot() == [A(0, 131040), A(0x20000, 32)]
    assert model.mappings() == [(1, 131072)]
    assert model.heap_break() == 0x20040


def test_predict_is_step_in_sequence() -> None:
    calls = [("os_malloc", ("10",)), ("os_free", ("HeapStart + 0x20",))]
    assert predict(calls) == [
        Call("os_malloc", ("10",), heap(0x20), PREALLOC),
        Call("os_free", ("HeapStart + 0x20",), None, ()),
    ]


# ---- thresholds (rules 5, 6) ---------------------------------------------------------------

def test_malloc_131032_is_heap() -> None:
    full_first_block()


def test_malloc_131033_is_mapped_and_never_touches_the_heap() -> None:
    model = Model()
    # ALIGN8(131033) = 131040; 32 + 131040 = 131072 >= 131072: mapped, length not page-rounded.
    expect(model, "os_malloc", (131033,), mapped(1), mmap(131072, 1))
    assert model.snapshot() == []
    assert model.heap_break() is None
    assert model.mappings() == [(1, 131040)]


def test_mmap_length_is_not_page_rounded() -> None:
    # Rule 4 says "os_malloc(47249) maps 47288 bytes", but by rule 5 that malloc is heap
    # (32 + 47256 < 131072); the 47288-byte mapping comes from calloc (>= page size).
    expect(Model(), "os_calloc", (1, 47249), mapped(1), mmap(47288, 1))
    expect(Model(), "os_malloc", (47249,), heap(0x20), *PREALLOC)


def test_realloc_null_uses_the_malloc_threshold() -> None:
    expect(Model(), "os_realloc", (0, 131033), mapped(1), mmap(131072, 1))
    expect(Model(), "os_realloc", (0, 131032), heap(0x20), *PREALLOC)


@pytest.mark.parametrize("nmemb, size, mapped_length", [
    (1, 4056, None),   # 32 + 4056 = 4088 < 4096
    (1, 4057, 4096),   # ALIGN8 = 4064; 32 + 4064 = 4096 >= 4096
    (1, 4023, None),   # ALIGN8 = 4024; 4056 < 4096
    (1, 4064, 4096),
    (4080, 1, 4112),   # total 4080; 4112
    (2, 2028, None),   # total 4056, same as (1, 4056)
])
def test_calloc_page_size_threshold(nmemb: int, size: int, mapped_length: int | None) -> None:
    model = Model()
    if mapped_length is None:
        need = (nmemb * size + 7) & ~7
        expect(model, "os_calloc", (nmemb, size), heap(0x20), *PREALLOC)
        # Remainder 131040 - need >= 40: split right after the payload.
        assert model.snapshot() == [A(0, need), F(32 + need, 131040 - need - 32)]
    else:
        expect(model, "os_calloc", (nmemb, size), mapped(1), mmap(mapped_length, 1))
        assert model.heap_break() is None


def test_calloc_threshold_follows_the_page_size_argument() -> None:
    model = Model(page_size=8192)
    expect(model, "os_calloc", (1, 4064), heap(0x20), *PREALLOC)     # 4096 < 8192
    expect(model, "os_calloc", (1, 8153), mapped(1), mmap(8192, 1))  # 32 + 8160 = 8192
    # 32 + 8152 = 8184 < 8192: heap, from the FREE tail at 32 + 4064 = 0x1000.
    expect(model, "os_calloc", (1, 8152), heap(0x1020))


def test_calloc_reuses_a_free_heap_block_like_malloc() -> None:
    model = four_small_blocks()
    expect(model, "os_free", (heap(0x50),), None)
    expect(model, "os_calloc", (4, 4), heap(0x50))  # need 16: exact fit at +0x50


# ---- zero sizes and NULL (rules 7, 13, 14) -------------------------------------------------

@pytest.mark.parametrize("func, args", [
    ("os_malloc", (0,)),
    ("os_calloc", (0, 5)),
    ("os_calloc", (5, 0)),
    ("os_calloc", (0, 0)),
    ("os_realloc", (0, 0)),
])
def test_zero_size_returns_null_without_syscalls(func: str, args: tuple[int, ...]) -> None:
    model = Model()
    expect(model, func, args, "0")
    assert model.heap_break() is None
    # The heap was not touched, so the next heap use still preallocates.
    expect(model, "os_malloc", (1,), heap(0x20), *PREALLOC)


def test_free_null_does_nothing() -> None:
    model = Model()
    expect(model, "os_free", ("0",), None)
    assert model.snapshot() == [] and model.mappings() == []


# ---- heap allocation: best fit, split, coalesce, grow, append (rules 8-12) ---------------

def test_best_fit_takes_the_smallest_block_not_the_first() -> None:
    model = Model()
    # 0:64 (tail 0x60), 0x60:16 (tail 0x90), 0x90:48 (next 0x90 + 80 = 0xe0), 0xe0:16.
    for size in (64, 16, 48, 16):
        model.step("os_malloc", (str(size),))
    expect(model, "os_free", (heap(0x20),), None)
    expect(model, "os_free", (heap(0xb0),), None)
    # need 48: 0:64 comes first, but 0x90:48 is the smallest that fits.
    expect(model, "os_malloc", (48,), heap(0xb0))
    assert model.snapshot()[:4] == [F(0, 64), A(0x60, 16), A(0x90, 48), A(0xe0, 16)]


def test_best_fit_ties_go_to_the_lowest_address() -> None:
    model = Model()
    # 64 at 0 (tail 0x60), 16 at 0x60 (tail 0x90), 64 at 0x90 (tail 0xf0), 16 at 0xf0.
    for size, ret in ((64, 0x20), (16, 0x80), (64, 0xb0), (16, 0x110)):
        model.step("os_malloc", (str(size),))
        assert model.snapshot()[-2].payload == ret
    expect(model, "os_free", (heap(0xb0),), None)
    expect(model, "os_free", (heap(0x20),), None)
    # Two FREE blocks of size 64 (0 and 0x90, freed in the other order): lowest address wins.
    expect(model, "os_malloc", (64,), heap(0x20))
    fit = [d for d in model.decisions if d.action is Action.BEST_FIT]
    assert [(d.rule, d.block) for d in fit] == [(9, F(0, 64))]
    assert "lowest address of 2 blocks of size 64" in fit[0].text
    expect(model, "os_malloc", (57,), heap(0xb0))  # ALIGN8(57) = 64: the other one


def guarded_free_64() -> Model:
    """0:16 ALLOC, 0x30:64 FREE, 0x90:16 ALLOC, FREE tail 0xc0 of 131072 - 0xc0 - 32."""
    model = Model()
    for size in (16, 64, 16):
        model.step("os_malloc", (str(size),))
    expect(model, "os_free", (heap(0x50),), None)
    assert model.snapshot() == [A(0, 16), F(0x30, 64), A(0x90, 16), F(0xc0, 130848)]
    return model


def test_split_when_remainder_is_40() -> None:
    model = guarded_free_64()
    # Best fit for 24: 0x30 (64); remainder 40 >= 40: keep 24, new FREE block at
    # 0x30 + 32 + 24 = 0x68 of 64 - 24 - 32 = 8.
    expect(model, "os_malloc", (24,), heap(0x50))
    assert model.snapshot() == [A(0, 16), A(0x30, 24), F(0x68, 8), A(0x90, 16),
                                F(0xc0, 130848)]
    split = [d for d in model.decisions if d.rule == 10]
    assert [(d.action, d.block) for d in split] == [(Action.SPLIT, F(0x30, 64))]
    assert split[0].text.startswith("split: remainder 40 >= 40")


def test_no_split_when_remainder_is_32() -> None:
    model = guarded_free_64()
    # need 32 in the 64 block: remainder 32 < 40: the block keeps its whole size 64.
    expect(model, "os_malloc", (32,), heap(0x50))
    assert model.snapshot() == [A(0, 16), A(0x30, 64), A(0x90, 16), F(0xc0, 130848)]
    split = [d for d in model.decisions if d.rule == 10]
    assert [(d.action, d.block) for d in split] == [(Action.NO_SPLIT, F(0x30, 64))]
    assert split[0].text.startswith("split: remainder 32 < 40, so no split")


def test_free_does_not_merge_and_malloc_coalesces_before_searching() -> None:
    model = four_small_blocks()
    for ptr in (0x20, 0x50, 0x80):
        expect(model, "os_free", (heap(ptr),), None)
    # Rule 13: no merging in free; three separate FREE blocks.
    assert model.snapshot() == [F(0, 16), F(0x30, 16), F(0x60, 16), A(0x90, 16),
                                F(0xc0, 130848)]
    # Rule 8: merge 0,0x30,0x60 into 0 with size 16*3 + 32*2 = 112. Best fit for need 80:
    # 112 (not the tail); remainder 32 < 40: no split.
    expect(model, "os_malloc", (80,), heap(0x20))
    assert model.snapshot() == [A(0, 112), A(0x90, 16), F(0xc0, 130848)]


def test_coalescing_merges_every_run_not_just_the_chosen_one() -> None:
    model = four_small_blocks()
    for ptr in (0x20, 0x50, 0xb0):
        expect(model, "os_free", (heap(ptr),), None)
    # Runs: [0, 0x30] -> 0 (size 64) and [0x90, tail 0xc0] -> 0x90 (16 + 32 + 130848).
    expect(model, "os_malloc", (8,), heap(0x20))  # best fit 64; remainder 56: split
    assert model.snapshot() == [A(0, 8), F(0x28, 24), A(0x60, 16), F(0x90, 130896)]


def test_no_fit_grows_the_last_free_block() -> None:
    model = full_first_block()
    expect(model, "os_malloc", (16,), heap(0x20020), brk(0x20030))
    expect(model, "os_free", (heap(0x20020),), None)
    # need 104: nothing fits (only 0x20000:16 is FREE), and it is the last block:
    # brk to 0x20000 + 32 + 104 = 0x20088.
    expect(model, "os_malloc", (100,), heap(0x20020), brk(0x20088))
    assert model.snapshot() == [A(0, 131040), A(0x20000, 104)]
    grow = model.decisions[-1]
    assert (grow.rule, grow.action, grow.block, grow.new_break) == (
        11, Action.GROW_LAST_FREE, F(0x20000, 16), 0x20088)
    assert grow.tagged() == ("no fit; last heap block +0x20020 is FREE: grow it with brk to "
                             "HeapStart + 0x20088 [rule 11]")
    assert grow.situation == "no fit; last heap block +0x20020 is FREE"


def test_last_free_block_grows_after_coalescing() -> None:
    model = full_first_block()
    expect(model, "os_malloc", (16,), heap(0x20020), brk(0x20030))
    expect(model, "os_malloc", (16,), heap(0x20050), brk(0x20060))
    expect(model, "os_free", (heap(0x20020),), None)
    expect(model, "os_free", (heap(0x20050),), None)
    # Coalesced 0x20000 size 64 < 104: grow it to 104: brk(0x20088).
    expect(model, "os_malloc", (100,), heap(0x20020), brk(0x20088))
    assert model.snapshot() == [A(0, 131040), A(0x20000, 104)]


def test_no_fit_appends_when_the_last_block_is_alloc() -> None:
    model = full_first_block()
    expect(model, "os_malloc", (16,), heap(0x20020), brk(0x20030))
    expect(model, "os_malloc", (16,), heap(0x20050), brk(0x20060))
    expect(model, "os_free", (heap(0x20020),), None)
    # need 24; 0x20000:16 too small; last block ALLOC: append at 0x20060, brk +32+24.
    expect(model, "os_malloc", (24,), heap(0x20080), brk(0x20098))
    assert model.snapshot() == [A(0, 131040), F(0x20000, 16), A(0x20030, 16),
                                A(0x20060, 24)]


def test_preallocation_happens_once() -> None:
    model = Model()
    expect(model, "os_malloc", (8,), heap(0x20), *PREALLOC)
    expect(model, "os_free", (heap(0x20),), None)
    expect(model, "os_malloc", (8,), heap(0x20))


# ---- os_free (rule 13) ---------------------------------------------------------------------

def test_free_mapped_unmaps_the_same_length_and_numbers_are_never_reused() -> None:
    model = Model()
    expect(model, "os_malloc", (200000,), mapped(1), mmap(200032, 1))
    expect(model, "os_free", (mapped(1),), None, munmap(1, 200032))
    assert model.mappings() == []
    expect(model, "os_malloc", (200000,), mapped(2), mmap(200032, 2))
    assert model.mappings() == [(2, 200000)]


def test_free_of_a_free_block_does_nothing() -> None:
    model = four_small_blocks()
    expect(model, "os_free", (heap(0x50),), None)
    before = model.snapshot()
    expect(model, "os_free", (heap(0x50),), None)
    assert model.snapshot() == before
    assert model.decisions == [Decision(13, Action.ALREADY_FREE,
                                        "block +0x50 is already FREE: nothing",
                                        block=F(0x30, 16))]


# ---- os_realloc (rules 14-20) --------------------------------------------------------------

def test_realloc_null_is_malloc() -> None:
    expect(Model(), "os_realloc", (0, 10), heap(0x20), *PREALLOC)


def test_realloc_to_zero_frees_heap_and_mapped_blocks() -> None:
    model = four_small_blocks()
    expect(model, "os_realloc", (heap(0x50), 0), "0")
    assert model.snapshot()[1] == F(0x30, 16)
    expect(model, "os_malloc", (131033,), mapped(1), mmap(131072, 1))
    expect(model, "os_realloc", (mapped(1), 0), "0", munmap(1, 131072))
    assert model.mappings() == []


@pytest.mark.parametrize("size", [10, 16, 100, 131033])
def test_realloc_of_a_free_block_returns_null_and_does_nothing(size: int) -> None:
    model = four_small_blocks()
    expect(model, "os_free", (heap(0x50),), None)
    before = model.snapshot()
    expect(model, "os_realloc", (heap(0x50), size), "0")
    assert model.snapshot() == before and model.mappings() == []


def test_mapped_realloc_to_same_size_maps_anew_then_unmaps() -> None:
    model = Model()
    expect(model, "os_malloc", (131033,), mapped(1), mmap(131072, 1))
    # Rule 15: new allocation first (mapping 2), then munmap of mapping 1.
    expect(model, "os_realloc", (mapped(1), 131033), mapped(2), mmap(131072, 2),
           munmap(1, 131072))
    assert model.mappings() == [(2, 131040)]
    # Smaller but still mapped: 131040 -> need 131040, same again.
    expect(model, "os_realloc", (mapped(2), 131040), mapped(3), mmap(131072, 3),
           munmap(2, 131072))


def test_mapped_realloc_to_heap_triggers_the_preallocation_before_munmap() -> None:
    model = Model()
    expect(model, "os_malloc", (131033,), mapped(1), mmap(131072, 1))
    expect(model, "os_realloc", (mapped(1), 10), heap(0x20), *PREALLOC, munmap(1, 131072))
    assert model.snapshot() == [A(0, 16), F(0x30, 130992)]
    assert model.mappings() == []


def test_mapped_realloc_to_a_larger_mapping() -> None:
    model = Model()
    expect(model, "os_calloc", (1, 5000), mapped(1), mmap(5032, 1))
    expect(model, "os_realloc", (mapped(1), 200000), mapped(2), mmap(200032, 2),
           munmap(1, 5032))


def test_heap_realloc_to_mapped_size_marks_the_old_block_free() -> None:
    model = Model()
    # need 104; split: tail at 0x88 of 131040 - 136 = 130904.
    expect(model, "os_malloc", (100,), heap(0x20), *PREALLOC)
    # Rule 16: no grow in place (the FREE successor is huge), just a mapping.
    expect(model, "os_realloc", (heap(0x20), 131033), mapped(1), mmap(131072, 1))
    assert model.snapshot() == [F(0, 104), F(0x88, 130904)]  # not merged
    assert model.mappings() == [(1, 131040)]


def test_realloc_shrink_splits_in_place_without_merging_the_tail() -> None:
    model = Model()
    expect(model, "os_malloc", (100,), heap(0x20), *PREALLOC)  # 0:104, tail 0x88:130904
    # need 40 <= 104; remainder 64 >= 40: keep 40, FREE at 0x48 of 104 - 40 - 32 = 32.
    expect(model, "os_realloc", (heap(0x20), 40), heap(0x20))
    assert model.snapshot() == [A(0, 40), F(0x48, 32), F(0x88, 130904)]


def test_realloc_shrink_without_split_keeps_the_size() -> None:
    model = Model()
    expect(model, "os_malloc", (100,), heap(0x20), *PREALLOC)
    expect(model, "os_realloc", (heap(0x20), 72), heap(0x20))  # remainder 32: no split
    assert model.snapshot() == [A(0, 104), F(0x88, 130904)]
    expect(model, "os_realloc", (heap(0x20), 104), heap(0x20))  # same size: nothing
    assert model.snapshot() == [A(0, 104), F(0x88, 130904)]


def test_realloc_absorbs_and_stops_as_soon_as_it_is_enough() -> None:
    model = four_small_blocks()
    expect(model, "os_free", (heap(0x50),), None)
    expect(model, "os_free", (heap(0x80),), None)
    # need 40: absorb 0x30 -> 16 + 32 + 16 = 64 >= 40: stop (0x60 stays). Remainder 24: no split.
    expect(model, "os_realloc", (heap(0x20), 40), heap(0x20))
    assert model.snapshot() == [A(0, 64), F(0x60, 16), A(0x90, 16), F(0xc0, 130848)]


def test_realloc_absorbs_two_successors_then_splits() -> None:
    model = Model()
    # 0:16, 0x30:16, 0x60:200, 0x148:16, tail at 0x178 of 131072 - 0x178 - 32 = 130664.
    for size in (16, 16, 200, 16):
        model.step("os_malloc", (str(size),))
    assert model.snapshot() == [A(0, 16), A(0x30, 16), A(0x60, 200), A(0x148, 16),
                                F(0x178, 130664)]
    expect(model, "os_free", (heap(0x50),), None)
    expect(model, "os_free", (heap(0x80),), None)
    # need 104: 16 -> 64 -> 64 + 32 + 200 = 296; remainder 192: keep 104, FREE 0x88 of 160.
    expect(model, "os_realloc", (heap(0x20), 100), heap(0x20))
    assert model.snapshot() == [A(0, 104), F(0x88, 160), A(0x148, 16), F(0x178, 130664)]


def test_realloc_grow_in_place_does_not_coalesce_elsewhere() -> None:
    model = Model()
    for _ in range(5):  # 0, 0x30, 0x60, 0x90, 0xc0; tail 0xf0
        model.step("os_malloc", ("16",))
    for ptr in (0x20, 0x50, 0xb0):
        expect(model, "os_free", (heap(ptr),), None)
    expect(model, "os_realloc", (heap(0x80), 40), heap(0x80))  # absorbs 0x90 only
    assert model.snapshot()[:4] == [F(0, 16), F(0x30, 16), A(0x60, 64), A(0xc0, 16)]


def test_realloc_moves_and_absorbed_blocks_stay_absorbed() -> None:
    model = Model()
    for _ in range(3):  # 0, 0x30, 0x60; tail 0x90 of 130896
        model.step("os_malloc", ("16",))
    expect(model, "os_free", (heap(0x50),), None)
    # need 104: absorb 0x30 -> 64 < 104; next 0x60 ALLOC, not last: move. Best fit: tail;
    # split: 0x90:104, FREE 0x118 of 130896 - 136 = 130760. Old block (size 64) FREE.
    expect(model, "os_realloc", (heap(0x20), 100), heap(0xb0))
    assert model.snapshot() == [F(0, 64), A(0x60, 16), A(0x90, 104), F(0x118, 130760)]


def test_realloc_move_searches_while_the_old_block_is_still_alloc() -> None:
    model = Model()
    for _ in range(3):  # 0, 0x30, 0x60; tail 0x90 of 130896
        model.step("os_malloc", ("16",))
    expect(model, "os_free", (heap(0x20),), None)
    # need 40; next 0x60 is ALLOC, not last: move. If the old block were FREE, 0 + 0x30 would
    # coalesce to 64 and fit; it is ALLOC, so the tail: 0x90:40, FREE 0xd8 of 130896 - 72.
    expect(model, "os_realloc", (heap(0x50), 40), heap(0xb0))
    assert model.snapshot() == [F(0, 16), F(0x30, 16), A(0x60, 16), A(0x90, 40),
                                F(0xd8, 130824)]


def test_realloc_move_can_grow_the_last_free_block() -> None:
    model = full_first_block()
    expect(model, "os_malloc", (16,), heap(0x20020), brk(0x20030))
    expect(model, "os_malloc", (16,), heap(0x20050), brk(0x20060))
    expect(model, "os_malloc", (16,), heap(0x20080), brk(0x20090))
    expect(model, "os_free", (heap(0x20080),), None)
    # Move (next is ALLOC); no fit; last 0x20060 FREE: brk to 0x20060 + 32 + 104 = 0x200e8.
    expect(model, "os_realloc", (heap(0x20020), 100), heap(0x20080), brk(0x200e8))
    assert model.snapshot() == [A(0, 131040), F(0x20000, 16), A(0x20030, 16),
                                A(0x20060, 104)]


def test_realloc_brk_grows_a_block_that_became_last_by_absorbing() -> None:
    model = full_first_block()
    expect(model, "os_malloc", (16,), heap(0x20020), brk(0x20030))
    expect(model, "os_malloc", (16,), heap(0x20050), brk(0x20060))
    expect(model, "os_free", (heap(0x20050),), None)
    # need 104: absorb 0x20030 -> 64 < 104; now last: brk to 0x20000 + 32 + 104 = 0x20088.
    expect(model, "os_realloc", (heap(0x20020), 100), heap(0x20020), brk(0x20088))
    assert model.snapshot() == [A(0, 131040), A(0x20000, 104)]
    assert [(d.rule, d.action, d.new_break) for d in model.decisions if d.rule == 19] == [
        (19, Action.BRK_GROW, 0x20088)]


# ---- overflow ("Failures": NULL, nothing changes) ------------------------------------------

@pytest.mark.parametrize("func, args", [
    ("os_malloc", (SIZE_MAX,)),
    ("os_malloc", (SIZE_MAX - 38,)),  # ALIGN8 = 2**64 - 32: 32 + need overflows
    ("os_calloc", (2**32, 2**32)),
    ("os_realloc", (0, SIZE_MAX)),
])
def test_size_overflow_returns_null_without_syscalls(func: str, args: tuple[int, ...]) -> None:
    model = Model()
    expect(model, func, args, "0")
    assert model.heap_break() is None


def test_realloc_overflow_keeps_the_old_block() -> None:
    model = Model()
    expect(model, "os_malloc", (131033,), mapped(1), mmap(131072, 1))
    expect(model, "os_realloc", (mapped(1), SIZE_MAX), "0")
    assert model.mappings() == [(1, 131040)]


# ---- undefined input ------------------------------------------------------------------------

@pytest.mark.parametrize("func, args", [
    ("os_free", ("HeapStart + 0x28",)),         # inside a block, not a payload start
    ("os_free", ("HeapStart",)),                # a header, not a payload
    ("os_free", ("HeapStart + 0x50",)),         # a block absorbed by coalescing
    ("os_free", ("<mapped-addr1>",)),           # the mapping, not its payload
    ("os_free", ("<mapped-addr2> + 0x20",)),    # never mapped
    ("os_realloc", ("HeapStart + 0x1000", "8")),
    ("os_free", ("0x1234",)),
    ("os_malloc", ("-1",)),
    ("os_malloc", ("0x10",)),
    ("os_malloc", (str(2**64),)),
    ("os_malloc", ("1", "2")),
    ("malloc", ("1",)),
])
def test_undefined_input_raises_model_error(func: str, args: tuple[str, ...]) -> None:
    model = Model()
    model.step("os_malloc", ("16",))     # 0:16
    model.step("os_malloc", ("16",))     # 0x30:16
    model.step("os_free", ("HeapStart + 0x20",))
    model.step("os_free", ("HeapStart + 0x50",))
    model.step("os_malloc", ("40",))     # coalesces 0 and 0x30: +0x50 no longer a block
    model.step("os_malloc", ("131033",))  # mapping 1
    before = (model.snapshot(), model.mappings())
    with pytest.raises(ModelError):
        model.step(func, args)
    assert (model.snapshot(), model.mappings()) == before
    assert issubclass(ModelError, ValueError)


def test_heap_pointer_before_any_heap_use_is_undefined() -> None:
    with pytest.raises(ModelError, match="not the payload start"):
        Model().step("os_free", ("HeapStart + 0x20",))


def test_double_free_of_a_mapping_is_undefined() -> None:
    model = Model()
    model.step("os_malloc", ("131033",))
    model.step("os_free", (mapped(1),))
    with pytest.raises(ModelError, match="not live"):
        model.step("os_free", (mapped(1),))


# ---- snapshot, mappings, decisions ---------------------------------------------------------

def test_snapshot_is_a_copy_of_frozen_blocks() -> None:
    model = four_small_blocks()
    picture = model.snapshot()
    picture.clear()
    assert len(model.snapshot()) == 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.snapshot()[0].size = 1  # type: ignore[misc]
    block = model.snapshot()[1]
    assert (block.offset, block.payload, block.end, block.status) == (0x30, 0x50, 0x60, "ALLOC")


def test_snapshot_blocks_tile_the_heap_up_to_the_break() -> None:
    model = four_small_blocks()
    model.step("os_free", (heap(0x50),))
    model.step("os_realloc", (heap(0x20), "40"))
    blocks = model.snapshot()
    assert blocks[0].offset == 0
    assert all(a.end == b.offset for a, b in zip(blocks, blocks[1:]))
    assert blocks[-1].end == model.heap_break() == 0x20000


def test_decisions_are_records_with_their_rule_and_sentence() -> None:
    model = Model()
    model.step("os_malloc", ("131072",))
    assert model.decisions[0].tagged() == (
        "need ALIGN8(131072) = 131072: mapped (32 + 131072 >= 131072) [rule 5]")
    assert [(d.rule, d.action, d.mapping) for d in model.decisions] == [
        (5, Action.CLASSIFY, None), (4, Action.MMAP, 1)]
    model = four_small_blocks()
    model.step("os_free", (heap(0x20),))
    model.step("os_free", (heap(0x50),))
    model.step("os_malloc", ("64",))
    assert [d.tagged() for d in model.decisions] == [
        "need ALIGN8(64) = 64: heap (32 + 64 < 131072) [rule 5]",
        "coalesce +0x20 (size 16), +0x50 (size 16) into +0x20 (size 64) [rule 8]",
        "best fit for need 64: free blocks after coalescing are +0x20 (size 64), "
        "+0xe0 (size 130848); chose +0x20 [rule 9]",
        "split: remainder 0 < 40, so no split (+0x20 keeps size 64) [rule 10]",
    ]


def test_mapped_realloc_always_moves_and_munmaps_last() -> None:
    model = Model()
    model.step("os_malloc", ("131033",))
    model.step("os_realloc", (mapped(1), "131033"))
    first, last = model.decisions[0], model.decisions[-1]
    assert (first.rule, first.action, first.mapping) == (15, Action.REALLOC_MAPPED, 1)
    assert "always moves" in first.text and "munmap comes last" in first.text
    assert (last.rule, last.action, last.mapping) == (4, Action.MUNMAP, 1)


# ---- invariants over random call sequences -------------------------------------------------

SIZES = (0, 1, 8, 16, 24, 25, 40, 100, 4023, 4056, 4057, 131032, 131033, 200000)


@pytest.mark.parametrize("seed", range(20))
def test_random_sequences_keep_the_heap_list_consistent(seed: int) -> None:
    rng = random.Random(seed)
    model = Model()
    live: list[str] = []
    last_break = 0
    for _ in range(300):
        kind = rng.choice(("os_malloc", "os_calloc", "os_realloc", "os_free"))
        if kind == "os_malloc":
            call = model.step(kind, (str(rng.choice(SIZES)),))
        elif kind == "os_calloc":
            call = model.step(kind, (str(rng.choice((1, 2, 3))), str(rng.choice(SIZES))))
        elif kind == "os_realloc":
            ptr = rng.choice(live + ["0"])
            call = model.step(kind, (ptr, str(rng.choice(SIZES))))
            if ptr in live:  # freed (size 0), kept or moved: the result is re-added below
                live.remove(ptr)
        else:
            ptr = rng.choice(live + ["0"])
            call = model.step(kind, (ptr,))
            if ptr in live:
                live.remove(ptr)
        if call.ret not in (None, "0") and call.ret not in live:
            live.append(call.ret)
        assert all(s.split("(")[0] in ("brk", "mmap", "munmap") for s in call.syscalls)
        blocks = model.snapshot()
        if blocks:
            assert blocks[0].offset == 0
            assert all(a.end == b.offset for a, b in zip(blocks, blocks[1:]))
            assert all(b.size >= 8 and b.size % 8 == 0 for b in blocks)
            assert model.heap_break() == blocks[-1].end >= last_break
            last_break = blocks[-1].end
        # Every pointer the program still holds is an ALLOC block or a live mapping.
        alloc = {heap(b.payload) for b in blocks if b.status == "ALLOC"}
        maps = {mapped(n) for n, _ in model.mappings()}
        assert set(live) <= alloc | maps


def test_mappings_made_counts_every_mmap_even_unmapped_ones() -> None:
    model = Model()
    assert model.mappings_made() == 0
    model.step("os_malloc", ("200000",))
    model.step("os_free", ("<mapped-addr1> + 0x20",))
    model.step("os_malloc", ("100",))
    model.step("os_calloc", ("1", "5000"))
    assert model.mappings_made() == 2
    assert model.mappings() == [(2, 5000)]

"""The compare stage of the pipeline: compare the normalised trace with the expected one.

The verdict points at the first call where the two differ and shows a unified diff starting a
little before it, bounded in length, so a student reads the first mistake, not all its echoes.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import events

CONTEXT_CALLS = 2
MAX_DIFF_LINES = 40


@dataclass(frozen=True)
class Verdict:
    passed: bool
    first_divergence: int | None = None   # index of the first differing call
    summary: str = ""                     # one line, for the score table
    diff: str = ""                        # the bounded unified diff


def first_divergence(expected: list[events.Call], actual: list[events.Call]) -> int | None:
    for index, (want, got) in enumerate(zip(expected, actual)):
        if want != got:
            return index
    if len(expected) != len(actual):
        return min(len(expected), len(actual))
    return None


def _summary(index: int, expected: list[events.Call], actual: list[events.Call]) -> str:
    number = index + 1
    if index >= len(actual):
        return (f"call #{number} {expected[index].head()} is missing "
                f"(the trace has {len(actual)} calls, the ref {len(expected)})")
    if index >= len(expected):
        return f"call #{number} {actual[index].head()} is extra (the ref has {len(expected)} calls)"
    want, got = expected[index], actual[index]
    if want.head() != got.head():
        return f"call #{number}: expected {want.head()}, got {got.head()}"
    return f"call #{number} {want.head()}: {_syscall_difference(want.syscalls, got.syscalls)}"


def first_syscall_difference(want: tuple[str, ...], got: tuple[str, ...]
                             ) -> tuple[int, str | None, str | None]:
    """(position from 1, expected syscall, actual syscall) of the first that differs; a side
    that has no syscall there gives None. Call only when the two differ."""
    for position, (expected_call, actual_call) in enumerate(zip(want, got), 1):
        if expected_call != actual_call:
            return position, expected_call, actual_call
    position = min(len(want), len(got)) + 1
    return (position, want[position - 1] if len(want) >= position else None,
            got[position - 1] if len(got) >= position else None)


def _syscall_difference(want: tuple[str, ...], got: tuple[str, ...]) -> str:
    """The first syscall that differs, what was made first: that is what a student must find."""
    position, expected_call, actual_call = first_syscall_difference(want, got)
    if expected_call is None:
        return f"extra syscall {actual_call}"
    if actual_call is None:
        return f"missing syscall {expected_call}"
    return f"syscall {position} is {actual_call}, expected {expected_call}"


def compare(expected: list[events.Call], actual: list[events.Call],
            max_lines: int = MAX_DIFF_LINES, expected_label: str = "expected (ref)") -> Verdict:
    index = first_divergence(expected, actual)
    if index is None:
        return Verdict(True)
    start = max(0, index - CONTEXT_CALLS)
    line_of = sum(len(call.lines()) for call in expected[:start]) + 1
    want = [line for call in expected[start:] for line in call.lines()]
    got = [line for call in actual[start:] for line in call.lines()]
    diff = list(difflib.unified_diff(want, got, expected_label, "actual", n=3, lineterm=""))
    header = f"first difference at call #{index + 1}; diff from line {line_of} of the expected trace"
    if len(diff) > max_lines:
        diff = diff[:max_lines] + [f"... ({len(diff) - max_lines} more diff lines)"]
    return Verdict(False, index, _summary(index, expected, actual), "\n".join([header, *diff]))

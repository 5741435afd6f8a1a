"""The checker grades the contract, not our code: an implementation written independently from
the contract (checker/selftest/submissions/independent/, handed in as a source directory with a
Makefile) passes every graded program."""

from __future__ import annotations

import pytest

from support import SUBMISSIONS


@pytest.mark.parametrize("tracer", ["strace", "ltrace"])
def test_independent_implementation_scores_100(grade_all, tracer: str) -> None:
    results = grade_all(SUBMISSIONS / "independent", tracer)
    failures = {name: r.reason for name, r in results.items() if not r.passed}
    assert failures == {}
    assert sum(r.points for r in results.values() if r.passed) == sum(
        r.points for r in results.values())

"""The two tracers see the same thing, and neither loses calls."""

from __future__ import annotations

import re

import pytest

import catalogue
import events
from grade import grade
from support import settings_for

GRADED = catalogue.graded_programs()


@pytest.mark.sample(12)
@pytest.mark.parametrize("program", GRADED, ids=[p.name for p in GRADED])
def test_strace_and_ltrace_agree(program: catalogue.Program, reference) -> None:
    by_strace = grade(program, reference, settings_for("strace"), expected=[])
    by_ltrace = grade(program, reference, settings_for("ltrace"), expected=[])
    assert by_strace.outcome == by_ltrace.outcome == ""
    assert events.render(by_ltrace.actual) == events.render(by_strace.actual)


@pytest.mark.parametrize("tracer", ["strace", "ltrace"])
def test_canary_tracer_sees_every_call(tracer: str, reference) -> None:
    """The canary program counts its own os_* calls; the tracer must have seen each one."""
    canary = catalogue.program("canary")
    result = grade(canary, reference, settings_for(tracer), expected=[])
    assert result.outcome == ""
    made = re.search(r"calls: (\d+)", result.stdout)
    assert made, f"the canary did not report its call count: {result.stdout!r}"
    assert len(result.actual) == int(made[1]), (
        f"{tracer} saw {len(result.actual)} os_* calls, the program made {made[1]}")

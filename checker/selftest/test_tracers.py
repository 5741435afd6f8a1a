"""The two tracers see the same thing, and neither loses calls."""

from __future__ import annotations

import re

import pytest

import catalogue
import events
from grade import observe
from support import settings_for

GRADED = catalogue.graded_programs()


@pytest.mark.sample(8)
@pytest.mark.parametrize("program", GRADED, ids=[p.name for p in GRADED])
def test_strace_and_ltrace_agree(program: catalogue.Program, reference) -> None:
    by_strace = observe(program, reference.lib_dir, settings_for("strace"))
    by_ltrace = observe(program, reference.lib_dir, settings_for("ltrace"))
    assert by_strace.outcome.text == by_ltrace.outcome.text == ""
    assert events.render(by_ltrace.actual) == events.render(by_strace.actual)


@pytest.mark.parametrize("tracer", ["strace", "ltrace"])
def test_canary_tracer_sees_every_call(tracer: str, reference) -> None:
    """The canary program counts its own os_* calls; the tracer must have seen each one."""
    canary = catalogue.program("canary")
    seen = observe(canary, reference.lib_dir, settings_for(tracer))
    assert seen.outcome.text == ""
    made = re.search(r"calls: (\d+)", seen.run.stdout)
    assert made, f"the canary did not report its call count: {seen.run.stdout!r}"
    assert len(seen.actual) == int(made[1]), (
        f"{tracer} saw {len(seen.actual)} os_* calls, the program made {made[1]}")

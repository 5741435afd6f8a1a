"""The graded tests: one per program in tests/, worth the points its source states.

`make check` runs this module alone and prints the score table; see plugin.py for options.
"""

from __future__ import annotations

import pytest

import catalogue
from grade import Settings, grade
from submission import Implementation

GRADED = [pytest.param(p, marks=pytest.mark.points(p.points), id=p.name)
          for p in catalogue.graded_programs()]


@pytest.mark.parametrize("program", GRADED)
def test_program(program: catalogue.Program, implementation: Implementation, settings: Settings,
                 record_property) -> None:
    result = grade(program, implementation, settings)
    record_property("reason", result.reason)
    record_property("rule", result.rule)
    if not result.passed:
        pytest.fail(result.details, pytrace=False)

"""The expected traces are the model's: every committed ref is exactly what the model predicts
for its calls, every graded program has one, and the points add up to 100."""

from __future__ import annotations

import pytest

import catalogue
import events
from model import predict
from report import TOTAL_POINTS

GRADED = catalogue.graded_programs()


@pytest.mark.parametrize("program", GRADED, ids=[p.name for p in GRADED])
def test_ref_is_what_the_model_predicts(program: catalogue.Program) -> None:
    assert program.ref.exists(), f"{program.ref} is missing: run `make refs`"
    text = program.ref.read_text()
    calls = events.parse_ref(text)
    assert calls, f"{program.ref} is empty"
    predicted = events.render(predict((c.func, c.args) for c in calls))
    assert predicted == text


def test_points_sum_to_100() -> None:
    assert sum(p.points for p in GRADED) == TOTAL_POINTS


def test_every_ref_belongs_to_a_graded_program() -> None:
    names = {p.name for p in GRADED}
    orphans = sorted(r.stem for r in catalogue.REF_DIR.glob("*.ref") if r.stem not in names)
    assert orphans == []

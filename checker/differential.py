"""One operation script, traced and compared with the model call by call.

The replay program (tests/replay.c) performs the script with the implementation under the
tracer (grade.observe: stages 1-3). The model is then stepped along the calls the program
actually made, with their actual (normalised) arguments, and the first call whose prediction
differs is the divergence; compare.py turns the predictions so far and the actual trace into
the usual verdict and bounded diff. A call the model cannot even take (a pointer that is no
block of the model's heap, produced by the implementation's earlier answers) is a divergence
at that call too. A trace that matches but ends early (the program's own content checks
failed, or it crashed) or a program that exits with an error fails as well.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import events
from catalogue import Program
from compare import compare
from explain import explain
from grade import Observation, Settings, observe, outcome_of
from model import Model, ModelError
from opscript import parse_script

REPLAY = "replay"
EXPECTED_LABEL = "expected (model)"
MESSAGE_LINES = 5


@dataclass(frozen=True)
class Outcome:
    passed: bool
    calls: int = 0                     # calls the program made
    divergence: int | None = None      # index of the first divergent call
    summary: str = ""                  # one line
    details: str = ""                  # the explanation, the diff, the program's stderr


@dataclass(frozen=True)
class Stepped:
    """The model's predictions along the actual calls, up to the first divergence."""

    expected: list[events.Call]
    divergence: int | None
    model_error: str = ""


def step_model(actual: list[events.Call]) -> Stepped:
    model = Model()
    expected: list[events.Call] = []
    for index, call in enumerate(actual):
        try:
            predicted = model.step(call.func, call.args)
        except ModelError as error:
            return Stepped(expected, index, str(error))
        expected.append(predicted)
        if predicted != call:
            return Stepped(expected, index)
    return Stepped(expected, None)


def _op_text(lines: list[tuple[int, str]], index: int) -> str:
    if index >= len(lines):
        return ""
    number, text = lines[index]
    return f" (script line {number}: {text})"


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-MESSAGE_LINES:])


def judge(seen: Observation, lines: list[tuple[int, str]]) -> Outcome:
    """The verdict on one observed run of a script whose operations are ``lines``."""
    if seen.unreadable:
        return Outcome(False, 0, None, f"unreadable trace: {seen.unreadable}")
    actual = seen.actual
    stepped = step_model(actual)
    problem = outcome_of(seen.run, seen.ending).text
    index = stepped.divergence
    details: list[str] = []
    if stepped.model_error:
        call = actual[index]
        summary = (f"call #{index + 1} {call.head()}: the model cannot take it "
                   f"({stepped.model_error})")
        verdict = compare(stepped.expected, actual[:index + 1], expected_label=EXPECTED_LABEL)
        details += [summary + _op_text(lines, index), verdict.diff]
    elif index is not None:
        verdict = compare(stepped.expected, actual[:index + 1], expected_label=EXPECTED_LABEL)
        summary = verdict.summary
        details += [summary + _op_text(lines, index), explain(stepped.expected, actual, index),
                    verdict.diff]
    elif problem or len(actual) != len(lines):
        index = len(actual) if len(actual) < len(lines) else None
        summary = problem or (f"the program made {len(actual)} os_* calls, the script has "
                              f"{len(lines)} operations")
        details.append(summary + (_op_text(lines, index) if index is not None else ""))
    else:
        return Outcome(True, len(actual))
    if seen.run.stderr.strip():
        details.append("program's stderr:\n" + _tail(seen.run.stderr))
    return Outcome(False, len(actual), index, summary, "\n".join(details))


def run_script(script: Path, lib_dir: str, settings: Settings) -> Outcome:
    """Replays ``script`` with the library in ``lib_dir`` under the tracer; the verdict.

    The run sets OSMEM_CHECK=1: the kit's library then checks every heap invariant after each
    call and aborts with the broken one (a divergence like any other); other libraries ignore it.
    """
    lines = [(number, op.line()) for number, op in parse_script(script.read_text())]
    checked = replace(settings, options=replace(settings.options, env=settings.options.env
                                                + (("OSMEM_CHECK", "1"),)))
    seen = observe(Program(REPLAY, 0, (str(script.resolve()),)), lib_dir, checked)
    return judge(seen, lines)

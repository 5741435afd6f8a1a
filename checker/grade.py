"""The pipeline for one program: run -> parse -> normalise -> compare -> explain, and the verdict
in words.

grade() runs the stages in order for a graded program. observe() is run, parse and normalise
alone, with how the run ended (Observation.outcome), for the callers that build or check the
expected trace from the actual one: `make refs`, the random differential tests (they step the
model along the calls the program made, then compare), `make show`, the tracer tests.
memcheck.py traces its deliberate misuses with the run, parse and normalise stages directly:
they are not graded programs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import events
from catalogue import ROOT, Program
from compare import Verdict, compare
from explain import program_rule
from explain import stage as explain_stage
from normalise import normalise
from parse import Trace, TraceError, parse
import rules
from report import printable
from run import FILE_SIZE_LIMIT, Options, Run, run_traced
from submission import Implementation

MESSAGE_LINES = 5
LINE_WIDTH = 200          # characters kept of each line a program printed
STOPPED_ITSELF = "exited with 1"      # how a program ends after one of its own checks failed
# What a grade covers (rules.py): "default" what the trace, the returned addresses and the
# memory show; "layout" also the block_meta header contents (what `size` holds, status values).
# The programs learn the profile from the environment variable PROFILE_ENV.
PROFILES = rules.PROFILES


@dataclass(frozen=True)
class Settings:
    tracer: str
    markers: Path
    timeout: float
    options: Options = Options()      # extra for a run: fault injection, environment, ASLR
    profile: str = "default"          # one of PROFILES


@dataclass(frozen=True)
class Result:
    program: str
    points: int
    passed: bool
    reason: str = ""                  # one line, for the score table
    details: str = ""                 # the diff and the program's own message
    actual: list[events.Call] = field(default_factory=list)
    outcome: str = ""                 # how the run ended when that alone fails ("" for exit 0)
    stdout: str = ""                  # what the program printed
    rule: int | None = None           # the contract rule (rules.py) the failure names


def _tail(text: str, count: int = MESSAGE_LINES) -> str:
    """The last `count` lines a program printed, fit to quote: escapes and other control
    characters shown as such (report.printable), each line cut at LINE_WIDTH characters."""
    lines = printable(text.strip()).splitlines()[-count:]
    return "\n".join(line if len(line) <= LINE_WIDTH else line[:LINE_WIDTH] + " [cut]"
                     for line in lines)


@dataclass(frozen=True)
class Outcome:
    """How the run ended, when that alone fails the test."""

    text: str = ""        # "" when the program exited with 0
    cut_short: bool = False   # stopped from outside (crash, timeout, flood): say that first


def outcome_of(run: Run, ending: str) -> Outcome:
    if run.timed_out:
        return Outcome(f"timed out after {run.timeout:g} s (a hang or an endless loop?)", True)
    if run.output_flooded:
        return Outcome(f"flooded its output: more than {FILE_SIZE_LIMIT >> 20} MiB written",
                       True)
    if ending.startswith("killed by"):
        return Outcome(f"crashed: {ending}", True)
    if ending and ending != "exited with 0":
        message = _tail(run.stderr, 1)
        return Outcome(f"program {ending}" + (f": {message}" if message else ""))
    if not ending and run.returncode != 0:
        return Outcome(f"the tracer failed (exit {run.returncode}): {_tail(run.stderr, 1)}",
                       True)
    return Outcome()


def expected_calls(program: Program) -> list[events.Call]:
    return events.parse_ref(program.ref.read_text())


@dataclass(frozen=True)
class Observation:
    """Stages 1-3 for one run: the run itself, how the trace ended, the normalised calls."""

    run: Run
    ending: str
    actual: list[events.Call]
    unreadable: str = ""              # why the trace could not be parsed ("" when it could)
    trace: Trace | None = None

    @property
    def tampered(self) -> str:
        """What the run shows the library did to the grading itself ("" when nothing)."""
        trace = self.trace
        if trace is None:
            return ""
        if trace.forged:
            more = f" (and {len(trace.forged) - 1} more)" if len(trace.forged) > 1 else ""
            return f"the library wrote a checker marker: {trace.forged[0]}{more}"
        if trace.refused:
            refused = ", ".join(sorted({REFUSED.get(name.split()[-1], name)
                                        for name in trace.refused}))
            return (f"the launcher refused {refused}: the library tried to start a thread "
                    f"the tracer could not see")
        if trace.notes:
            return f"call markers out of order: {trace.notes[0]}"
        return ""

    @property
    def unfinished(self) -> str:
        """Why the program's main() did not finish, by its own report ("" when it did)."""
        trace = self.trace
        if trace is None or trace.finished is None:
            return ("main() did not finish: the program never reported its completion (the "
                    "library exited, from a constructor or from inside a call?)")
        if trace.finished != len(trace.calls):
            return (f"the program reports {trace.finished} os_* calls, the trace shows "
                    f"{len(trace.calls)}")
        return ""


    @property
    def outcome(self) -> Outcome:
        """How the run ended when that alone fails it: what the library did to the grading
        first, then how the program ended, then a main() that did not finish."""
        ended = outcome_of(self.run, self.ending)
        if self.tampered:
            return Outcome("; ".join(p for p in (self.tampered, ended.text) if p), True)
        if not ended.text and self.unfinished:
            return Outcome(self.unfinished, True)
        return ended


REFUSED = {"clone": "clone with CLONE_UNTRACED", "clone3": "clone3 (libc falls back to clone)"}


def observe(program: Program, lib_dir: str, settings: Settings) -> Observation:
    """Runs the program (with its arguments) under the tracer, parses and normalises the trace."""
    options = replace(settings.options,
                      env=settings.options.env + ((rules.PROFILE_ENV, settings.profile),))
    run = run_traced(program.binary, Path(lib_dir), settings.tracer, settings.markers,
                     settings.timeout, list(program.args), options)
    try:
        trace = parse(settings.tracer, run.trace)
    except TraceError as error:
        return Observation(run, "", [], str(error))
    return Observation(run, trace.ending, normalise(trace), trace=trace)


def grade(program: Program, implementation: Implementation, settings: Settings,
          expected: list[events.Call] | None = None) -> Result:
    if implementation.problem or implementation.lib_dir is None:
        details = "\n".join(part for part in (implementation.problem, implementation.details)
                            if part)
        return Result(program.name, program.points, False, implementation.problem, details)
    if expected is None and not program.ref.exists():
        return Result(program.name, program.points, False,
                      f"the kit has no {program.ref.relative_to(ROOT)}: run `make refs`")
    seen = observe(program, implementation.lib_dir, settings)
    run, actual = seen.run, seen.actual
    if seen.unreadable:
        return Result(program.name, program.points, False,
                      f"unreadable trace: {seen.unreadable}", outcome="unreadable trace",
                      stdout=run.stdout)
    wanted = expected_calls(program) if expected is None else expected
    verdict: Verdict = compare(wanted, actual)
    outcome = seen.outcome
    stopped = _tail(run.stderr, 1) if seen.ending == STOPPED_ITSELF else ""
    explained = explain_stage(wanted, actual, verdict.first_divergence, stopped)
    problem = outcome.text
    if verdict.passed and not problem:
        return Result(program.name, program.points, True, actual=actual, stdout=run.stdout)
    named = explained.reason if explained is not None else ""    # names the rule broken
    first, then = (problem, named) if outcome.cut_short else (named, problem)
    reason = "; ".join(part for part in (first, then) if part) or verdict.summary
    if implementation.missing:
        reason = f"library lacks {', '.join(implementation.missing)}; {reason}"
    details = [explained.text] if explained is not None else []
    if problem or explained is None:
        details.append(reason)
    if explained is not None:
        details.append(verdict.diff)
    if run.stderr.strip():
        details.append("program's stderr:\n" + _tail(run.stderr))
    if run.trace_truncated:
        details.append("(the trace was cut: the program made too many calls)")
    rule = explained.rule if explained is not None and explained.rule is not None \
        else program_rule(stopped)
    return Result(program.name, program.points, False, reason, "\n".join(details), rule=rule,
                  outcome=problem, actual=actual, stdout=run.stdout)

"""`make asan` and `make fuzz-lib`: sanitizers and coverage-guided fuzzing of the library.

Every graded program exits 0 with the library and itself built with
-fsanitize=address,undefined (without --full, the misuses and an even sample of the graded
programs are built and run); the library's poisoning of headers and FREE payloads makes ASan
stop the programs that write into a freed block or into a neighbour's header; a short
libFuzzer run from the seed corpus finds no crash.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

import asan
import catalogue
import fuzz_lib
from cached import once_per_run
from selftest_plugin import sampled
from support import ROOT

FUZZ_SECONDS = 10
SAMPLE = 12      # graded programs under ASan without --full (each is built with it: seconds)


def _outcomes(full: bool) -> dict[str, asan.Outcome]:
    subjects = asan.subjects()
    if not full:
        subjects = sampled(subjects, SAMPLE, lambda s: s.deliberate)
    targets = ["asan-build"] if full else [str(s.binary.relative_to(ROOT)) for s in subjects]
    subprocess.run(["make", "-s", "-j2", *targets], cwd=ROOT, check=True, capture_output=True)
    with ThreadPoolExecutor(max_workers=2) as pool:
        return {o.subject.name: o for o in pool.map(asan.run, subjects)}


@pytest.fixture(scope="module")
def outcomes(full: bool) -> dict[str, asan.Outcome]:
    return once_per_run("asan", lambda: _outcomes(full))


# The tests that read the outcomes run on one pytest-xdist worker (the other one would wait for
# it), first since the build takes long.
@pytest.mark.heavy
@pytest.mark.xdist_group("asan")
def test_graded_programs_pass_under_asan(outcomes, full, record_property):
    graded = [o for o in outcomes.values() if not o.subject.expected]
    assert len(catalogue.graded_programs()) >= 40
    assert len(graded) == (len(catalogue.graded_programs()) if full else SAMPLE)
    failed = [asan.render(o) for o in graded if not o.ok]
    record_property("reliability", ("ASan+UBSan runs (graded programs, exit 0)",
                                    len(graded) - len(failed)))
    assert not failed, "\n".join(failed)


@pytest.mark.heavy
@pytest.mark.xdist_group("asan")
@pytest.mark.parametrize("program, line", [("use-after-free", "use-after-free.c"),
                                           ("overflow", "overflow.c")])
def test_poisoning_catches_the_write(outcomes, program, line):
    outcome = outcomes[program]
    assert outcome.ok, asan.render(outcome)
    assert outcome.kind == ("use-after-poison", "WRITE") and line in outcome.report


def test_fuzz_lib_short_run_has_no_crash(tmp_path, record_property):
    subprocess.run(["make", "-s", "fuzz-lib-build"], cwd=ROOT, check=True, capture_output=True)
    result = fuzz_lib.fuzz(FUZZ_SECONDS, tmp_path)
    record_property("reliability", ("libFuzzer executions (make fuzz-lib, 10 s)",
                                    result["executions"]))
    assert result["executions"] > 100, result["stderr"][-2000:]
    assert not result["crashes"] and result["exit"] == 0, result["stderr"][-2000:]

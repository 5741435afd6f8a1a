"""`make refs`: regenerate tests/ref/<program>.ref by tracing the reference library.

A ref is written only when the model (checker/model.py, derived from the contract) predicts
every line the reference library produced, so a ref is never just "what the C code did".
Programs whose trace and prediction disagree are listed with the diff, and the command fails.
"""

from __future__ import annotations

import argparse
import sys

import catalogue
import events
from compare import compare
from grade import Settings, observe
from model import predict
from run import MARKERS_LIB, TRACERS

ROOT = catalogue.ROOT


def model_prediction(calls: list[events.Call]) -> list[events.Call]:
    return predict((call.func, call.args) for call in calls)


def regenerate(program: catalogue.Program, settings: Settings) -> str:
    """Writes the program's ref; returns "" or the reason it was not written."""
    seen = observe(program, str(ROOT / "src"), settings)
    problem = seen.unreadable or seen.outcome.text
    if problem:
        return "\n".join(part for part in (problem, seen.run.stderr.strip()) if part)
    verdict = compare(model_prediction(seen.actual), seen.actual)
    if not verdict.passed:
        return f"the model disagrees with the reference library:\n{verdict.diff}"
    program.ref.write_text(events.render(seen.actual))
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracer", choices=TRACERS, default="strace")
    parser.add_argument("programs", nargs="*", help="only these programs (default: all graded)")
    options = parser.parse_args()
    settings = Settings(options.tracer, MARKERS_LIB, 60.0)
    programs = ([catalogue.program(name) for name in options.programs]
                or catalogue.graded_programs())
    catalogue.REF_DIR.mkdir(parents=True, exist_ok=True)
    failed = 0
    for program in programs:
        problem = regenerate(program, settings)
        print(f"{program.name}: {'written' if not problem else 'NOT written'}")
        if problem:
            failed += 1
            print("    " + problem.replace("\n", "\n    "))
    print(f"{len(programs) - failed} refs written, {failed} not")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

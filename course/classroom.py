"""GitHub Classroom: the score table as the `result` blob Classroom's reporter reads.

    python3 course/classroom.py build/results.json >> "$GITHUB_OUTPUT"

prints `result=<base64 of JSON>`, the output of one autograding step as the
classroom-resources actions write it: {"version": 1, "status": "pass"|"fail"|"error",
"max_score": N, "tests": [{"name", "status", "score", "message", "test_code", "filename",
"line_no", "duration"}]}. Each program is one test worth its own points (Classroom's reporter
sums `tests[].score` and `max_score`: "Points X/Y"), which its command and python graders
cannot express. Without the checker's JSON (it crashed before writing it) the blob says
"error" with every program at 0, so the run still reports.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _programs_without_results() -> list[dict]:
    sys.path.insert(0, str(ROOT / "checker"))
    import catalogue
    return [{"program": p.name, "points": p.points, "earned": 0, "passed": False,
             "reason": "not graded: the checker wrote no results"}
            for p in catalogue.graded_programs()]


def result(results: dict | None) -> dict:
    """The step's result for the checker's --results-json output (None: there was none)."""
    rows = results["programs"] if results else _programs_without_results()
    tests = [{"name": row["program"], "status": "pass" if row["passed"] else "fail",
              "score": row["earned"], "message": row["reason"] or "passed",
              "test_code": f"make check TEST={row['program']}",
              "filename": f"tests/{row['program']}.c", "line_no": 0, "duration": 0}
             for row in rows]
    max_score = sum(row["points"] for row in rows)
    if results is None:
        status = "error"
    else:
        status = "pass" if all(row["passed"] for row in rows) else "fail"
    return {"version": 1, "status": status, "max_score": max_score, "tests": tests}


def blob(results: dict | None) -> str:
    return base64.b64encode(json.dumps(result(results)).encode()).decode()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: classroom.py RESULTS.json  (prints result=<base64> for $GITHUB_OUTPUT)",
              file=sys.stderr)
        return 2
    try:
        results = json.loads(Path(argv[0]).read_text())
    except (OSError, ValueError):
        results = None
    print(f"result={blob(results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Gradescope: the autograder bundle (`make gradescope`), and the grading it runs.

    gradescope.py bundle [--out DIR]        DIR/autograder.zip (default build/gradescope)
    gradescope.py run [--root DIR]          grade ROOT/submission into ROOT/results/results.json

Gradescope unpacks autograder.zip into /autograder/source, runs setup.sh once while building
the image (Debian packages through checker/deps.sh, then `make all`: the programs, linked
against the skeleton), and for each submission runs run_autograder, which calls `run` here.
The root (/autograder) is overridable (AUTOGRADER_ROOT) so a test can run the whole bundle in
a temporary directory.

results.json follows Gradescope's specification (autograder_samples docs/specs.md): the total
`score`, `execution_time`, `output` (the total and the build status), and one test per program
with `name`, `number`, `score`, `max_score`, `status`, `output` (the checker's whole
explanation) and `visibility` (`after_published` for hidden programs, else `visible`). A
provisional results.json (score 0, "grading did not finish") is written before grading starts,
so Gradescope always finds one, whatever happens next; run_autograder checks it once more.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

from kit import COURSE_DIR, ROOT, SKELETON, GradeOptions, Graded, grade_sources, ungraded, write_tree
from intake import Entry, IntakeError, materialise, stage

BUNDLE_MODULES = ("kit.py", "intake.py", "gradescope.py")
VISIBILITY = {True: "after_published", False: "visible"}


def results_json(graded: Graded) -> dict:
    """Gradescope's results.json for one graded submission."""
    results = graded.results
    tests = []
    for number, row in enumerate(results["programs"], start=1):
        text = row["details"] or row["reason"] or "passed"
        tests.append({"name": row["program"], "number": str(number),
                      "score": row["earned"], "max_score": row["points"],
                      "status": "passed" if row["passed"] else "failed",
                      "output": text, "visibility": VISIBILITY[bool(row["hidden"])]})
    output = f"osmem: {results['earned']}/{results['possible']} points. Build: {graded.build}."
    return {"score": results["earned"], "execution_time": round(graded.seconds, 1),
            "output": output, "stdout_visibility": "hidden", "tests": tests}


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(data, indent=2) + "\n")
    partial.replace(path)


def run(root: Path, options: GradeOptions) -> int:
    """Grades root/submission; always leaves root/results/results.json behind."""
    results_path = root / "results" / "results.json"
    start = time.monotonic()
    provisional = Graded(ungraded(options, "not graded: grading did not finish"), "unknown")
    _write_json(results_path, results_json(provisional))
    try:
        with tempfile.TemporaryDirectory(prefix="osmem-gradescope-") as tmp:
            work = Path(tmp)
            entry = Entry("submission", root / "submission", "dir")
            try:
                materialise(entry, work / "tree")
                sources, _ = stage(work / "tree", work / "build")
                graded = grade_sources(sources, work / "grade", options)
            except IntakeError as error:
                why = f"not graded: {error}"
                graded = Graded(ungraded(options, why), why)
            print(graded.log)
    except Exception:                       # the grader's own failure: say so, score 0
        failure = traceback.format_exc()
        print(failure, file=sys.stderr)
        why = f"not graded: the grader failed ({failure.strip().splitlines()[-1]})"
        graded = Graded(ungraded(options, why), why)
    graded.seconds = time.monotonic() - start
    _write_json(results_path, results_json(graded))
    return 0


# ---- the bundle ------------------------------------------------------------------------------

SETUP = """#!/usr/bin/env bash
# Gradescope's image setup: Debian packages only (checker/deps.sh, as root), then the kit's
# programs, linked against the skeleton in src/ (each submission's library replaces it).
set -euo pipefail
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$SOURCE"
sh checker/deps.sh
make -j"$(nproc)" all
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for each submission: grade $ROOT/submission, always leave
# $ROOT/results/results.json (if the grader dies, a results.json that says so, score 0).
#   AUTOGRADER_ROOT    the root (default /autograder; a test runs the bundle elsewhere)
#   OSMEM_RUN_TIMEOUT  seconds per program (default 10)
#   OSMEM_PROGRAMS     grade only these programs (space-separated; default all)
#   OSMEM_GRADER_TIMEOUT  seconds for the whole grading (default 1800)
ROOT="${AUTOGRADER_ROOT:-/autograder}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"
programs=()
for program in ${OSMEM_PROGRAMS:-}; do programs+=(--program "$program"); done
timeout -k 10 "${OSMEM_GRADER_TIMEOUT:-1800}" /usr/bin/python3 "$ROOT/source/course/gradescope.py" \\
    run --root "$ROOT" --run-timeout "${OSMEM_RUN_TIMEOUT:-10}" "${programs[@]}"
status=$?
if ! /usr/bin/python3 -c 'import json, sys; json.load(open(sys.argv[1]))["tests"]' "$RESULTS" \\
        2>/dev/null; then
    printf '{"score": 0, "output": "not graded: the grader failed (exit %s); tell your instructor.", "tests": []}\\n' \\
        "$status" > "$RESULTS"
fi
exit 0
"""


def bundle(out: Path) -> Path:
    """out/autograder.zip: the kit with hidden programs, skeleton src/, setup.sh, run_autograder."""
    tree = out / "source"
    extra: dict[str, str | Path] = {f"course/{name}": COURSE_DIR / name for name in BUNDLE_MODULES}
    extra.update({f"course/skeleton/{p.name}": p for p in SKELETON.iterdir()})
    extra.update({"setup.sh": SETUP, "run_autograder": RUN_AUTOGRADER})
    write_tree(tree, include_hidden=True, extra=extra)
    for script in ("setup.sh", "run_autograder"):
        (tree / script).chmod(0o755)
    archive = out / "autograder.zip"
    archive.unlink(missing_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(p for p in tree.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(str(path.relative_to(tree)), date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | (path.stat().st_mode & 0o777)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zipped.writestr(info, path.read_bytes())
    shutil.rmtree(tree)
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("bundle", help="write autograder.zip")
    make.add_argument("--out", default=str(ROOT / "build" / "gradescope"))
    grade = commands.add_parser("run", help="grade ROOT/submission")
    grade.add_argument("--root", default="/autograder")
    grade.add_argument("--program", action="append", default=[])
    grade.add_argument("--run-timeout", type=float, default=10.0)
    options = parser.parse_args(argv)
    if options.command == "bundle":
        archive = bundle(Path(options.out))
        print(f"gradescope: {archive} ({archive.stat().st_size // 1024} KiB): upload it as the "
              "autograder (Ubuntu or Debian base image)")
        return 0
    return run(Path(options.root), GradeOptions(tuple(options.program),
                                                run_timeout=options.run_timeout))


if __name__ == "__main__":
    sys.exit(main())

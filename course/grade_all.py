"""`make grade-all SUBMISSIONS=<dir>`: grade a whole class, one entry of <dir> per student.

    grade_all.py --submissions DIR [--jobs N|auto] [--out DIR] [--program NAME ...]
                 [--run-timeout S] [--tracer strace|ltrace] [--profile default|layout]

Each entry (a directory, a .tar.gz, a .zip or a git repository: intake.py) is unpacked, staged
and graded like `make check` with the public and hidden programs (kit.grade_sources: the
pipeline's prepare() builds it, the checker grades it in a subprocess with a wall-clock bound),
several at once (--jobs). One line per finished student: done/total, the student's total and
an ETA. Nothing one submission does stops the batch: a failure of any kind is that student's
row, with the reason in the build column.

Output (--out, default build/grades/):
  gradebook.csv                 student, build, total, possible, points per program
  index.html, histogram.svg     the class: score histogram, where the class struggles, students
  <student>/feedback.html       the table, the first failure explained, a link to its picture
  <student>/<program>.html      that picture (checker/show.py), for the first failure
  <student>/results.json        Gradescope's results.json for the student
  <student>/grade.json          the checker's JSON, the build status, and the key below
  <student>/check.log           what the checker printed

A re-run regrades only what changed: a student whose key (a hash of the unpacked submission,
the kit and the grading options) matches the one in grade.json keeps the recorded grade.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from kit import PYTHON, ROOT, GradeOptions, Graded, grade_sources, kit_hash, ungraded  # first:
import catalogue                                        # it puts checker/ on the module path
from gradescope import results_json
from intake import Entry, IntakeError, entries, materialise, stage, tree_hash
from pages import Student, feedback_page, first_failure, histogram_svg, summary_page

SHOW_TIMEOUT = 120.0


def _picture(graded: Graded, options: GradeOptions, dest: Path) -> str:
    """The heap picture of the first failure (make show), as a file name in `dest`, or ""."""
    row = first_failure(graded.results)
    if row is None or graded.library is None:
        return ""
    command = [PYTHON, str(ROOT / "checker" / "show.py"), f"--program={row['program']}",
               f"--osmem={graded.library}", f"--tracer={options.tracer}",
               f"--run-timeout={options.run_timeout:g}", f"--out={dest}"]
    try:
        subprocess.run(command, cwd=ROOT, capture_output=True, timeout=SHOW_TIMEOUT,
                       stdin=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
    except subprocess.TimeoutExpired:
        return ""
    page = dest / f"{row['program']}.html"
    return page.name if page.exists() else ""


def _grade_one(entry: Entry, out: Path, options: GradeOptions, kit_key: str) -> tuple[Student, bool]:
    """Grades one student into out/<student>/; returns the student and whether it was regraded."""
    dest = out / entry.student
    work = out / ".work" / entry.student
    record = dest / "grade.json"
    try:
        materialise(entry, work / "tree")
        key = hashlib.sha256(f"{tree_hash(work / 'tree')} {kit_key} {options.fingerprint()}"
                             .encode()).hexdigest()
        if record.exists():
            old = json.loads(record.read_text())
            if old.get("key") == key:
                return Student(entry.student, old["results"], old["build"], old["picture"]), False
        sources, _ = stage(work / "tree", work / "build")
        graded = grade_sources(sources, work / "grade", options)
    except IntakeError as error:
        key, why = "", f"not graded: {error}"
        graded = Graded(ungraded(options, why), why)
    except Exception:                                   # noqa: BLE001  the batch goes on
        key, why = "", f"not graded: grader error: {traceback.format_exc().strip().splitlines()[-1]}"
        graded = Graded(ungraded(options, why), why)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    picture = _picture(graded, options, dest)
    student = Student(entry.student, graded.results, graded.build, picture)
    (dest / "feedback.html").write_text(feedback_page(student))
    (dest / "results.json").write_text(json.dumps(results_json(graded), indent=2) + "\n")
    (dest / "check.log").write_text(graded.log)
    record.write_text(json.dumps({"student": entry.student, "entry": entry.path.name,
                                  "key": key, "build": graded.build, "picture": picture,
                                  "seconds": round(graded.seconds, 1),
                                  "results": graded.results}, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return student, True


def write_gradebook(path: Path, students: list[Student]) -> None:
    order = [p.name for p in catalogue.graded_programs()]
    seen = {row["program"] for s in students for row in s.results["programs"]}
    programs = [name for name in order if name in seen]
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["student", "build", "total", "possible", *programs])
        for student in sorted(students, key=lambda s: s.name):
            earned = {row["program"]: row["earned"] for row in student.results["programs"]}
            writer.writerow([student.name, student.build, student.earned, student.possible,
                             *(earned.get(name, "") for name in programs)])


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def grade_class(folder: Path, out: Path, options: GradeOptions, jobs: int) -> list[Student]:
    found = entries(folder)
    if not found:
        raise SystemExit(f"grade-all: {folder} has no submissions")
    out.mkdir(parents=True, exist_ok=True)
    kit_key = kit_hash()
    students: list[Student] = []
    lock = threading.Lock()
    start = time.monotonic()
    print(f"grade-all: {len(found)} submissions in {folder}, {jobs} at once, "
          f"{len(options.chosen())} programs each -> {out}", flush=True)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(_grade_one, entry, out, options, kit_key): entry for entry in found}
        for future in as_completed(futures):
            student, regraded = future.result()
            with lock:
                students.append(student)
                done = len(students)
                elapsed = time.monotonic() - start
                left = len(found) - done
                eta = elapsed / done * left if done else 0.0
                unchanged = "" if regraded else " (unchanged)"
                print(f"[{done}/{len(found)}] {student.name}: {student.earned}/{student.possible}"
                      f", {student.build}{unchanged}  elapsed {_duration(elapsed)}, "
                      f"ETA {_duration(eta)}", flush=True)
    shutil.rmtree(out / ".work", ignore_errors=True)
    write_gradebook(out / "gradebook.csv", students)
    (out / "histogram.svg").write_text(histogram_svg(students))
    (out / "index.html").write_text(summary_page(students, "histogram.svg"))
    print(f"grade-all: done in {_duration(time.monotonic() - start)}: {out / 'gradebook.csv'}, "
          f"class page {out / 'index.html'}", flush=True)
    return students


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", required=True)
    parser.add_argument("--out", default=str(ROOT / "build" / "grades"))
    parser.add_argument("--jobs", default="auto")
    parser.add_argument("--program", action="append", default=[])
    parser.add_argument("--run-timeout", type=float, default=10.0)
    parser.add_argument("--tracer", default="strace")
    parser.add_argument("--profile", default="default")
    args = parser.parse_args(argv)
    folder = Path(args.submissions)
    if not folder.is_dir():
        print(f"grade-all: {folder} is not a directory of submissions", file=sys.stderr)
        return 2
    jobs = (os.cpu_count() or 1) if args.jobs == "auto" else int(args.jobs)
    options = GradeOptions(tuple(args.program), args.tracer, args.profile, args.run_timeout)
    try:
        options.chosen()
    except ValueError as error:
        print(f"grade-all: {error}", file=sys.stderr)
        return 2
    grade_class(folder, Path(args.out), options, max(1, jobs))
    return 0


if __name__ == "__main__":
    sys.exit(main())

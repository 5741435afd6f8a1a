"""Running a course: the handout as a student gets it, a class graded by make grade-all, the
Gradescope bundle run end to end in a temporary root, Classroom's result blob, JUnit XML.

The class is the kit's own library, the independent implementation, broken allocators and
hostile submissions, packed as directories, tarballs, zips and git repositories. Where the
point is the machinery, a few programs are graded (--program); the totals are checked against
`make check` on two whole submissions.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ElementTree
import zipfile
from pathlib import Path

import pytest

import catalogue
from support import BROKEN, ROOT, SUBMISSIONS

COURSE = ROOT / "course"
sys.path.insert(0, str(COURSE))
from intake import stage  # noqa: E402  (course/ is not on the checker's module path)
from pages import Student, histogram_counts, struggles  # noqa: E402
HOSTILE = ROOT / "checker" / "selftest" / "hostile"
PYTHON = "/usr/bin/python3"
TOTAL = re.compile(r"^Total: (\d+)/(\d+)", re.MULTILINE)
# Programs graded where the point is the machinery: one the first-fit allocator fails (rule 9),
# one per function family, and a hidden one.
SAMPLE = ("calloc-arrays", "malloc-split-middle", "realloc-absorb", "malloc-split-one-block")
HIDDEN = [p for p in catalogue.graded_programs() if p.hidden]
PUBLIC = [p for p in catalogue.graded_programs() if not p.hidden]
# The tests that share a costly module fixture (a build of the handout, a graded class, an
# autograder root) carry one xdist_group: one pytest-xdist worker runs them in order and builds
# the fixture once (`make test` runs --dist loadgroup). They are heavy, so they start first.


def run(command: list[str], cwd: Path = ROOT, timeout: float = 600, **kwargs) \
        -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, errors="replace", **kwargs)


# ---- submissions, packed the ways students hand them in --------------------------------------

def src_tree(dest: Path, sources: list[Path]) -> Path:
    """A student repository in the handout's layout: src/ with these files, and a README."""
    (dest / "src").mkdir(parents=True)
    for source in sources:
        shutil.copyfile(source, dest / "src" / source.name)
    (dest / "README.md").write_text("my allocator\n")
    return dest


def solution_sources() -> list[Path]:
    return sorted([*(ROOT / "src").glob("*.c"), *(ROOT / "src").glob("*.h")])


def patched_sources(patch: Path, work: Path) -> list[Path]:
    """The library's sources with a broken allocator's patch applied (grading builds them)."""
    tree = work / "tree"
    for part in ("src", "utils"):
        shutil.copytree(ROOT / part, tree / part, ignore=shutil.ignore_patterns("*.so", "*.o"))
    subprocess.run(["patch", "-s", "-p1", "-d", str(tree), "-i", str(patch)], check=True,
                   capture_output=True)
    return sorted([*(tree / "src").glob("*.c"), *(tree / "src").glob("*.h")])


def hostile_tree(case: str, dest: Path) -> Path:
    """A submission with its own Makefile that builds one hostile case (no src/ at the top)."""
    shutil.copytree(HOSTILE, dest / "hostile", ignore=shutil.ignore_patterns("does-not-build"))
    for part in ("src", "utils"):
        shutil.copytree(ROOT / part, dest / "kit" / part,
                        ignore=shutil.ignore_patterns("*.so", "*.o"))
    (dest / "Makefile").write_text(
        f"all:\n\t$(MAKE) -s -C hostile CASE={case} ROOT=../kit OUT=$(CURDIR)/out\n")
    return dest


def as_tarball(tree: Path, archive: Path, top: str) -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree, arcname=top)
    return archive


def as_zip(tree: Path, archive: Path, top: str) -> Path:
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(tree.rglob("*")):
            zipped.write(path, f"{top}/{path.relative_to(tree)}")
    return archive


def as_git_repo(tree: Path) -> Path:
    env = {**os.environ, "GIT_AUTHOR_NAME": "s", "GIT_AUTHOR_EMAIL": "s@x",
           "GIT_COMMITTER_NAME": "s", "GIT_COMMITTER_EMAIL": "s@x"}
    for command in (["git", "init", "-q"], ["git", "add", "-A"],
                    ["git", "commit", "-q", "-m", "submission"]):
        subprocess.run(command, cwd=tree, check=True, capture_output=True, env=env)
    (tree / "src" / "uncommitted.c").write_text("this is not C and is not committed\n")
    return tree


def traversal_tarball(archive: Path) -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        data = b"int x;\n"
        info = tarfile.TarInfo("../escaped.c")
        info.size = len(data)
        import io
        tar.addfile(info, io.BytesIO(data))
    return archive


@pytest.fixture(scope="module")
def first_fit_sources(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return patched_sources(BROKEN / "first-fit.patch", tmp_path_factory.mktemp("first-fit"))


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory: pytest.TempPathFactory,
                 first_fit_sources: list[Path]) -> Path:
    """The class: every kind of entry, good, broken and hostile ones."""
    folder = tmp_path_factory.mktemp("class")
    work = tmp_path_factory.mktemp("class-work")
    src_tree(folder / "reference", solution_sources())
    as_zip(src_tree(work / "independent", [SUBMISSIONS / "independent" / "osmem.c"]),
           folder / "independent.zip", "independent")
    as_tarball(src_tree(work / "first-fit", first_fit_sources), folder / "first-fit.tar.gz",
               "first-fit")
    no_coalesce = patched_sources(BROKEN / "no-coalesce.patch", work / "no-coalesce-build")
    as_git_repo(src_tree(folder / "no-coalesce", no_coalesce))
    shutil.copytree(HOSTILE / "does-not-build", folder / "does-not-build")
    hostile_tree("segfault", folder / "segfault")
    as_zip(hostile_tree("hang", work / "hang"), folder / "hang.zip", "hang")
    traversal_tarball(folder / "escape.tar.gz")
    (folder / "notes.txt").write_text("not a submission\n")
    return folder


def grade_all(folder: Path, out: Path, programs: tuple[str, ...] = SAMPLE,
              run_timeout: float = 4) -> subprocess.CompletedProcess[str]:
    command = [PYTHON, str(COURSE / "grade_all.py"), f"--submissions={folder}", f"--out={out}",
               "--jobs=2", f"--run-timeout={run_timeout:g}",
               *(f"--program={p}" for p in programs)]
    done = run(command)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def gradebook(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "gradebook.csv", newline="") as stream:
        return {row["student"]: row for row in csv.DictReader(stream)}


@pytest.fixture(scope="module")
def graded_class(class_folder: Path, tmp_path_factory: pytest.TempPathFactory) \
        -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("grades")
    return out, grade_all(class_folder, out)


def assert_gradescope_results(data: dict, programs: list[str]) -> None:
    """The fields of Gradescope's results.json specification, and their consistency."""
    assert set(data) >= {"score", "execution_time", "output", "tests"}
    assert [t["name"] for t in data["tests"]] == sorted(programs)
    assert data["score"] == sum(t["score"] for t in data["tests"])
    hidden = {p.name for p in HIDDEN}
    for number, test in enumerate(data["tests"], start=1):
        assert set(test) == {"name", "number", "score", "max_score", "status", "output",
                             "visibility"}
        assert test["number"] == str(number)
        assert test["max_score"] == catalogue.program(test["name"]).points
        assert test["status"] == ("passed" if test["score"] == test["max_score"] else "failed")
        assert test["score"] in (0, test["max_score"])
        assert test["output"].strip()
        assert test["visibility"] == ("after_published" if test["name"] in hidden
                                      else "visible")


# ---- the handout -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def handout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("handout")
    done = run([PYTHON, str(COURSE / "handout.py"), f"--out={out}"])
    assert done.returncode == 0, done.stderr
    archive = out / "osmem-handout.tar.gz"
    unpacked = tmp_path_factory.mktemp("student")
    with tarfile.open(archive) as tar:
        assert all(m.name == "osmem" or m.name.startswith("osmem/") for m in tar)
        tar.extractall(unpacked)
    return unpacked / "osmem"


def test_course_marks_some_programs_hidden() -> None:
    assert 2 <= len(HIDDEN) <= 3
    assert all(p.ref.exists() for p in HIDDEN)


@pytest.mark.heavy
@pytest.mark.xdist_group("course-handout")
def test_handout_has_public_programs_and_no_solution(handout: Path) -> None:
    files = {str(p.relative_to(handout)) for p in handout.rglob("*") if p.is_file()}
    for program in PUBLIC:
        assert f"tests/{program.name}.c" in files and f"tests/ref/{program.name}.ref" in files
    for name in ("Makefile", "README.md", "src/osmem.c", "src/libosmem.map",
                 "checker/test_grade.py", "checker/show.py", "checker/fuzz.py",
                 ".github/workflows/classroom.yml", "course/classroom.py"):
        assert name in files
    assert sorted(f for f in files if f.startswith("src/")) == ["src/libosmem.map", "src/osmem.c"]
    assert not [f for f in files if f.startswith(("checker/selftest/", "tests/badinput/"))]
    text = {f: (handout / f).read_text(errors="replace") for f in files}
    for program in HIDDEN:
        assert not [f for f in files if program.name in f]
        assert not [f for f, body in text.items() if program.name in body], program.name
    # No line of the solution that the handout has no other reason to carry.
    shipped = set()
    for source in [*(ROOT / "utils").iterdir(), *(COURSE / "skeleton").iterdir()]:
        shipped.update(line.strip() for line in source.read_text().splitlines())
    solution = {line.strip() for source in solution_sources()
                for line in source.read_text().splitlines()}
    telling = {line for line in solution - shipped if len(line) >= 30}
    assert len(telling) > 100
    leaked = [(f, line) for f, body in text.items() for line in body.splitlines()
              if line.strip() in telling]
    assert not leaked, leaked[:5]


@pytest.mark.heavy
@pytest.mark.xdist_group("course-handout")
def test_handout_readme_is_for_students(handout: Path) -> None:
    readme = (handout / "README.md").read_text()
    for part in ("## Start here", "## Reading a failure", "## Pictures of the heap",
                 "## The contract", "| 9 | best fit | The FREE block with the smallest size",
                 "make show"):
        assert part in readme
    assert "{{" not in readme
    skeleton = (handout / "src" / "osmem.c").read_text()
    assert len(re.findall(r"\brules? \d+", skeleton)) >= 8


@pytest.mark.heavy
@pytest.mark.xdist_group("course-handout")
def test_handout_make_check_fails_every_program_and_prints_the_table(handout: Path) -> None:
    done = run(["make", "-j2", "check", "JOBS=2", "RESULTS=build/results.json"], cwd=handout)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "INTERNALERROR" not in output and "Traceback" not in output
    total = TOTAL.search(output)
    possible = sum(p.points for p in PUBLIC)
    assert total and int(total[2]) == possible, output[-2000:]
    assert int(total[1]) <= possible // 10
    results = json.loads((handout / "build" / "results.json").read_text())
    assert [r["program"] for r in results["programs"]] == sorted(p.name for p in PUBLIC)
    assert results["earned"] == int(total[1])
    returned_null = [r for r in results["programs"] if "returned NULL" in r["details"]]
    assert len(returned_null) >= len(PUBLIC) // 2
    # The student's other tools, on the programs that run built.
    show = run(["make", "show", "TEST=malloc-arrays"], cwd=handout)
    assert show.returncode == 0, show.stderr
    assert (handout / "build" / "show" / "malloc-arrays.html").read_text().startswith("<!DOCTYPE")
    (handout / "one.ops").write_text("malloc 0 1\nfree 0\n")
    replay = run(["make", "replay", "OPS=one.ops"], cwd=handout)
    assert replay.returncode != 0 and "+os_malloc(1) = 0" in replay.stdout
    assert "Traceback" not in show.stdout + show.stderr + replay.stdout + replay.stderr
    # The Classroom step of the handout's workflow, on that run.
    blob = run([PYTHON, "course/classroom.py", "build/results.json"], cwd=handout).stdout
    decoded = json.loads(base64.b64decode(blob.removeprefix("result=").strip()))
    assert decoded["max_score"] == possible and decoded["status"] == "fail"
    assert sum(t["score"] for t in decoded["tests"]) == results["earned"]


@pytest.mark.heavy
@pytest.mark.xdist_group("course-handout")
def test_handout_workflow_reports_the_step_classroom_reads(handout: Path) -> None:
    workflow = (handout / ".github" / "workflows" / "classroom.yml").read_text()
    assert "id: osmem" in workflow and "runners: osmem" in workflow
    assert "OSMEM_RESULTS: \"${{ steps.osmem.outputs.result }}\"" in workflow
    assert "python3 course/classroom.py build/results.json >> \"$GITHUB_OUTPUT\"" in workflow
    assert "classroom-resources/autograding-grading-reporter@v1" in workflow


# ---- Classroom's blob and JUnit ------------------------------------------------------------

def test_classroom_blob_has_weighted_scores(tmp_path: Path) -> None:
    rows = [{"program": "malloc-coalesce", "points": 3, "earned": 3, "passed": True,
             "reason": "", "details": "", "hidden": False},
            {"program": "malloc-arrays", "points": 2, "earned": 0, "passed": False,
             "reason": "crashed: killed by SIGSEGV", "details": "...", "hidden": False}]
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"earned": 3, "possible": 5, "programs": rows}))
    line = run([PYTHON, str(COURSE / "classroom.py"), str(path)]).stdout.strip()
    assert line.startswith("result=")
    blob = json.loads(base64.b64decode(line.removeprefix("result=")))
    assert blob["version"] == 1 and blob["status"] == "fail" and blob["max_score"] == 5
    assert [(t["name"], t["status"], t["score"]) for t in blob["tests"]] == \
        [("malloc-coalesce", "pass", 3), ("malloc-arrays", "fail", 0)]
    assert blob["tests"][1]["message"] == "crashed: killed by SIGSEGV"
    missing = run([PYTHON, str(COURSE / "classroom.py"), str(tmp_path / "none.json")]).stdout
    error = json.loads(base64.b64decode(missing.strip().removeprefix("result=")))
    assert error["status"] == "error" and error["max_score"] == 100
    assert {t["score"] for t in error["tests"]} == {0}


@pytest.mark.heavy
def test_junit_xml_from_make_check(tmp_path: Path, first_fit_sources: list[Path]) -> None:
    sources, _ = stage(src_tree(tmp_path / "first-fit", first_fit_sources), tmp_path / "build")
    junit = tmp_path / "junit.xml"
    done = run(["make", "-s", "check", f"OSMEM={sources}", "TEST=malloc-split-middle",
                f"JUNIT={junit}", "JOBS=1"])
    assert done.returncode != 0
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["test_program[malloc-split-middle]"]
    failure = cases[0].find("failure")
    assert failure is not None and "rule 9 (best fit)" in failure.text
    assert "PytestWarning" not in done.stdout


# ---- grading a class -------------------------------------------------------------------------

@pytest.mark.heavy
@pytest.mark.xdist_group("course-class")
def test_grade_all_grades_every_entry_and_survives_the_bad_ones(graded_class) -> None:
    out, done = graded_class
    book = gradebook(out)
    assert sorted(book) == ["does-not-build", "escape", "first-fit", "hang", "independent",
                            "no-coalesce", "notes.txt", "reference", "segfault"]
    possible = sum(catalogue.program(p).points for p in SAMPLE)
    assert {row["possible"] for row in book.values()} == {str(possible)}
    for full in ("reference", "independent"):
        assert book[full]["build"] == "built" and book[full]["total"] == str(possible), full
    # The git repository is graded at HEAD: its uncommitted src/uncommitted.c is not C.
    assert book["no-coalesce"]["build"] == "built"
    assert book["no-coalesce"]["realloc-absorb"] == "0"
    assert int(book["no-coalesce"]["total"]) == possible - 3
    assert book["first-fit"]["malloc-split-middle"] == "0"
    assert int(book["first-fit"]["total"]) == possible - 2
    assert book["does-not-build"]["build"].startswith("does not build: ")
    assert book["does-not-build"]["total"] == "0"
    assert book["escape"]["build"].startswith("not graded: unsafe path in archive")
    assert book["notes.txt"]["build"].startswith("not graded: notes.txt is not a directory")
    assert not (out.parent / "escaped.c").exists()
    segfault = json.loads((out / "segfault" / "grade.json").read_text())["results"]
    assert segfault["earned"] == 0
    assert {r["reason"].split(":")[0] for r in segfault["programs"]} == {"crashed"}
    hang = json.loads((out / "hang" / "grade.json").read_text())["results"]
    assert [r["reason"][:19] for r in hang["programs"] if r["program"] == "calloc-arrays"] == \
        ["timed out after 4 s"]
    progress = [line for line in done.stdout.splitlines() if line.startswith("[")]
    assert len(progress) == 9 and progress[-1].startswith("[9/9] ")
    assert all(re.search(r"ETA \d+", line) for line in progress)


@pytest.mark.heavy
@pytest.mark.xdist_group("course-class")
def test_grade_all_pages_and_gradescope_results(graded_class) -> None:
    out, _ = graded_class
    page = (out / "first-fit" / "feedback.html").read_text()
    assert "First failure: malloc-split-middle" in page and "rule 9 (best fit)" in page
    assert 'href="malloc-split-middle.html"' in page
    picture = (out / "first-fit" / "malloc-split-middle.html").read_text()
    assert picture.startswith("<!DOCTYPE html>") and "malloc-split-middle" in picture
    assert "Every program passed." in (out / "reference" / "feedback.html").read_text()
    for student in ("first-fit", "does-not-build", "hang"):
        data = json.loads((out / student / "results.json").read_text())
        assert_gradescope_results(data, list(SAMPLE))
    svg = ElementTree.parse(out / "histogram.svg").getroot()
    bars = svg.findall("{http://www.w3.org/2000/svg}rect")
    assert len(bars) == 10
    counts = [int(bar.find("{http://www.w3.org/2000/svg}title").text.split(": ")[1])
              for bar in bars]
    assert sum(counts) == 9 and counts[-1] == 2     # reference, independent
    summary = (out / "index.html").read_text()
    assert '<img src="histogram.svg"' in summary and "Where the class struggles" in summary
    struggling = re.findall(r"<tr><td>([^<]+)</td><td class=n>(\d+)/(\d+)</td><td>([^<]+)</td>",
                            summary.split("Where the class struggles")[1].split("<h2>")[0])
    # Six students have a library; first-fit breaks rule 9 there, segfault crashes in os_free
    # (rule 13): on a tie the lower rule comes first.
    assert ("malloc-split-middle", "2", "6", "rule 9 (best fit)") in struggling
    assert ("calloc-arrays", "2", "6", "rule 13 (free)") in struggling


def _student(name: str, failures: dict[str, str]) -> Student:
    rows = [{"program": program, "points": 2, "earned": 0 if program in failures else 2,
             "passed": program not in failures, "reason": failures.get(program, ""),
             "details": "",
             "rule_label": (failures[program] if failures.get(program, "").startswith("rule")
                            else ""),
             "hidden": False} for program in ("a", "b", "c")]
    return Student(name, {"earned": sum(r["earned"] for r in rows), "possible": 6,
                          "programs": rows, "tracer": "strace", "profile": "default"}, "built")


def test_where_the_class_struggles_names_the_rule_most_often_broken() -> None:
    students = [_student("s1", {"a": "rule 9 (best fit)", "b": "rule 8 (coalesce)"}),
                _student("s2", {"a": "rule 9 (best fit)"}),
                _student("s3", {"a": "crashed: killed by SIGSEGV", "c": "rule 10 (split)",
                                "b": "timed out after 10 s"}),
                _student("s4", {})]
    found = struggles(students)
    assert [(s.program, s.failed, s.graded, s.broke, s.broke_count) for s in found] == \
        [("a", 3, 4, "rule 9 (best fit)", 2), ("b", 2, 4, "rule 8 (coalesce)", 1),
         ("c", 1, 4, "rule 10 (split)", 1)]
    assert histogram_counts(students) == [1, 0, 0, 1, 0, 0, 1, 0, 0, 1]   # 0, 2, 4, 6 of 6


@pytest.mark.heavy
@pytest.mark.xdist_group("course-class")
def test_grade_all_regrades_only_what_changed(graded_class, class_folder: Path) -> None:
    out, _ = graded_class
    (class_folder / "reference" / "src" / "osmem.c").write_text(
        (ROOT / "src" / "osmem.c").read_text() + "\n/* a change */\n")
    again = grade_all(class_folder, out)
    states = dict(re.findall(r"^\[\d+/\d+\] (\S+): \d+/\d+, .*?(| \(unchanged\))  elapsed",
                             again.stdout, re.MULTILINE))
    assert len(states) == 9 and states.pop("reference") == ""
    # Entries that could not be read are tried again; every graded one is unchanged.
    assert {name for name, state in states.items() if state == ""} == {"escape", "notes.txt"}


# Two whole submissions, each graded on every program by grade-all and by make check (minutes
# each): one that loses points (first fit), one that earns them all. make test runs the first.
TOTALS_STUDENTS = ("independent", "first-fit")


@pytest.mark.heavy
@pytest.mark.sample(1)
@pytest.mark.parametrize("student", TOTALS_STUDENTS)
def test_grade_all_totals_match_make_check(tmp_path: Path, first_fit_sources: list[Path],
                                           student: str) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    if student == "first-fit":
        src_tree(folder / student, first_fit_sources)
        osmem, _ = stage(folder / student, tmp_path / "first-fit-build")
    else:
        as_zip(src_tree(tmp_path / student, [SUBMISSIONS / "independent" / "osmem.c"]),
               folder / "independent.zip", student)
        osmem = SUBMISSIONS / "independent"
    grade_all(folder, tmp_path / "grades", programs=(), run_timeout=10)
    book = gradebook(tmp_path / "grades")
    results = tmp_path / f"{student}.json"
    run(["make", "-s", "check", f"OSMEM={osmem}", f"RESULTS={results}", "JOBS=2"])
    check = json.loads(results.read_text())
    assert book[student]["total"] == str(check["earned"])
    assert book[student]["possible"] == str(check["possible"]) == "100"
    for row in check["programs"]:
        assert book[student][row["program"]] == str(row["earned"]), row["program"]
    if student == "first-fit":
        assert int(book[student]["total"]) < 100
    else:
        assert book[student]["total"] == "100"


# ---- Gradescope ------------------------------------------------------------------------------

GRADESCOPE_SAMPLE = ("calloc-arrays", "malloc-split-middle", "malloc-split-one-block")


@pytest.fixture(scope="module")
def autograder_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary /autograder: the bundle unpacked in source/ and its setup.sh run."""
    out = tmp_path_factory.mktemp("gradescope")
    done = run([PYTHON, str(COURSE / "gradescope.py"), "bundle", f"--out={out}"])
    assert done.returncode == 0, done.stderr
    root = tmp_path_factory.mktemp("autograder")
    with zipfile.ZipFile(out / "autograder.zip") as zipped:
        names = zipped.namelist()
        assert "setup.sh" in names and "run_autograder" in names
        assert not [n for n in names if n.startswith("checker/selftest/")]
        assert [n for n in names if n.startswith("src/")] == ["src/libosmem.map", "src/osmem.c"]
        for program in HIDDEN:
            assert f"tests/{program.name}.c" in names and f"tests/ref/{program.name}.ref" in names
        zipped.extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):
        (root / "source" / script).chmod(0o755)
    setup = run(["bash", str(root / "source" / "setup.sh")], cwd=root / "source")
    assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-2000:]
    return root


def run_autograder(root: Path, submission: Path, programs: tuple[str, ...] = GRADESCOPE_SAMPLE,
                   run_timeout: float = 3) -> dict:
    shutil.rmtree(root / "submission", ignore_errors=True)
    shutil.copytree(submission, root / "submission")
    shutil.rmtree(root / "results", ignore_errors=True)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "OSMEM_RUN_TIMEOUT": f"{run_timeout:g}",
           "OSMEM_PROGRAMS": " ".join(programs)}
    done = run([str(root / "source" / "run_autograder")], cwd=root, env=env)
    assert done.returncode == 0
    return json.loads((root / "results" / "results.json").read_text())


@pytest.mark.heavy
@pytest.mark.xdist_group("course-autograder")
def test_gradescope_bundle_grades_passing_failing_broken_and_hanging(
        autograder_root: Path, tmp_path: Path, first_fit_sources: list[Path]) -> None:
    passing = run_autograder(autograder_root, src_tree(tmp_path / "independent",
                                                       [SUBMISSIONS / "independent" / "osmem.c"]))
    assert_gradescope_results(passing, list(GRADESCOPE_SAMPLE))
    assert passing["score"] == 6 and passing["output"].startswith("osmem: 6/6 points.")

    failing = run_autograder(autograder_root, src_tree(tmp_path / "first-fit", first_fit_sources))
    assert_gradescope_results(failing, list(GRADESCOPE_SAMPLE))
    split = next(t for t in failing["tests"] if t["name"] == "malloc-split-middle")
    assert split["status"] == "failed" and "rule 9 (best fit)" in split["output"]
    assert failing["score"] == 4

    broken = run_autograder(autograder_root, HOSTILE / "does-not-build")
    assert_gradescope_results(broken, list(GRADESCOPE_SAMPLE))
    assert broken["score"] == 0 and "does not build: " in broken["output"]
    assert all(t["output"].startswith("does not build: ") for t in broken["tests"])

    hanging = run_autograder(autograder_root, hostile_tree("hang", tmp_path / "hang"))
    assert_gradescope_results(hanging, list(GRADESCOPE_SAMPLE))
    calloc = next(t for t in hanging["tests"] if t["name"] == "calloc-arrays")
    assert calloc["status"] == "failed" and "timed out after 3 s" in calloc["output"]


@pytest.mark.heavy
@pytest.mark.xdist_group("course-autograder")
def test_gradescope_results_written_when_the_grader_fails(autograder_root: Path,
                                                          tmp_path: Path) -> None:
    data = run_autograder(autograder_root, src_tree(tmp_path / "s", solution_sources()),
                          programs=("no-such-program",))
    assert data["score"] == 0 and data["tests"] == []
    assert data["output"].startswith("not graded: the grader failed (exit 1)")

"""What the course tools share: which files of the kit go out, and how one submission is graded.

Two trees are cut from the kit: the students' handout and the Gradescope bundle. Both hold the
checker, the public test programs with their refs, utils/ and a Makefile, with src/ replaced by
the skeleton (course/skeleton/): the programs are linked against whatever libosmem.so sits in
src/, and graded against the submission's, so no tree that leaves the instructor's machine
carries the solution. Only the bundle carries the hidden programs and their refs.

Grading one submission is what `make check` does (checker/test_grade.py under pytest, with
--results-json); its JSON is the only source of every gradebook, page and platform file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

COURSE_DIR = Path(__file__).resolve().parent
ROOT = COURSE_DIR.parent
sys.path.insert(0, str(ROOT / "checker"))

import catalogue  # noqa: E402  (the checker's modules are found through the path above)
from run import end_group  # noqa: E402
from submission import Implementation, prepare  # noqa: E402

PYTHON = "/usr/bin/python3"
SKELETON = COURSE_DIR / "skeleton"
# The Makefile's sections (from "# ---- <title>" to "# ---- end of") that build the kit's own
# instruments, i.e. name a subdirectory of tests/ other than ref/, are not handed out: those
# programs need the solution's debug interface or its annotations.
SECTION_START = "# ---- "
SECTION_END = "# ---- end of"
INCLUDED_MAKEFILES = "# ---- Included makefiles"
INSTRUMENT_TOOLS = ("asan.py", "fuzz_lib.py", "memcheck.py", "memcheck.supp", "instrument.py")
GITIGNORE = "build/\n__pycache__/\n*.o\n*.so\n"


def _instrument_dirs() -> list[str]:
    return [f"tests/{d.name}/" for d in (ROOT / "tests").iterdir()
            if d.is_dir() and d.name != "ref"]


def kit_makefile() -> str:
    """The top Makefile without the instruments' sections and the included makefiles."""
    instruments = _instrument_dirs()
    kept: list[str] = []
    section: list[str] = []
    for line in (ROOT / "Makefile").read_text().splitlines():
        if line.startswith(INCLUDED_MAKEFILES):
            break
        if line.startswith(SECTION_START) and not line.startswith(SECTION_END) and not section:
            section = [line]
        elif section:
            section.append(line)
            if line.startswith(SECTION_END):
                if not any(d in text for text in section for d in instruments):
                    kept.extend(section)
                section = []
        else:
            kept.append(line)
    return "\n".join(kept + section).rstrip() + "\n"


def _checker_files() -> list[Path]:
    checker = ROOT / "checker"
    files = [p for p in checker.iterdir()
             if p.is_file() and p.suffix != ".pyc" and p.name not in INSTRUMENT_TOOLS]
    files += [p for p in (checker / "ltrace").iterdir() if p.is_file()]
    return files


def kit_files(include_hidden: bool) -> dict[str, Path]:
    """Relative path in the cut tree -> file of the kit, for everything copied as it is."""
    files: dict[str, Path] = {}
    for path in _checker_files():
        files[str(path.relative_to(ROOT))] = path
    for path in (ROOT / "utils").iterdir():
        if path.is_file():
            files[f"utils/{path.name}"] = path
    for header in (ROOT / "tests").glob("*.h"):
        files[f"tests/{header.name}"] = header
    for program in catalogue.all_programs():
        if program.hidden and not include_hidden:
            continue
        files[f"tests/{program.name}.c"] = program.source
        if program.ref.exists():
            files[f"tests/ref/{program.name}.ref"] = program.ref
    for path in SKELETON.iterdir():
        files[f"src/{path.name}"] = path
    return files


def write_tree(dest: Path, include_hidden: bool, extra: dict[str, str | Path]) -> None:
    """A cut of the kit in `dest` (created anew): kit_files(), the filtered Makefile, and
    `extra` (relative path -> text or file to copy)."""
    if dest.exists():
        shutil.rmtree(dest)
    contents: dict[str, str | Path] = {"Makefile": kit_makefile(), ".gitignore": GITIGNORE}
    contents.update(kit_files(include_hidden))
    contents.update(extra)
    for relative, source in sorted(contents.items()):
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, Path):
            shutil.copyfile(source, target)
            shutil.copymode(source, target)
        else:
            target.write_text(source)


def kit_hash() -> str:
    """A fingerprint of everything a grade depends on besides the submission."""
    digest = hashlib.sha256()
    parts = dict(kit_files(include_hidden=True))
    parts.update({str(p.relative_to(ROOT)): p for p in COURSE_DIR.glob("*.py")})
    parts["Makefile"] = ROOT / "Makefile"
    for relative, path in sorted(parts.items()):
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


# ---- grading one submission ------------------------------------------------------------------

@dataclass(frozen=True)
class GradeOptions:
    programs: tuple[str, ...] = ()      # grade only these (default: every graded program)
    tracer: str = "strace"
    profile: str = "default"
    run_timeout: float = 10.0           # seconds per program

    def chosen(self) -> list[catalogue.Program]:
        every = catalogue.graded_programs()
        if not self.programs:
            return every
        unknown = set(self.programs) - {p.name for p in every}
        if unknown:
            raise ValueError(f"no graded program named {', '.join(sorted(unknown))}")
        return [p for p in every if p.name in self.programs]

    def wall_clock(self) -> float:
        """How long one submission may take in all: every program timing out, and then some."""
        return len(self.chosen()) * (self.run_timeout + 2) + 120

    def fingerprint(self) -> str:
        return json.dumps([sorted(self.programs), self.tracer, self.profile, self.run_timeout])


class Scored:
    """What a grade's total is: the plugin's JSON (a ``results`` field) says it."""

    results: dict

    @property
    def earned(self) -> int:
        return int(self.results["earned"])

    @property
    def possible(self) -> int:
        return int(self.results["possible"])



@dataclass
class Graded(Scored):
    """The plugin's JSON for one submission, and how the build went."""

    results: dict
    build: str                          # "built", or why there is no library to grade
    seconds: float = 0.0
    log: str = ""
    library: Path | None = None         # the built library (for make show), when there is one
    notes: list[str] = field(default_factory=list)


def ungraded(options: GradeOptions, why: str, library: str = "") -> dict:
    """The plugin's JSON shape when the grader itself could not produce it: every program 0."""
    rows = [{"program": p.name, "points": p.points, "earned": 0, "passed": False,
             "reason": why, "details": why, "hidden": p.hidden} for p in options.chosen()]
    return {"library": library, "tracer": options.tracer, "profile": options.profile,
            "earned": 0, "possible": sum(r["points"] for r in rows),
            "programs": sorted(rows, key=lambda r: r["program"])}


def pytest_command(osmem: Path, results: Path, options: GradeOptions) -> list[str]:
    """What `make check OSMEM=... RESULTS=...` runs, in one process (the batch runs several)."""
    targets = [f"checker/test_grade.py::test_program[{p.name}]" for p in options.chosen()]
    if not options.programs:
        targets = ["checker/test_grade.py"]
    return [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir=checker",
            "-c", "checker/pytest.ini", "-n", "0", *targets, f"--osmem={osmem}",
            f"--tracer={options.tracer}", f"--run-timeout={options.run_timeout:g}",
            f"--profile={options.profile}", f"--results-json={results}"]


def _run_bounded(command: list[str], cwd: Path, timeout: float) -> tuple[int | None, str]:
    """Runs `command` in its own process group; kills the whole group after `timeout`."""
    process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
        return process.returncode, output.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return None, ""
    finally:
        end_group(process)


def grade_sources(sources: Path, work: Path, options: GradeOptions) -> Graded:
    """Builds `sources` (a directory with a Makefile) through the pipeline's prepare() and grades
    the library with the checker in a subprocess. Never raises for the submission's sake."""
    start = time.monotonic()
    work.mkdir(parents=True, exist_ok=True)
    results_path = work / "check.json"
    results_path.unlink(missing_ok=True)
    implementation: Implementation = prepare(sources, work / "impl")
    if implementation.problem or implementation.lib_dir is None:
        build = implementation.problem or "no library"
        osmem = sources                     # the checker reports the same problem on each row
        library = None
    else:
        build = "built"
        if implementation.missing:
            build = f"built; library lacks {', '.join(implementation.missing)}"
        library = Path(implementation.lib_dir) / "libosmem.so"
        osmem = library
    limit = options.wall_clock()
    returncode, log = _run_bounded(pytest_command(osmem, results_path, options),
                                   ROOT, limit)
    results = None
    if results_path.exists():
        try:
            results = json.loads(results_path.read_text())
        except ValueError:
            results = None
    if results is None:
        if returncode is None:
            why = f"not graded: grading took longer than {limit:.0f} s in all"
        else:
            why = f"not graded: the checker exited with {returncode} without results"
        results = ungraded(options, why, str(osmem))
        if build == "built":
            build = why
    return Graded(results, build, time.monotonic() - start, log, library)

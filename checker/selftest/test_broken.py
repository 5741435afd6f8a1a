"""Deliberately broken allocators: proof that the graded programs can fail (issue 2).

Each ``broken/<name>.patch`` is a unified diff (-p1) against ``src/`` that breaks one rule of the
contract. Its header (the text before the first ``---`` line, which patch ignores) says what is
wrong and which programs must lose their points because of it:

    Bug: best fit ties go to the highest address (rule 9)
    Loses: malloc-block-reuse malloc-split-vector

Every patch is applied to a copy of the sources, built, and graded with every program under
strace: each program in ``Loses:`` must fail, the total must stay below 100, and a patch that
no longer applies or builds fails loudly with patch's or make's own output.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

import catalogue
from report import TOTAL_POINTS
from support import BROKEN, ROOT, build_patched

MIN_DISTINCT_BUGS = 8


@dataclass(frozen=True)
class BrokenPatch:
    path: Path
    bug: str
    loses: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.path.stem


def read_header(path: Path) -> BrokenPatch:
    """The ``Bug:`` and ``Loses:`` lines of a patch's header (before its first ``---`` line)."""
    fields: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.startswith("---"):
            break
        key, colon, value = line.partition(":")
        if colon and key.strip() in ("Bug", "Loses"):
            if key.strip() in fields:
                raise ValueError(f"{path.name}: '{key.strip()}:' appears twice in the header")
            fields[key.strip()] = value.strip()
    missing = [key for key in ("Bug", "Loses") if key not in fields]
    if missing:
        raise ValueError(f"{path.name}: header lacks {', '.join(k + ':' for k in missing)}")
    if not fields["Bug"]:
        raise ValueError(f"{path.name}: 'Bug:' is empty")
    return BrokenPatch(path, fields["Bug"], tuple(fields["Loses"].split()))


PATCHES = sorted(BROKEN.glob("*.patch"))


def test_headers_parse() -> None:
    for path in PATCHES:
        read_header(path)


def test_at_least_eight_distinct_bugs() -> None:
    bugs = {read_header(path).bug for path in PATCHES}
    assert len(bugs) >= MIN_DISTINCT_BUGS, f"only {len(bugs)} distinct broken allocators"


def test_loses_names_graded_programs_with_refs() -> None:
    """A name in Loses: must be a graded program with a ref, or its failure proves nothing."""
    graded = {p.name for p in catalogue.graded_programs() if p.ref.exists()}
    unknown = {read_header(path).name: sorted(set(read_header(path).loses) - graded)
               for path in PATCHES}
    assert {name: names for name, names in unknown.items() if names} == {}


@pytest.fixture(scope="session")
def reference_results(grade_all) -> dict:
    """The kit's own library graded the same way: a program that fails there proves nothing."""
    return grade_all(ROOT / "src" / "libosmem.so", tracer="strace")


def _build(patch: Path, workdir: Path) -> Path:
    try:
        return build_patched(patch, workdir)
    except subprocess.CalledProcessError as failed:
        command = " ".join(str(arg) for arg in failed.cmd)
        pytest.fail(f"{patch.name} does not apply or build (`{command}` exited with "
                    f"{failed.returncode}):\n{failed.stdout or ''}{failed.stderr or ''}",
                    pytrace=False)


@pytest.mark.parametrize("patch", PATCHES, ids=[p.stem for p in PATCHES])
def test_broken_allocator_loses_points(patch: Path, tmp_path: Path, grade_all,
                                       reference_results) -> None:
    broken = read_header(patch)
    library = _build(patch, tmp_path)
    results = grade_all(library, tracer="strace")

    vacuous = [name for name in broken.loses
               if name in reference_results and not reference_results[name].passed]
    assert not vacuous, (f"{broken.name}: {' '.join(vacuous)} fail(s) on the reference library "
                         "too, so losing them proves nothing about the bug")

    def row(name: str) -> str:
        result = results[name]
        verdict = "passed" if result.passed else f"FAILED ({result.reason})"
        return f"  {name} [{result.points}]: {verdict}"

    survivors = [name for name in broken.loses if name not in results or results[name].passed]
    assert not survivors, (
        f"{broken.name} ({broken.bug}): programs aimed at the bug pass anyway: "
        f"{' '.join(survivors)}\n" + "\n".join(row(n) for n in sorted(results)))

    total = sum(r.points for r in results.values() if r.passed)
    failed = sorted(name for name, r in results.items() if not r.passed)
    assert total < TOTAL_POINTS, (
        f"{broken.name} ({broken.bug}) scores {total}/{TOTAL_POINTS}: no program catches it")
    print(f"{broken.name}: {total}/{TOTAL_POINTS}, failing: {' '.join(failed)}")

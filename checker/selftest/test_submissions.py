"""The checker grades the contract, not our code: an implementation written independently from
the contract (checker/selftest/submissions/independent/, handed in as a source directory with a
Makefile) passes every graded program. Submissions laid out as the course lays them out build
unchanged, in a scratch copy; a build that fails says why."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import catalogue
from grade import grade
from submission import prepare
from support import SUBMISSIONS, settings_for


@pytest.mark.heavy
@pytest.mark.parametrize("tracer", ["strace", "ltrace"])
def test_independent_implementation_scores_100(grade_all, tracer: str) -> None:
    results = grade_all(SUBMISSIONS / "independent", tracer)
    failures = {name: r.reason for name, r in results.items() if not r.passed}
    assert failures == {}
    assert sorted(results) == sorted(p.name for p in catalogue.graded_programs())


# ---- course layouts: a repository root (Makefile in src/), or its src/ -------------------

COURSE_MAKEFILE = """CFLAGS = -Wall -Wextra -fPIC -O2
libosmem.so: osmem.c helpers.c
\tgcc $(CFLAGS) -shared -o $@ osmem.c helpers.c ../utils/printf.c
"""
COURSE_HELPERS = """#include "../utils/printf.h"
#include "../tests/snippets/test-utils.h"
#include "list.h"

void helper_check(int bad)
{
\tDIE(bad, "helper_check");
}
"""


def course_repository(root: Path, list_header: str) -> Path:
    """A repository as the course lays it out: src/ with its Makefile, sources that include
    ../utils/*.h and ../tests/snippets/test-utils.h, and the course's own other files."""
    src = root / "src"
    src.mkdir(parents=True)
    text = (SUBMISSIONS / "independent" / "osmem.c").read_text()
    text = text.replace('#include "osmem.h"', '#include "../utils/osmem.h"')
    text = text.replace('#include "block_meta.h"', '#include "../utils/block_meta.h"\n'
                        '#include "list.h"')
    (src / "osmem.c").write_text(text)
    (src / "helpers.c").write_text(COURSE_HELPERS)
    (src / "list.h").write_text(list_header)
    (src / "Makefile").write_text(COURSE_MAKEFILE)
    (root / "checker").mkdir()
    (root / "checker" / "README").write_text("the course's checker lives here\n")
    return root


def files_of(tree: Path) -> dict[str, bytes]:
    return {str(p.relative_to(tree)): p.read_bytes() for p in tree.rglob("*") if p.is_file()}


SAMPLE = ["malloc-split-first", "realloc-expand-block", "calloc-arrays"]


@pytest.mark.parametrize("given", ["root", "src"])
def test_course_layout_builds_unchanged_and_passes(tmp_path: Path, given: str) -> None:
    repo = course_repository(tmp_path / "repo", "#pragma once\nvoid helper_check(int bad);\n")
    before = files_of(repo)
    implementation = prepare(repo if given == "root" else repo / "src", tmp_path / "impl")
    assert (implementation.problem, implementation.missing) == ("", ())
    assert files_of(repo) == before, "the build ran in a scratch copy, not in the student's tree"
    for name in SAMPLE:
        result = grade(catalogue.program(name), implementation, settings_for("strace"))
        assert (name, result.reason) == (name, "")


def test_global_defined_in_a_header_fails_with_the_cause_and_a_hint(tmp_path: Path) -> None:
    repo = course_repository(tmp_path / "repo", "#pragma once\nint list_length;\n"
                                                "void helper_check(int bad);\n")
    implementation = prepare(repo, tmp_path / "impl")
    assert implementation.lib_dir is None
    assert re.fullmatch(r"does not build: .*multiple definition of `list_length'.*",
                        implementation.problem), implementation.problem
    lines = implementation.details.splitlines()
    assert lines[0] == "the build's first errors:"
    assert any("multiple definition of `list_length'" in line for line in lines[1:11])
    assert any(line.startswith("hint: a global variable is defined in a header") and
               "`extern`" in line and "-fcommon" in line for line in lines)

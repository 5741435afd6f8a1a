"""Deliberately broken allocators: proof that the graded programs can fail, and fairly.

Each ``broken/<name>.patch`` is a unified diff (-p1) against ``src/`` that breaks one rule of the
contract. Its header (the text before the first ``---`` line, which patch ignores) says what is
wrong, the rule it breaks (numbered in ``rules.py``) and which programs must lose their points:

    Bug: best fit ties go to the highest address (rule 9)
    Rule: 9
    Loses: malloc-block-reuse malloc-split-vector
    Loses-layout: ...     (optional: programs that fail only under PROFILE=layout)
    Max-loss: 10          (optional: the most points the bug may cost in the default profile)

Every patch is applied to a copy of the sources, built, and its ``Loses:`` programs graded under
strace in the default profile: each must fail, and the first one listed must name the declared
rule. A patch with ``Max-loss:`` is graded with every program, and loses at most that many
points (a bug in one place costs only the programs aimed at it). ``Loses-layout:`` programs are
graded under the layout profile: each must fail, the first naming the rule. A patch that no
longer applies or builds fails loudly with patch's or make's own output. `make test` grades an
even sample of the patches, `make test-full` every one.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

import catalogue
import rules
from cached import once_per_run
from report import TOTAL_POINTS
from support import BROKEN, ROOT, build_patched

MIN_DISTINCT_BUGS = 8
FIELDS = ("Bug", "Rule", "Loses", "Loses-layout", "Max-loss")
REQUIRED = ("Bug", "Rule", "Loses")


@dataclass(frozen=True)
class BrokenPatch:
    path: Path
    bug: str
    rule: int
    loses: tuple[str, ...]
    loses_layout: tuple[str, ...] = ()
    max_loss: int | None = None

    @property
    def name(self) -> str:
        return self.path.stem


def read_header(path: Path) -> BrokenPatch:
    """The fields of a patch's header (before its first ``---`` line)."""
    fields: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.startswith("---"):
            break
        key, colon, value = line.partition(":")
        if colon and key.strip() in FIELDS:
            if key.strip() in fields:
                raise ValueError(f"{path.name}: '{key.strip()}:' appears twice in the header")
            fields[key.strip()] = value.strip()
    missing = [key for key in REQUIRED if key not in fields]
    if missing:
        raise ValueError(f"{path.name}: header lacks {', '.join(k + ':' for k in missing)}")
    if not fields["Bug"]:
        raise ValueError(f"{path.name}: 'Bug:' is empty")
    if not fields["Rule"].isdigit() or int(fields["Rule"]) not in rules.BY_NUMBER:
        raise ValueError(f"{path.name}: 'Rule: {fields['Rule']}' is not a rule of rules.py")
    loses, layout = tuple(fields["Loses"].split()), tuple(fields.get("Loses-layout", "").split())
    if not loses and not layout:
        raise ValueError(f"{path.name}: 'Loses:' and 'Loses-layout:' are both empty")
    max_loss = int(fields["Max-loss"]) if "Max-loss" in fields else None
    return BrokenPatch(path, fields["Bug"], int(fields["Rule"]), loses, layout, max_loss)


PATCHES = sorted(BROKEN.glob("*.patch"))


def test_at_least_eight_distinct_bugs() -> None:
    bugs = {read_header(path).bug for path in PATCHES}
    assert len(bugs) >= MIN_DISTINCT_BUGS, f"only {len(bugs)} distinct broken allocators"


def test_loses_names_graded_programs_with_refs() -> None:
    """A name in Loses: must be a graded program with a ref, or its failure proves nothing."""
    graded = {p.name for p in catalogue.graded_programs() if p.ref.exists()}
    unknown = {read_header(path).name: sorted(set(read_header(path).loses
                                                  + read_header(path).loses_layout) - graded)
               for path in PATCHES}
    assert {name: names for name, names in unknown.items() if names} == {}


def test_header_only_bugs_cost_nothing_in_the_default_profile() -> None:
    """A bug only the layout profile sees declares so: no default losses, a loss limit of 0."""
    for path in PATCHES:
        broken = read_header(path)
        if rules.rule(broken.rule).profile == rules.LAYOUT:
            assert (broken.loses, broken.max_loss) == ((), 0), broken.name


@pytest.fixture(scope="session")
def reference_results(grade_all) -> dict:
    """The kit's own library graded the same way: a program that fails there proves nothing.
    Graded once per run, for every pytest-xdist worker."""
    return once_per_run("broken-reference",
                        lambda: grade_all(ROOT / "src" / "libosmem.so", tracer="strace"))


def _build(patch: Path, workdir: Path) -> Path:
    try:
        return build_patched(patch, workdir)
    except subprocess.CalledProcessError as failed:
        command = " ".join(str(arg) for arg in failed.cmd)
        pytest.fail(f"{patch.name} does not apply or build (`{command}` exited with "
                    f"{failed.returncode}):\n{failed.stdout or ''}{failed.stderr or ''}",
                    pytrace=False)


def _check_losses(broken: BrokenPatch, names: tuple[str, ...], results: dict,
                  profile: str) -> None:
    def row(name: str) -> str:
        result = results[name]
        verdict = "passed" if result.passed else f"FAILED ({result.reason})"
        return f"  {name} [{result.points}]: {verdict}"

    survivors = [name for name in names if results[name].passed]
    assert not survivors, (
        f"{broken.name} ({broken.bug}), profile {profile}: programs aimed at the bug pass "
        f"anyway: {' '.join(survivors)}\n" + "\n".join(row(n) for n in sorted(results)))
    first = results[names[0]]
    assert first.rule == broken.rule, (
        f"{broken.name} declares {rules.label(broken.rule)}, but its first failure "
        f"({names[0]}, profile {profile}) names "
        f"{rules.label(first.rule) if first.rule else 'no rule'}: {first.reason}")


def _programs(names: tuple[str, ...]) -> list[catalogue.Program]:
    return [catalogue.program(name) for name in names]


# Each patch is built and graded (seconds each): `make test` runs an even sample of them.
@pytest.mark.sample(10)
@pytest.mark.parametrize("patch", PATCHES, ids=[p.stem for p in PATCHES])
def test_broken_allocator_loses_points(patch: Path, tmp_path: Path, grade_all,
                                       reference_results) -> None:
    broken = read_header(patch)
    library = _build(patch, tmp_path)
    vacuous = [name for name in broken.loses + broken.loses_layout
               if name in reference_results and not reference_results[name].passed]
    assert not vacuous, (f"{broken.name}: {' '.join(vacuous)} fail(s) on the reference library "
                         "too, so losing them proves nothing about the bug")

    everything = broken.max_loss is not None
    results = grade_all(library, tracer="strace",
                        programs=None if everything else _programs(broken.loses))
    if broken.loses:
        _check_losses(broken, broken.loses, results, rules.DEFAULT)
    lost = sum(r.points for r in results.values() if not r.passed)
    failed = sorted(name for name, r in results.items() if not r.passed)
    if everything:
        assert lost <= (broken.max_loss or 0), (
            f"{broken.name} ({broken.bug}) loses {lost} points (at most {broken.max_loss}), "
            f"failing: {' '.join(failed)}")
    if broken.loses_layout:
        layout = grade_all(library, tracer="strace", programs=_programs(broken.loses_layout),
                           profile=rules.LAYOUT)
        _check_losses(broken, broken.loses_layout, layout, rules.LAYOUT)
    print(f"{broken.name}: loses {lost}/{TOTAL_POINTS} in the default profile"
          + (" (every program graded)" if everything else f" (its {len(results)} programs)")
          + f", failing: {' '.join(failed)}")

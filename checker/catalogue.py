"""The graded programs: every tests/<name>.c with its points, read from its opening comment.

A program states ``points: N`` in its first comment; programs worth 0 points are the kit's own
instruments (e.g. the tracer canary) and are not graded. A line ``hidden: yes`` next to the
points keeps a program and its ref out of the students' handout: it is graded, but only by
the instructor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS_DIR = ROOT / "tests"
REF_DIR = TESTS_DIR / "ref"
BUILD_DIR = ROOT / "build" / "tests"
POINTS = re.compile(r"^\s*\*?\s*points:\s*(\d+)\s*$", re.MULTILINE)
HIDDEN = re.compile(r"^\s*\*?\s*hidden:\s*yes\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Program:
    name: str
    points: int
    args: tuple[str, ...] = ()      # command-line arguments (the replay program's script)
    hidden: bool = False            # graded, but not handed out to students

    @property
    def source(self) -> Path:
        return TESTS_DIR / f"{self.name}.c"

    @property
    def binary(self) -> Path:
        return BUILD_DIR / self.name

    @property
    def ref(self) -> Path:
        return REF_DIR / f"{self.name}.ref"


def program(name: str) -> Program:
    source = TESTS_DIR / f"{name}.c"
    text = source.read_text()
    match = POINTS.search(text)
    if not match:
        raise ValueError(f"{source} has no 'points: N' line in its opening comment")
    return Program(name, int(match[1]), hidden=bool(HIDDEN.search(text)))


def all_programs() -> list[Program]:
    return [program(p.stem) for p in sorted(TESTS_DIR.glob("*.c"))]


def graded_programs() -> list[Program]:
    return [p for p in all_programs() if p.points > 0]

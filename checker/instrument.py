"""What `make memcheck` and `make asan` share: the programs an instrument runs, in parallel, and
the closing summary.

An instrument (valgrind's memcheck, ASan+UBSan) runs two kinds of program: every graded program
(tests/*.c worth points), which must come out clean, and every deliberate misuse
(tests/misuse/*.c), which must be caught exactly as its opening comment declares, in a line
``<instrument>: <what it must report>``. A misuse program without a declaration for an
instrument is not run by it.
"""

from __future__ import annotations

import argparse
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Protocol, Sequence, TypeVar

import catalogue

MISUSE_DIR = catalogue.TESTS_DIR / "misuse"

T = TypeVar("T")
R = TypeVar("R")


class Named(Protocol):
    name: str


class Judged(Protocol):
    """An instrument's verdict on one program."""

    @property
    def ok(self) -> bool: ...
    @property
    def name(self) -> str: ...
    @property
    def deliberate(self) -> bool: ...


class OfSubject:
    """Base of a verdict on one subject: its name, and whether it is a deliberate misuse, are
    the subject's (a dataclass deriving from this has a ``subject`` field)."""

    subject: Named

    @property
    def name(self) -> str:
        return self.subject.name

    @property
    def deliberate(self) -> bool:
        return bool(getattr(self.subject, "deliberate"))


def declarations(instrument: str) -> list[tuple[Path, str]]:
    """(source, declared report) of every misuse program that declares one for `instrument`."""
    line = re.compile(rf"^\s*\*?\s*{re.escape(instrument)}:\s*(.+?)\s*$", re.MULTILINE)
    found = []
    for source in sorted(MISUSE_DIR.glob("*.c")):
        if match := line.search(source.read_text()):
            found.append((source, match[1]))
    return found


def choose(subjects: list[T], only: str | None, instrument: str) -> list[T]:
    """All subjects, or the one named `only` (a usage error when there is none)."""
    if not only:
        return subjects
    chosen = [s for s in subjects if getattr(s, "name") == only]
    if not chosen:
        raise SystemExit(f"{instrument}: no program named {only!r} (tests/*.c with points, "
                         f"tests/misuse/*.c)")
    return chosen


def arguments(description: str, instrument: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--test", default="", help=f"one program (tests/NAME.c or "
                        f"tests/misuse/NAME.c) for {instrument}")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    return parser


def run_all(run: Callable[[T], R], subjects: Iterable[T], jobs: int) -> list[R]:
    """`run` over every subject, `jobs` at a time, in the subjects' order."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(run, subjects))


def run_and_report(instrument: str, run: Callable[[T], R], subjects: Iterable[T], jobs: int,
                   render: Callable[[R], str]) -> int:
    """The command's whole output: each verdict rendered, then the summary; its exit status."""
    verdicts = run_all(run, subjects, jobs)
    for verdict in verdicts:
        print(render(verdict))
    line, status = summary(instrument, verdicts)
    print(line)
    return status


def summary(instrument: str, verdicts: Sequence[Judged]) -> tuple[str, int]:
    """The closing line and the exit status: 0 only when every verdict is as expected."""
    graded = [v for v in verdicts if not v.deliberate]
    misuse = [v for v in verdicts if v.deliberate]
    bad = [v.name for v in verdicts if not v.ok]
    line = (f"{instrument}: {sum(v.ok for v in graded)}/{len(graded)} graded programs clean, "
            f"{sum(v.ok for v in misuse)}/{len(misuse)} deliberate misuses caught as declared"
            + (f"; not as expected: {', '.join(bad)}" if bad else ""))
    return line, 1 if bad else 0

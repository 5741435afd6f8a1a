"""Fixtures for the kit's own tests: the reference library, and grading any implementation."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import pytest

import catalogue
from grade import Result, grade
from submission import Implementation, prepare

from support import ROOT, settings_for

Grader = Callable[..., dict[str, Result]]


@pytest.fixture(scope="session")
def full(pytestconfig: pytest.Config) -> bool:
    """--full: every case of the costly families, not a sample (see selftest_plugin.py)."""
    return bool(pytestconfig.getoption("full"))


@pytest.fixture(scope="session")
def reference() -> Implementation:
    """The kit's own library, as built by `make`."""
    return Implementation("src/libosmem.so", str(ROOT / "src"))


@pytest.fixture(scope="session")
def grade_all(tmp_path_factory: pytest.TempPathFactory) -> Grader:
    """grade_all(osmem_path, tracer="strace") -> {program: Result} over every graded program."""

    def run(osmem: Path, tracer: str = "strace", timeout: float = 30.0,
            programs: list[catalogue.Program] | None = None) -> dict[str, Result]:
        implementation = prepare(osmem, tmp_path_factory.mktemp("impl"))
        chosen = programs or catalogue.graded_programs()
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = pool.map(lambda p: grade(p, implementation, settings_for(tracer, timeout)),
                               chosen)
        return {r.program: r for r in results}

    return run


"""Fixtures of the graded tests. The options, hooks and score table are the grading plugin
(plugin.py); the kit's own tests have theirs (selftest_plugin.py). Both load with this file."""

from __future__ import annotations

from pathlib import Path

import pytest

from grade import Settings
from plugin import WORKDIR
from run import MARKERS_LIB
from submission import Implementation, prepare_shared

pytest_plugins = ("plugin", "selftest_plugin")


@pytest.fixture(scope="session")
def implementation(pytestconfig: pytest.Config) -> Implementation:
    """The implementation named by --osmem, prepared once for the whole run."""
    return prepare_shared(Path(pytestconfig.getoption("osmem")).resolve(),
                          pytestconfig.stash[WORKDIR])


@pytest.fixture(scope="session")
def settings(pytestconfig: pytest.Config) -> Settings:
    return Settings(pytestconfig.getoption("tracer"), MARKERS_LIB,
                    pytestconfig.getoption("run_timeout"),
                    profile=pytestconfig.getoption("profile"))

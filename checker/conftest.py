"""The osmem pytest plugin: options, the graded implementation as a fixture, the score table.

Options (also reachable from make: OSMEM=, TRACER=, TEST=):
  --osmem PATH     the libosmem.so to grade, or a source directory with a Makefile
  --tracer NAME    strace (default: markers around each call, robust on any toolchain) or ltrace
  --program NAME   grade only this program
  --run-timeout S  seconds one traced program may run

The implementation is prepared (built, copied, its symbols read) once, in the controlling
process; pytest-xdist workers receive the result instead of building it again.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

import catalogue
from grade import Settings
from report import Row, table
from run import MARKERS_LIB, TRACERS
from submission import Implementation, prepare
from reliability_figures import ReliabilityFigures

ROOT = catalogue.ROOT
WORKER_KEY = "osmem_implementation"
IMPLEMENTATION = pytest.StashKey[Implementation]()
WORKDIR = pytest.StashKey[Path]()

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("osmem", "grading an osmem implementation")
    group.addoption("--osmem", default=str(ROOT / "src" / "libosmem.so"),
                    help="libosmem.so to grade, or a source directory with a Makefile")
    group.addoption("--tracer", default="strace", choices=TRACERS,
                    help="how calls and syscalls are observed (default: strace)")
    group.addoption("--program", default=None, help="grade only this test program")
    group.addoption("--run-timeout", type=float, default=10.0,
                    help="seconds one traced program may run (default: 10)")


class ScoreBoard:
    """Collects the graded tests' results in the controlling process and prints the table."""

    def __init__(self, config: pytest.Config, implementation: Implementation) -> None:
        self.config = config
        self.implementation = implementation
        self.rows: dict[str, Row] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        if "points" not in props or (report.when != "call" and not report.failed):
            return
        name = str(props["program"])
        if report.failed or name not in self.rows:
            reason = str(props.get("reason", "")) or _last_line(report.longreprtext)
            self.rows[name] = Row(name, int(props["points"]), report.passed, reason)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.rows:
            return
        title = (f"osmem score: {self.implementation.source} "
                 f"(tracer: {self.config.getoption('tracer')})")
        terminalreporter.write_sep("=", "osmem score")
        terminalreporter.write_line(table(list(self.rows.values()), title))


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "points(n): what the graded program is worth")
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        config.stash[IMPLEMENTATION] = Implementation.from_json(workerinput[WORKER_KEY])
        return
    _check_program_option(config)
    workdir = Path(tempfile.mkdtemp(prefix="osmem-impl-"))
    config.stash[WORKDIR] = workdir
    implementation = prepare(Path(config.getoption("osmem")).resolve(), workdir)
    config.stash[IMPLEMENTATION] = implementation
    config.pluginmanager.register(ScoreBoard(config, implementation), "osmem-scoreboard")
    config.pluginmanager.register(ReliabilityFigures(), "osmem-reliability")


def pytest_unconfigure(config: pytest.Config) -> None:
    workdir = config.stash.get(WORKDIR, None)
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    node.workerinput[WORKER_KEY] = node.config.stash[IMPLEMENTATION].to_json()


def _check_program_option(config: pytest.Config) -> None:
    """Before any worker starts: a wrong --program is a usage error, not an internal one."""
    wanted = config.getoption("program")
    names = [p.name for p in catalogue.graded_programs()]
    if wanted and wanted not in names:
        raise pytest.UsageError(f"no graded program named {wanted!r}; choose one of: "
                                f"{', '.join(names)}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.getoption("program")
    if not wanted:
        return
    chosen = [i for i in items if i.get_closest_marker("points")
              and getattr(i, "callspec", None) and i.callspec.id == wanted]
    config.hook.pytest_deselected(items=[i for i in items if i not in chosen])
    items[:] = chosen



@pytest.fixture(scope="session")
def implementation(pytestconfig: pytest.Config) -> Implementation:
    """The implementation named by --osmem, prepared once."""
    return pytestconfig.stash[IMPLEMENTATION]


@pytest.fixture(scope="session")
def settings(pytestconfig: pytest.Config) -> Settings:
    return Settings(pytestconfig.getoption("tracer"), MARKERS_LIB,
                    pytestconfig.getoption("run_timeout"))

"""The osmem grading plugin for pytest: options, the graded implementation, the score table.

Loaded by checker/conftest.py (``pytest_plugins``) for every run of the kit. Options, also
reachable from make (OSMEM=, TRACER=, TEST=, RUN_TIMEOUT=, PROFILE=, RESULTS=):

  --osmem PATH          the libosmem.so to grade, or a source directory with a Makefile
  --tracer NAME         strace (default: markers around each call) or ltrace
  --program NAME        grade only this program
  --run-timeout S       seconds one traced program may run
  --profile NAME        default (what the trace, the addresses and the memory show) or layout
                        (also the block_meta header contents)
  --results-json PATH   also write the score table as JSON (for gradebooks and autograders):
                        per program its points, reason, explanation and the rule it broke

A graded test is marked ``points(n)``; the table reads the points from that marker. The
implementation is prepared (built, copied, its symbols read) at most once per run, and only when
a graded test asks for it (the ``implementation`` fixture): every pytest-xdist worker shares one
directory for it, and submission.prepare_shared() lets the first that asks do the work.

The table always has one row per graded program that was collected, whatever happened to it: a
program whose worker died, or that never reported, reads 0 with the reason.

PYTEST_DONT_REWRITE: conftest.py imports this module before pytest registers it as a plugin,
and it holds no assert to rewrite.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

import catalogue
import rules
import sandbox
from grade import PROFILES
from report import Row, printable, table
from run import TRACERS

WORKDIR_KEY = "osmem_workdir"
WORKDIR = pytest.StashKey[Path]()
OWNS_WORKDIR = pytest.StashKey[bool]()
GRADED_TEST = "test_grade.py::test_program["
NEVER_REPORTED = "no result: the process grading it stopped before it reported"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("osmem", "grading an osmem implementation")
    group.addoption("--osmem", default=str(catalogue.ROOT / "src" / "libosmem.so"),
                    help="libosmem.so to grade, or a source directory with a Makefile")
    group.addoption("--tracer", default="strace", choices=TRACERS,
                    help="how calls and syscalls are observed (default: strace)")
    group.addoption("--program", default=None, help="grade only this test program")
    group.addoption("--run-timeout", type=float, default=10.0,
                    help="seconds one traced program may run (default: 10)")
    group.addoption("--profile", default="default", choices=PROFILES,
                    help="default: grade what the trace and the memory show; layout: also "
                         "the block_meta header contents")
    group.addoption("--results-json", default=None, metavar="PATH",
                    help="also write the score table to PATH as JSON")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "points(n): what the graded program is worth")
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        config.stash[WORKDIR] = Path(workerinput[WORKDIR_KEY])
        config.stash[OWNS_WORKDIR] = False
        return
    _check_program_option(config)
    config.stash[WORKDIR] = Path(tempfile.mkdtemp(prefix="osmem-impl-"))
    config.stash[OWNS_WORKDIR] = True
    config.pluginmanager.register(ScoreBoard(config), "osmem-scoreboard")


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.stash.get(OWNS_WORKDIR, False):
        shutil.rmtree(config.stash[WORKDIR], ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    node.workerinput[WORKDIR_KEY] = str(node.config.stash[WORKDIR])


def pytest_report_header(config: pytest.Config) -> list[str]:
    header = (f"osmem: library {config.getoption('osmem')}, tracer {config.getoption('tracer')}, "
              f"timeout {config.getoption('run_timeout'):g} s, "
              f"profile {config.getoption('profile')}")
    return [header] + ([sandbox.warning()] if sandbox.warning() else [])


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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Every report of a graded test carries its points, read from its marker."""
    outcome = yield
    marker = item.get_closest_marker("points")
    if marker is not None:
        outcome.get_result().user_properties.append(("points", int(marker.args[0])))


class ScoreBoard:
    """In the controlling process: one row per graded program, the table, the JSON results."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.catalogue = {p.name: p for p in catalogue.graded_programs()}
        self.rows: dict[str, Row] = {}
        self.details: dict[str, str] = {}
        self.broken: dict[str, int | None] = {}    # the number of the rule a failure broke

    def _expect(self, nodeids: list[str]) -> None:
        """Graded programs collected: each gets a row now, replaced when its result comes."""
        for nodeid in nodeids:
            name = _program_of(nodeid)
            if name in self.catalogue and name not in self.rows:
                self.rows[name] = Row(name, self.catalogue[name].points, False, NEVER_REPORTED)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._expect([item.nodeid for item in session.items])

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids: list[str]) -> None:
        self._expect(ids)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        name = _program_of(report.nodeid)
        if name is None or name not in self.catalogue:
            return
        self._expect([report.nodeid])
        row = self.rows[name]
        if not row.passed and row.reason != NEVER_REPORTED:
            return                                  # the first failure stands
        points = int(dict(report.user_properties).get("points", row.points))
        if report.failed:
            if report.when == "???":                # pytest-xdist: the worker died running it
                reason = f"the process grading it died: {_last_line(report.longreprtext)}"
            else:
                reason = (str(dict(report.user_properties).get("reason", ""))
                          or _last_line(report.longreprtext))
            self.rows[name] = Row(name, points, False, reason)
            self.details[name] = report.longreprtext
            self.broken[name] = dict(report.user_properties).get("rule")
        elif report.when == "call" and report.passed:
            self.rows[name] = Row(name, points, True)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.rows:
            return
        config = self.config
        title = (f"osmem score: {config.getoption('osmem')} (tracer: "
                 f"{config.getoption('tracer')}, profile: {config.getoption('profile')})")
        terminalreporter.write_sep("=", "osmem score")
        terminalreporter.write_line(table(list(self.rows.values()), title))
        if sandbox.warning():
            terminalreporter.write_line(sandbox.warning())
        path = config.getoption("results_json")
        if path:
            Path(path).write_text(json.dumps(self.results(), indent=2) + "\n")

    def results(self) -> dict:
        rows = [self._row_data(row) for row in sorted(self.rows.values(), key=lambda r: r.program)]
        return {"library": self.config.getoption("osmem"),
                "tracer": self.config.getoption("tracer"),
                "profile": self.config.getoption("profile"),
                "earned": sum(r["earned"] for r in rows),
                "possible": sum(r["points"] for r in rows),
                "programs": rows}

    def _row_data(self, row: Row) -> dict:
        rule = self.broken.get(row.program)
        return {"program": row.program, "points": row.points, "earned": row.earned,
                "passed": row.passed, "reason": printable(row.reason),
                "details": printable(self.details.get(row.program, "")),
                "rule": rule, "rule_label": rules.label(rule) if rule is not None else "",
                "hidden": self.catalogue[row.program].hidden}


def _program_of(nodeid: str) -> str | None:
    start = nodeid.find(GRADED_TEST)
    if start < 0 or not nodeid.endswith("]"):
        return None
    return nodeid[start + len(GRADED_TEST):-1]


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""

"""The pytest plugin of the kit's own tests: how much they run, and the figures they measure.

A costly family of cases is marked ``@pytest.mark.sample(n)``: `make test` runs n of its
parametrized cases, spread evenly over them and always the same ones (the others are
deselected, and pytest says how many); ``--full`` (``make test-full``, which CI runs)
runs them all: every fault position of every program, every program under memcheck, every
hostile submission, every broken allocator on every program.

A test that takes tens of seconds is marked ``@pytest.mark.heavy``: it is scheduled before the
others, so that pytest-xdist's workers, which take the tests in order, end together instead of
one of them starting a long test when the other has nothing left (`make test` runs with
``--dist loadgroup``, so the tests that share a costly module fixture carry one
``xdist_group`` and run on one worker, which computes the fixture once).

Tests attach ``("reliability", (label, count))`` user properties to their reports (bad inputs
tried, faults injected, faults survived ...). The sums are kept in the controlling process:
user properties travel with the reports, so they include pytest-xdist workers.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable

import pytest


class Figures:
    def __init__(self) -> None:
        self.totals: dict[str, int] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name == "reliability":
                label, count = value
                self.totals[label] = self.totals.get(label, 0) + int(count)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.totals:
            terminalreporter.write_sep("=", "osmem reliability")
            for label, count in self.totals.items():
                terminalreporter.write_line(f"{label}: {count}")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("osmem-selftest", "the kit's own tests").addoption(
        "--full", action="store_true",
        help="run every case of the test families marked sample(n), not n of each")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sample(n): without --full, run only n of this test's "
                            "parametrized cases, spread evenly")
    config.addinivalue_line("markers", "heavy: takes tens of seconds; scheduled first")
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(Figures(), "osmem-figures")


def pytest_report_header(config: pytest.Config) -> str:
    return "osmem selftests: " + ("every case (--full)" if config.getoption("full")
                                  else "a sample of the families marked sample(n)")


def evenly(items: list, keep: int) -> list:
    """`keep` of `items`, one from the middle of each of `keep` equal stretches (so neither end
    is favoured: the first program, `all`, is also the costliest)."""
    if len(items) <= keep:
        return list(items)
    return [items[int((i + 0.5) * len(items) / keep)] for i in range(keep)]


def sampled(items: list, keep: int, always: Callable[[Any], bool]) -> list:
    """The items `always` holds for, then `keep` of the others, spread evenly (`evenly`)."""
    return [i for i in items if always(i)] + evenly([i for i in items if not always(i)], keep)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Stable: the heavy tests keep their order among themselves, and so do the others.
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)
    if config.getoption("full"):
        return
    families: dict[tuple[str, str], list[pytest.Item]] = defaultdict(list)
    for item in items:
        if item.get_closest_marker("sample"):
            families[(item.nodeid.split("::")[0], getattr(item, "originalname", item.name))
                     ].append(item)
    dropped = set()
    for family in families.values():
        keep = int(family[0].get_closest_marker("sample").args[0])
        kept = set(map(id, evenly(family, keep)))
        dropped.update(id(item) for item in family if id(item) not in kept)
    if dropped:
        config.hook.pytest_deselected(items=[i for i in items if id(i) in dropped])
        items[:] = [i for i in items if id(i) not in dropped]

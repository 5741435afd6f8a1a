"""Figures the kit's own tests measure, summed over a whole pytest run and printed at its end.

Tests attach ``("reliability", (label, count))`` user properties to their reports (bad inputs
tried, faults injected, faults survived ...). A pytest plugin (``-p figures``, in pytest.ini),
so it runs in the controlling process: user properties travel with the reports, and the sums
include pytest-xdist workers.
"""

from __future__ import annotations

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


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(Figures(), "osmem-figures")

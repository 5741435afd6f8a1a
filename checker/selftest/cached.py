"""A value computed once per test run and shared by the pytest-xdist workers (memcheck, asan).

Kept in build/selftest-cache/ (see once.py), keyed by the xdist run id, so each run computes
anew; an earlier run's value is removed when a new run computes its own.
"""

from __future__ import annotations

import os
from typing import Callable, TypeVar

from once import once
from support import ROOT

T = TypeVar("T")
CACHE_DIR = ROOT / "build" / "selftest-cache"


def once_per_run(name: str, compute: Callable[[], T]) -> T:
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID", f"pid{os.getpid()}")

    def fresh() -> T:
        for stale in CACHE_DIR.glob(f"{name}-*.pickle"):
            stale.unlink()
        return compute()

    return once(CACHE_DIR / f"{name}-{run_id}.pickle", fresh)

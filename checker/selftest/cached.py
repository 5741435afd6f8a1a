"""A value computed once per test run and shared by the pytest-xdist workers (memcheck, asan).

The first worker to ask computes it under a file lock and pickles it to build/selftest-cache/;
the others wait on the lock and read it. Keyed by the xdist run id, so each run computes anew.
"""

from __future__ import annotations

import fcntl
import os
import pickle
from typing import Callable, TypeVar

from support import ROOT

T = TypeVar("T")
CACHE_DIR = ROOT / "build" / "selftest-cache"


def once_per_run(name: str, compute: Callable[[], T]) -> T:
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID", f"pid{os.getpid()}")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"{name}-{run_id}.pickle"
    with open(CACHE_DIR / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return pickle.loads(path.read_bytes())
        for stale in CACHE_DIR.glob(f"{name}-*.pickle"):
            stale.unlink()
        value = compute()
        path.write_bytes(pickle.dumps(value))
        return value

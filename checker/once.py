"""A value computed once for every process that asks for it with the same path.

The first process to ask computes it under a file lock (``<path>.lock``) and pickles it to
`path`; the others wait on the lock and unpickle it. The grading plugin prepares the graded
implementation this way for all pytest-xdist workers; the kit's own tests share their costly
runs (memcheck, asan) this way.
"""

from __future__ import annotations

import fcntl
import pickle
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")


def once(path: Path, compute: Callable[[], T]) -> T:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return pickle.loads(path.read_bytes())
        value = compute()
        path.write_bytes(pickle.dumps(value))
        return value

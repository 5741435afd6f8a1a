"""Helpers shared by the kit's own tests (their fixtures live in selftest/conftest.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import catalogue
from grade import Settings
from run import MARKERS_LIB

ROOT = catalogue.ROOT
SUBMISSIONS = ROOT / "checker" / "selftest" / "submissions"
BROKEN = ROOT / "checker" / "selftest" / "broken"


def settings_for(tracer: str, timeout: float = 30.0, profile: str = "default") -> Settings:
    return Settings(tracer, MARKERS_LIB, timeout, profile=profile)


def build_patched(patch: Path, workdir: Path) -> Path:
    """Copies the library sources, applies `patch` (-p1, from the repo root) and builds it."""
    tree = workdir / "tree"
    for part in ("src", "utils"):
        shutil.copytree(ROOT / part, tree / part,
                        ignore=shutil.ignore_patterns("*.so", "*.o"))
    shutil.copy(ROOT / "Makefile", tree / "Makefile")
    subprocess.run(["patch", "-s", "-p1", "-d", str(tree), "-i", str(patch)], check=True,
                   capture_output=True, text=True)
    subprocess.run(["make", "-s", "-C", str(tree), "src/libosmem.so"], check=True,
                   capture_output=True, text=True)
    return tree / "src" / "libosmem.so"

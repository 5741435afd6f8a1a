"""Helpers shared by the kit's own tests (their fixtures live in selftest/conftest.py)."""

from __future__ import annotations

import hashlib
import os
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


def tree_digest(paths: list[Path]) -> str:
    """A digest of the kit's tracked files (names, modes and contents) and of `paths`' trees."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout.split(b"\0")
    files = [ROOT / name.decode() for name in listed if name]
    for path in paths:
        files += sorted(p for p in path.rglob("*"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path).encode() + b"\0")
        if path.is_symlink():
            digest.update(os.readlink(path).encode())
        elif path.is_file():
            digest.update(f"{path.stat().st_mode:o}".encode() + path.read_bytes())
    return digest.hexdigest()

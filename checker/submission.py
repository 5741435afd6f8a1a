"""Stage 0: turn OSMEM (a libosmem.so, or a source directory with a Makefile) into a library.

The library is copied alone into a fresh directory that becomes the programs' LD_LIBRARY_PATH.
A build failure, a missing library or missing API symbols are not errors of the checker: they
are recorded as the implementation's problems, and every affected test fails with that reason.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from once import once

API = ("os_malloc", "os_calloc", "os_realloc", "os_free")
BUILD_TIMEOUT = 180.0
LIBRARY = "libosmem.so"


@dataclass(frozen=True)
class Implementation:
    source: str
    lib_dir: str | None          # directory holding only libosmem.so; None when unusable
    problem: str = ""            # why it cannot be graded at all ("does not build: ...")
    missing: tuple[str, ...] = ()  # API symbols the library does not define

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @staticmethod
    def from_json(text: str) -> "Implementation":
        data = json.loads(text)
        data["missing"] = tuple(data["missing"])
        return Implementation(**data)


def _build_error(output: str) -> str:
    """The compiler's first error line (file:line: error: ...), else the last line of output."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if " error: " in line or line.startswith("error: ")]
    return (errors or lines or ["no output"])[0 if errors else -1]


def _build(source: Path) -> tuple[Path | None, str]:
    try:
        done = subprocess.run(["make", "-C", str(source)], capture_output=True, text=True,
                              timeout=BUILD_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, f"does not build: make took longer than {BUILD_TIMEOUT:.0f} s"
    if done.returncode != 0:
        return None, f"does not build: {_build_error(done.stderr + done.stdout)}"
    built = sorted(source.rglob(LIBRARY), key=lambda p: p.stat().st_mtime, reverse=True)
    if not built:
        return None, f"does not build: make succeeded but produced no {LIBRARY}"
    return built[0], ""


def defined_symbols(library: Path) -> set[str]:
    done = subprocess.run(["nm", "-D", "--defined-only", str(library)], capture_output=True,
                          text=True, timeout=30)
    return {line.split()[-1] for line in done.stdout.splitlines() if line.split()}


def prepare(osmem: Path, workdir: Path) -> Implementation:
    source = str(osmem)
    if osmem.is_dir():
        if not (osmem / "Makefile").exists():
            return Implementation(source, None, f"{osmem} is a directory without a Makefile")
        library, problem = _build(osmem)
        if library is None:
            return Implementation(source, None, problem)
    elif osmem.is_file():
        library = osmem
    else:
        return Implementation(source, None, f"{osmem} does not exist")
    lib_dir = workdir / "lib"
    lib_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(library, lib_dir / LIBRARY)
    missing = tuple(name for name in API if name not in defined_symbols(lib_dir / LIBRARY))
    return Implementation(source, str(lib_dir), "", missing)


def prepare_shared(osmem: Path, workdir: Path) -> Implementation:
    """prepare() once per `workdir`, whichever of several processes asks first (pytest-xdist
    workers share one workdir)."""
    return once(workdir / "implementation.pickle", lambda: prepare(osmem, workdir))

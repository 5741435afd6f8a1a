"""The allocators a bench run compares, and how bench_replay reaches each one.

Invariants:
  - glibc is always first: every ratio is against it, measured in the same run;
  - glibc without its thread cache and glibc keeping its heap come second and third: the same
    library, in a process whose environment (GLIBC_TUNABLES) turns one behaviour off, references
    for what part of glibc's speed comes from handing back the block just freed, and from
    the heap it gives back and grows again on traces that free every block;
  - a contender's environment (its LD_PRELOAD, its own variables) reaches the program it
    measures and nothing else: not strace, which runs the program for the counting run;
  - the malloc contenders are Debian's packages (checker/deps.sh --bench installs them), each
    loaded in its own process with LD_PRELOAD, so bench_replay's malloc/realloc/free are theirs;
  - an os_* contender is a libosmem.so made by checker/submission.py's prepare() (a library, or
    a source directory it builds) and loaded by bench_replay with dlopen; one that cannot be
    prepared is kept with its problem, reported instead of measured.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT / "checker"))
from submission import LIBRARY, prepare  # noqa: E402  (the checker's own builder)

# (name, Debian package, the shared object it ships)
MALLOC_PACKAGES = (
    ("jemalloc", "libjemalloc2", "libjemalloc.so.2"),
    ("mimalloc", "libmimalloc2.0", "libmimalloc.so.2"),
    ("tcmalloc", "libtcmalloc-minimal4", "libtcmalloc_minimal.so.4"),
)
NO_TCACHE = (("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0"),)
NO_TCACHE_NOTE = (
    "the same glibc with its per-thread cache off (GLIBC_TUNABLES=glibc.malloc.tcache_count=0): "
    "that cache is a LIFO per size class, whose malloc hands back the block of that size just "
    "freed, which a contract of best fit by address (os_*) cannot do")
HEAP_KEPT = (("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=18446744073709551615"),)
HEAP_KEPT_NOTE = (
    "the same glibc never giving its heap back (GLIBC_TUNABLES=glibc.malloc.trim_threshold="
    "18446744073709551615): on a trace whose passes free every block, glibc otherwise shrinks "
    "its heap with brk at the end of a pass and grows it and faults it in again in the next "
    "(see its brk calls in pass 2), which an os_* heap, that never shrinks, does not; the "
    "tunable also stops glibc from raising its mmap threshold above 128 KiB, the threshold the "
    "os_* contract fixes")


@dataclass(frozen=True)
class Contender:
    name: str
    version: str = ""
    preload: str = ""           # LD_PRELOAD for a malloc contender
    osmem_library: str = ""     # the libosmem.so bench_replay dlopens for an os_* contender
    problem: str = ""           # why it cannot be measured
    env: tuple[tuple[str, str], ...] = ()   # variables of its own for the measured program
    note: str = ""              # what it is and why it is measured, when its name cannot say

    @property
    def environment(self) -> dict[str, str]:
        """What the measured program gets on top of the bench's plain environment."""
        own = dict(self.env)
        if self.preload:
            own["LD_PRELOAD"] = self.preload
        return own

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}".strip()

    @property
    def osmem_api(self) -> bool:
        return bool(self.osmem_library)


def _package_version(package: str) -> str:
    done = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True,
                          text=True)
    return done.stdout.split("-")[0].split("+")[0] if done.returncode == 0 else ""


def _package_file(package: str, filename: str) -> str:
    done = subprocess.run(["dpkg-query", "-L", package], capture_output=True, text=True)
    found = [line for line in done.stdout.splitlines() if line.endswith("/" + filename)]
    return found[0] if found else ""


def malloc_contenders() -> list[Contender]:
    glibc_version = _package_version("libc6")
    chosen = [Contender("glibc", glibc_version),
              Contender("glibc (no tcache)", glibc_version, env=NO_TCACHE, note=NO_TCACHE_NOTE),
              Contender("glibc (heap kept)", glibc_version, env=HEAP_KEPT, note=HEAP_KEPT_NOTE)]
    for name, package, filename in MALLOC_PACKAGES:
        path = _package_file(package, filename)
        chosen.append(Contender(name, _package_version(package), preload=path,
                                problem="" if path else f"{package} is not installed "
                                "(make bench installs it: checker/deps.sh --bench)"))
    return chosen


def osmem_contender(name: str, osmem: Path, workdir: Path) -> Contender:
    """An os_* implementation: a libosmem.so, or a source directory that builds one."""
    implementation = prepare(osmem, workdir)
    if implementation.lib_dir is None:
        return Contender(name, problem=implementation.problem)
    if implementation.missing:
        return Contender(name, problem="does not define " + ", ".join(implementation.missing))
    return Contender(name, osmem_library=str(Path(implementation.lib_dir) / LIBRARY))

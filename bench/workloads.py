"""The bench's workloads: the kit's own traces (generated here, deterministically), external
malloc-lab traces, and the steady state; what the contract alone says each trace costs.

Invariants:
  - generate() writes the same bytes for the same seed on every machine (random.Random(seed),
    no clock, no hash order): the kit's traces are a function of this file;
  - every generated trace is balanced (each block allocated is freed) and in the malloc-lab
    format bench_replay reads: 4 header lines (suggested heap size, ids, requests, weight),
    then `a ID SIZE`, `r ID SIZE`, `f ID`;
  - the steady state is described, not generated: bench_replay draws its own sizes
    (uniform 8..1024 bytes) from a seed, the same for every contender.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

SEED = 2026
STEADY_SIZES = (8, 1024)   # bench_replay's STEADY_MIN_SIZE, STEADY_MAX_SIZE

# The contract (README, "Which requests are mapped"): os_malloc/os_realloc map a block when
# 32 + ALIGN8(size) >= 128 KiB.
META_SIZE = 32
MMAP_THRESHOLD = 128 * 1024

Request = tuple[str, int, int]   # ("a"|"r"|"f", id, size); size 0 for "f"


@dataclass(frozen=True)
class Workload:
    name: str
    spec: str           # bench_replay's argument: a trace path or steady:N:STEPS:SEED
    kind: str           # "kit", "external" or "steady"
    live: int = 0       # N, for the steady state


def steady(live: int, steps: int, seed: int = SEED) -> Workload:
    return Workload(f"steady N={live}", f"steady:{live}:{steps}:{seed}", "steady", live)


# ---- the kit's traces -------------------------------------------------------------------------

def _binary(rng: random.Random) -> list[Request]:
    """Small and large blocks alternate; the small ones are freed, then larger blocks that fit
    none of the holes are allocated: the fragmentation a segregated fit avoids."""
    count = 2000
    small, large = rng.choice((16, 64)), rng.choice((112, 448))
    ops: list[Request] = []
    for i in range(count):
        ops.append(("a", 2 * i, small))
        ops.append(("a", 2 * i + 1, large))
    ops += [("f", 2 * i, 0) for i in range(count)]
    ops += [("a", 2 * count + i, large + 64) for i in range(count)]
    ops += [("f", 2 * i + 1, 0) for i in range(count)]
    ops += [("f", 2 * count + i, 0) for i in range(count)]
    return ops


def _coalescing(rng: random.Random) -> list[Request]:
    """Two neighbours are freed, then one block as large as both: it fits only once they merge."""
    ops: list[Request] = []
    ident = 0
    for _ in range(1500):
        size = rng.randrange(4095, 8191)
        ops += [("a", ident, size), ("a", ident + 1, size), ("f", ident, 0),
                ("f", ident + 1, 0), ("a", ident + 2, 2 * size), ("f", ident + 2, 0)]
        ident += 3
    return ops


def _random(rng: random.Random) -> list[Request]:
    """Random allocations and frees, sizes uniform in 1..32 KiB."""
    live: list[int] = []
    ops: list[Request] = []
    ident = 0
    while ident < 2400:
        if live and rng.random() < 0.45:
            ops.append(("f", live.pop(rng.randrange(len(live))), 0))
        else:
            ops.append(("a", ident, rng.randrange(1, 32768)))
            live.append(ident)
            ident += 1
    rng.shuffle(live)
    ops += [("f", i, 0) for i in live]
    return ops


def _realloc(rng: random.Random) -> list[Request]:
    """Blocks grow by realloc while small blocks come and go between the growths; one of them
    grows past the mmap threshold, where the contract moves it on every growth."""
    ops: list[Request] = []
    ident = 2
    for grower, limit in ((0, 32 * 1024), (1, 256 * 1024)):
        size = 512
        ops.append(("a", grower, size))
        while size < limit:
            size += rng.choice((512, 1024, 4096))
            ops.append(("r", grower, size))
            ops += [("a", ident, rng.randrange(16, 256)), ("f", ident, 0)]
            ident += 1
        ops.append(("f", grower, 0))
    return ops


def _short(rng: random.Random) -> list[Request]:
    """A handful of requests: what a call costs when nothing is in the heap."""
    sizes = [rng.choice((48, 2040, 4072)) for _ in range(3)]
    return [("a", 0, sizes[0]), ("a", 1, sizes[1]), ("f", 0, 0), ("a", 2, sizes[2]),
            ("f", 1, 0), ("f", 2, 0)]


SHAPES = {"binary": _binary, "coalescing": _coalescing, "random": _random,
          "realloc": _realloc, "short": _short}


def trace_text(ops: list[Request]) -> str:
    live: dict[int, int] = {}
    payload = peak = 0
    for kind, ident, size in ops:
        payload += size - live.pop(ident, 0)
        if kind != "f":
            live[ident] = size
        peak = max(peak, payload)
    ids = len({ident for _, ident, _ in ops})
    lines = [str(peak), str(ids), str(len(ops)), "1"]
    lines += [f"f {i}" if kind == "f" else f"{kind} {i} {size}" for kind, i, size in ops]
    return "\n".join(lines) + "\n"


def generate(directory: Path, seed: int = SEED) -> list[Workload]:
    """Writes the kit's traces to `directory` (kit-<shape>.rep) and returns them."""
    directory.mkdir(parents=True, exist_ok=True)
    made = []
    for index, (shape, make) in enumerate(SHAPES.items()):
        path = directory / f"kit-{shape}.rep"
        path.write_text(trace_text(make(random.Random(seed * 100 + index))))
        made.append(Workload(path.stem, str(path), "kit"))
    return made


def external(directory: Path) -> list[Workload]:
    """The *.rep traces of a directory (TRACES=), by name."""
    paths = sorted(directory.glob("*.rep"))
    if not paths:
        raise ValueError(f"{directory} holds no *.rep trace")
    return [Workload(path.stem, str(path), "external") for path in paths]


# ---- what a trace costs under the contract ----------------------------------------------------

def read_requests(path: Path) -> list[Request]:
    """The requests of a malloc-lab trace (header lines of numbers are skipped)."""
    ops: list[Request] = []
    for line in path.read_text().splitlines():
        words = line.split()
        if not words or words[0].isdigit():
            continue
        ops.append((words[0], int(words[1]), int(words[2]) if len(words) > 2 else 0))
    return ops


def is_mapped(size: int) -> bool:
    return META_SIZE + ((size + 7) & ~7) >= MMAP_THRESHOLD


def mmap_floor(ops: list[Request]) -> int:
    """The mmap + munmap calls any implementation of the contract makes on this trace: a mapped
    block is mapped when allocated, unmapped when freed, and moved (a new block, the old
    mapping unmapped) by every realloc, however small the change."""
    sizes: dict[int, int] = {}
    calls = 0
    for kind, ident, size in ops:
        old = sizes.pop(ident, 0)
        if kind in ("r", "f") and is_mapped(old):
            calls += 1          # munmap of the old mapping
        if kind in ("a", "r") and size and is_mapped(size):
            calls += 1          # mmap of the new block
        if kind != "f":
            sizes[ident] = size
    return calls

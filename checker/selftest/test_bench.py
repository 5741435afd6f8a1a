"""make bench's machinery on tiny workloads, with exact values: the replay driver's checks and
checksum, the brk/mmap calls it makes the kit's library do, its verdicts on broken, hanging
and malformed input, the report's arithmetic and the pictures. No timing decides anything."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from support import ROOT

sys.path.append(str(ROOT / "bench"))
import measure  # noqa: E402
import pictures  # noqa: E402
import tables  # noqa: E402
import workloads  # noqa: E402
from contenders import Contender, malloc_contenders, osmem_contender  # noqa: E402

DRIVER = ROOT / "build" / "bench" / "bench_replay"
KIT = Contender("osmem (kit)", osmem_library=str(ROOT / "src" / "libosmem.so"))
GLIBC = Contender("glibc")

# Block 1 is mapped (32 + 200000 >= 128 KiB); block 0 grows in place by absorbing free space.
TINY = "4\n3\n7\n1\na 0 100\na 1 200000\nr 0 300\nf 1\na 2 40\nf 0\nf 2\n"


@pytest.fixture
def tiny(tmp_path: Path) -> str:
    path = tmp_path / "tiny.rep"
    path.write_text(TINY)
    return str(path)


def run_driver(*args: str) -> subprocess.CompletedProcess[str]:
    assert DRIVER.exists(), f"{DRIVER} is missing: run make"
    return subprocess.run([str(DRIVER), *args], capture_output=True, text=True, timeout=30)


STUBS = {"os_realloc": "void *os_realloc(void *p, size_t n) { (void)n; return p; }\n",
         "os_free": "void os_free(void *p) { (void)p; }\n",
         "os_calloc": "void *os_calloc(size_t a, size_t b) { (void)a; (void)b; return 0; }\n"}


def build_library(directory: Path, malloc: str) -> Path:
    """A libosmem.so whose os_malloc is `malloc` (C, with what it needs above it); the other
    calls are stubs that the tests never reach or that do nothing."""
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / "osmem.c"
    source.write_text("#include <stddef.h>\n#include <unistd.h>\n" + malloc
                      + "".join(STUBS.values()))
    library = directory / "libosmem.so"
    subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", str(library), str(source)],
                   check=True, capture_output=True)
    return library


@pytest.mark.parametrize("contender", [KIT, GLIBC], ids=["kit", "glibc"])
def test_checking_pass_reads_back_every_byte(contender: Contender, tiny: str) -> None:
    outcome = measure.timed_run(DRIVER, contender, tiny, timeout=30, min_seconds=0, budget=1,
                                fill_limit=10)
    assert outcome.ok, outcome.problem
    # patterns 1, 2, 3 by allocation order; r 0 reads 100 bytes before and 100 after the move
    assert outcome.result["checksum"] == 100 * 1 + 100 * 1 + 200000 * 2 + 300 * 1 + 40 * 3
    assert outcome.result["peak_payload"] == 300 + 200000
    assert [calls for calls, _ in outcome.result["passes"]] == [7, 7]


def test_result_names_any_trace_path(tmp_path: Path) -> None:
    path = tmp_path / 'a "quoted" \\ dir' / "t.rep"
    path.parent.mkdir()
    path.write_text(TINY)
    outcome = measure.timed_run(DRIVER, GLIBC, str(path), 30, 0, 1, 10)
    assert outcome.ok and outcome.result["workload"] == str(path), outcome.problem


def test_kit_library_memory_calls_on_a_tiny_trace(tiny: str) -> None:
    outcome = measure.counting_run(DRIVER, KIT, tiny, timeout=30, budget=1, fill_limit=10)
    assert outcome.ok, outcome.problem
    calls = measure.count_memory_calls(outcome.trace, outcome.result["brk_start"])
    # pass 1: brk(0), brk(+128 KiB), mmap, munmap; pass 2 reuses the heap: mmap, munmap
    assert calls.per_pass == {1: 4, 2: 2}
    assert calls.peak_footprint == 128 * 1024 + 32 + 200000
    assert workloads.mmap_floor(workloads.read_requests(Path(tiny))) == 2


def test_overlapping_blocks_are_reported_not_timed(tmp_path: Path, tiny: str) -> None:
    library = build_library(tmp_path, "static char arena[1 << 20] __attribute__((aligned(16)));\n"
                            "void *os_malloc(size_t n) { (void)n; return arena; }\n")
    done = run_driver("--osmem", str(library), tiny)
    assert done.returncode == 3
    assert re.fullmatch(f"bench_replay: {re.escape(tiny)}: pass 1: block 0 \\(100 bytes at "
                        r"0x[0-9a-f]+\) changed: byte 0 is 0x02, expected 0x01 "
                        r"\(overlapping blocks, or contents lost\)\n", done.stderr), done.stderr


def test_null_hang_slowness_and_bad_traces_are_verdicts(tmp_path: Path, tiny: str) -> None:
    null = build_library(tmp_path / "null", "void *os_malloc(size_t n) { (void)n; return 0; }\n")
    outcome = measure.timed_run(DRIVER, Contender("null", osmem_library=str(null)), tiny,
                                30, 0, 1, 10)
    assert outcome.problem == "failed: pass 1: osmem returned NULL for 100 bytes (block 0)"
    hang = build_library(tmp_path / "hang",
                         "void *os_malloc(size_t n) { for (;;) __asm__ volatile(\"\"); }\n")
    outcome = measure.timed_run(DRIVER, Contender("hang", osmem_library=str(hang)), tiny,
                                1, 0, 1, 10)
    assert outcome.problem == "timed out after 1 s"
    slow = build_library(tmp_path / "slow",       # a bump allocator taking 1 ms a call
                         "static char arena[1 << 21] __attribute__((aligned(16)));\n"
                         "static size_t used;\n"
                         "void *os_malloc(size_t n) { usleep(1000); used += (n + 15) & ~15UL;"
                         " return arena + used - ((n + 15) & ~15UL); }\n")
    # the fill checks the clock every 256 blocks: at 256, 256 ms have passed
    done = run_driver("--osmem", str(slow), "--fill-limit", "0.2", "steady:1000:10:1")
    assert (done.returncode, done.stderr) == (4, "bench_replay: steady:1000:10:1: placed only "
                                                 "256 of 1000 blocks in 0.2 s\n")
    bad = tmp_path / "bad.rep"
    bad.write_text("a 0 10\nx 0 10\n")
    outcome = measure.timed_run(DRIVER, GLIBC, str(bad), 30, 0, 1, 10)
    assert outcome.problem == f"bad workload: {bad}:2: unknown request 'x' (a, r or f)"
    freed = tmp_path / "freed.rep"
    freed.write_text("2\n1\n3\n1\na 0 10\nf 0\nf 0\n")
    outcome = measure.timed_run(DRIVER, GLIBC, str(freed), 30, 0, 1, 10)
    assert outcome.problem == f"bad workload: {freed}:7: block 0 is not live"


# A stand-in for bench_replay that answers with its whole environment, as its JSON result.
ENVIRONMENT_PRINTER = "#!/usr/bin/python3\nimport json, os\nprint(json.dumps(dict(os.environ)))\n"
PLAIN = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}
NO_TCACHE = {"GLIBC_TUNABLES": "glibc.malloc.tcache_count=0"}
HEAP_KEPT = {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=18446744073709551615"}


def test_a_contenders_environment_reaches_the_program_in_both_runs(tmp_path: Path) -> None:
    listed = malloc_contenders()
    assert [c.name for c in listed[:3]] == ["glibc", "glibc (no tcache)", "glibc (heap kept)"]
    glibc, no_tcache, heap_kept = listed[:3]
    for variant, tunable in ((no_tcache, NO_TCACHE), (heap_kept, HEAP_KEPT)):
        assert (variant.version, variant.env, variant.preload, variant.osmem_library) == \
            (glibc.version, tuple(tunable.items()), "", ""), variant.name
    assert glibc.version and not glibc.env and "per-thread cache off" in no_tcache.note
    assert "never giving its heap back" in heap_kept.note
    printer = tmp_path / "print-environment"
    printer.write_text(ENVIRONMENT_PRINTER)
    printer.chmod(0o755)
    missing = str(tmp_path / "libmissing.so")     # ld.so says so on stderr and carries on
    preloaded = Contender("preloaded", preload=missing, env=(("A", "1"),))
    for contender, expected in ((glibc, PLAIN), (no_tcache, PLAIN | NO_TCACHE),
                                (preloaded, PLAIN | {"A": "1", "LD_PRELOAD": missing})):
        timed = measure.timed_run(printer, contender, "steady:100:10:1", 30, 0, 1, 10)
        assert (timed.problem, timed.result) == ("", expected), contender.name
        # under strace, which gets the contender's variables as -E and runs on the plain ones
        counted = measure.counting_run(printer, contender, "steady:100:10:1", 30, 1, 10)
        assert (counted.problem, counted.result) == ("", expected), contender.name


LAST_OR_FIRST_FREED = """
import ctypes
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
guard, first, guard_too, last, guard_last = (libc.malloc(1000) for _ in range(5))
libc.free(first)
libc.free(last)
again = libc.malloc(1000)
print({first: "first", last: "last"}.get(again, "neither"))
"""


def test_the_glibc_variants_tunables_take_effect(tmp_path: Path) -> None:
    """glibc ignores a tunable it does not know: each variant must change what it names."""
    # 64 blocks of 16 KiB (1 MiB, above glibc's 128 KiB trim threshold), all freed at the end
    blocks = range(64)
    path = tmp_path / "all-freed.rep"
    path.write_text("0\n64\n128\n1\n" + "".join(f"a {i} 16384\n" for i in blocks)
                    + "".join(f"f {i}\n" for i in blocks))
    glibc, no_tcache, heap_kept = malloc_contenders()[:3]
    pass_two_calls = {}
    for contender in (glibc, heap_kept):
        outcome = measure.counting_run(DRIVER, contender, str(path), timeout=30, budget=1,
                                       fill_limit=10)
        assert outcome.ok, outcome.problem
        calls = measure.count_memory_calls(outcome.trace, outcome.result["brk_start"])
        pass_two_calls[contender.name] = calls.per_pass.get(2, 0)
    # glibc gave its heap back at the end of pass 1 and grows it again; kept, it does not
    assert pass_two_calls["glibc"] > 0 and pass_two_calls["glibc (heap kept)"] == 0
    # with its cache, glibc hands back the block of that size freed last; without, the first
    # freed (its unsorted bin is FIFO). 1000 bytes: above pymalloc's blocks, within the cache's.
    for contender, expected in ((glibc, "last"), (no_tcache, "first")):
        handed = subprocess.run(["/usr/bin/python3", "-c", LAST_OR_FIRST_FREED],
                                env=measure.PLAIN_ENV | contender.environment,
                                capture_output=True, text=True, timeout=30)
        assert handed.stdout.strip() == expected, (contender.name, handed.stderr)


def test_an_unusable_osmem_is_kept_with_its_problem(tmp_path: Path) -> None:
    contender = osmem_contender("OSMEM", tmp_path / "nowhere", tmp_path / "work")
    assert contender.problem == f"{tmp_path / 'nowhere'} does not exist"


def test_strace_lines_counted_between_markers() -> None:
    trace = "\n".join([
        '7 mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7000',  # start-up
        '7 write(-1, "osmem-bench: pass 1 begin", 25) = -1 EBADF (Bad file descriptor)',
        '7 brk(NULL) = 0x1000',
        '7 brk(0x21000) = 0x21000',
        '7 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x9000',
        '7 mremap(0x9000, 4096, 65536, MREMAP_MAYMOVE) = 0xa0000',
        '7 munmap(0xa0000, 65536) = 0',
        '7 write(-1, "osmem-bench: pass 1 end", 23) = -1 EBADF (Bad file descriptor)',
        '7 write(-1, "osmem-bench: pass 2 begin", 25) = -1 EBADF (Bad file descriptor)',
        '7 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0xb000',
        '7 write(-1, "osmem-bench: pass 2 end", 23) = -1 EBADF (Bad file descriptor)',
        '7 munmap(0x7000, 8192) = 0'])
    calls = measure.count_memory_calls(trace, brk_start=0x1000)
    assert calls.per_pass == {1: 5, 2: 1}
    assert calls.peak_footprint == 0x20000 + 65536


def test_report_arithmetic() -> None:
    assert tables.median([3.0, 1.0, 2.0]) == 2.0
    assert tables.median([4.0, 1.0, 2.0, 3.0]) == 2.5
    assert tables.spread([90.0, 100.0, 110.0]) == pytest.approx(0.1)
    assert tables.geomean([1.0, 4.0]) == pytest.approx(2.0)
    # the checking pass (first) is not timed
    assert tables.run_throughput({"passes": [[10, 5.0], [100, 0.5], [300, 1.5]]}) == 200.0
    measured = tables.Cell(peak_payload=50, rss_growth=200, peak_footprint=100, osmem_api=True)
    assert (measured.util_rss, measured.util_mapped) == (0.25, 0.5)
    measured.osmem_api = False      # a malloc contender's arenas predate the passes
    assert measured.util_mapped is None
    kit = workloads.Workload("t", "t.rep", "kit")
    steady = workloads.steady(1000, 10)
    cells = {("glibc", "t"): tables.Cell([100.0, 120.0, 80.0]),
             ("x", "t"): tables.Cell([200.0, 300.0, 250.0]),
             ("glibc", steady.name): tables.Cell([1e6]),
             ("x", steady.name): tables.Cell(problem="timed out after 20 s")}
    assert tables.ratio(cells, "x", "t") == 2.5
    labels = {"glibc": "glibc 2.36", "x": "x 1"}
    mapped = workloads.Workload("mapped", "m.rep", "kit")
    cells |= {("glibc", "mapped"): tables.Cell([10.0]), ("x", "mapped"): tables.Cell([1.0])}
    summary = tables.summary_table(cells, ["glibc", "x"], labels, [kit, mapped, steady],
                                   {"kit": ["t"]}, {"t": 0, "mapped": 5})
    assert summary.splitlines()[0] == ("| | geomean × glibc, kit (1) | mapped (floor: 5 "
                                       "mmap/munmap) | N = 1 000 |")
    assert summary.splitlines()[2:] == ["| glibc 2.36 | 1× | 1× | 1M calls/s |",
                                        "| x 1 | 2.5× | 0.1× | timed out after 20 s |"]
    traces = [kit, mapped, steady]
    assert tables.mean_workloads(traces, {"t": 0, "mapped": 5}, {"t": 10, "mapped": 20}) == ["t"]


def test_pictures_draw_every_measured_cell(tmp_path: Path) -> None:
    bars = pictures.ratio_bars({"a": {"glibc": 1.0, "x": 2.5}, "b": {"glibc": 1.0}},
                               ["glibc", "x"], "ratios")
    root = ET.fromstring(bars)
    ns = "{http://www.w3.org/2000/svg}"
    titles = [r.find(f"{ns}title").text for r in root.iter(f"{ns}rect") if r.get("class") == "bar"]
    assert titles == ["glibc on a: 1× glibc", "x on a: 2.5× glibc", "glibc on b: 1× glibc"]
    lines = pictures.throughput_lines({"glibc": {100: 2e7, 1000: 1e7}, "x": {100: 5e5}}, "N")
    root = ET.fromstring(lines)
    points = [c.find(f"{ns}title").text for c in root.iter(f"{ns}circle")]
    assert points == ["glibc at N = 100: 2e+07 calls/s", "glibc at N = 1000: 1e+07 calls/s",
                      "x at N = 100: 5e+05 calls/s"]
    assert len(list(root.iter(f"{ns}polyline"))) == 1


def test_kit_workloads_are_deterministic_and_balanced(tmp_path: Path) -> None:
    first = workloads.generate(tmp_path / "one")
    second = workloads.generate(tmp_path / "two")
    assert [w.name for w in first] == ["kit-binary", "kit-coalescing", "kit-random",
                                       "kit-realloc", "kit-short"]
    for a, b in zip(first, second):
        text = Path(a.spec).read_text()
        assert text == Path(b.spec).read_text()
        header = text.splitlines()[:4]
        ops = workloads.read_requests(Path(a.spec))
        assert int(header[2]) == len(ops)
        allocated = {i for kind, i, _ in ops if kind == "a"}
        assert allocated == {i for kind, i, _ in ops if kind == "f"}
        assert int(header[1]) == len(allocated)
    realloc = workloads.read_requests(Path(first[3].spec))
    # every growth past 128 KiB maps (and, but the first, unmaps the old mapping); the free unmaps
    grown = sum(1 for kind, _, size in realloc if kind == "r" and workloads.is_mapped(size))
    assert grown > 0 and workloads.mmap_floor(realloc) == grown + (grown - 1) + 1

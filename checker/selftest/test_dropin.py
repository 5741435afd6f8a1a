"""The drop-in malloc (dropin/): libosmem_malloc.so over an os_* library, and make dropin's runner.

* dropin/api_check.c, preloaded with the drop-in over the kit's library, prints the API's edge
  cases as facts; each test here compares its part of that output exactly: alignment of every
  function, overflow (NULL + ENOMEM, the old block intact), realloc(NULL, n), free(NULL),
  invalid alignments (EINVAL), malloc_usable_size, threads allocating concurrently, fork while
  threads allocate; and pointers it never handed out abort the process with glibc's message.
* dropin/dropin.py, the runner of `make dropin`: an os_* library (checker/selftest/dropin/)
  that crashes, hangs, floods its output or calls malloc from inside os_* gets one line saying
  so, within the timeout; a library lacking an os_* function is refused before anything runs;
  a library that writes into the checkout by its path, leaves a process behind and fills its
  working directory changes nothing, leaves nothing and fills only the sandbox's bounded /tmp;
  a correct independent implementation, handed in as a source directory, runs sqlite3 with
  output identical to glibc's; the driver's report on stderr is read back exactly.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import sandbox
from cached import once_per_run
from support import ROOT, SUBMISSIONS, tree_digest

BUILD = ROOT / "build" / "dropin"
DROPIN = BUILD / "libosmem_malloc.so"
API_CHECK = BUILD / "api_check"
RUNNER = ROOT / "dropin" / "dropin.py"
PYTHON_STEP = "`/usr/bin/python3 python_workload.py`"


def run_api_check() -> tuple[int, str, str]:
    done = subprocess.run([str(API_CHECK)], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "LD_PRELOAD": str(DROPIN)})
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def api_output() -> list[str]:
    """api_check's lines, from one run shared by the xdist workers."""
    returncode, stdout, stderr = once_per_run("dropin-api-check", run_api_check)
    assert (returncode, stderr) == (0, "")
    return stdout.splitlines()


def lines_starting(output: list[str], *prefixes: str) -> list[str]:
    return [line for line in output if line.startswith(prefixes)]


def test_malloc_is_the_dropin(api_output: list[str]) -> None:
    assert api_output[0] == "malloc from libosmem_malloc.so"


def test_every_block_is_16_aligned_and_as_large_as_asked(api_output: list[str]) -> None:
    assert lines_starting(api_output, "malloc/", "calloc:", "malloc(0)", "free(NULL)") == [
        "malloc/calloc/realloc(NULL): 105 calls, 0 misaligned, 0 short of the size, "
        "0 blocks corrupted when filled to malloc_usable_size",
        "calloc: 0 nonzero bytes",
        "malloc(0): two distinct pointers",
        "free(NULL): errno 0",
    ]


def test_aligned_functions(api_output: list[str]) -> None:
    assert lines_starting(api_output, "posix_memalign", "aligned_alloc(48", "valloc(10)",
                          "pvalloc(10)", "pvalloc(0)", "memalign(24") == [
        "posix_memalign/aligned_alloc/memalign 16..65536: 195 calls, 0 misaligned, short or "
        "corrupted",
        "valloc(10): page-aligned yes",
        "pvalloc(10): page-aligned yes, usable >= page yes",
        "pvalloc(0): a page-aligned block",
        "memalign(24, 10): 32-aligned yes",
        "posix_memalign(alignment 0) = EINVAL, pointer untouched",
        "posix_memalign(alignment 3) = EINVAL, pointer untouched",
        "posix_memalign(alignment 4) = EINVAL, pointer untouched",
        "posix_memalign(alignment 24) = EINVAL, pointer untouched",
        "posix_memalign(alignment 100) = EINVAL, pointer untouched",
        "aligned_alloc(48, 10) = NULL errno EINVAL",
        "posix_memalign(64, SIZE_MAX) = ENOMEM",
    ]


def test_realloc_keeps_contents(api_output: list[str]) -> None:
    assert lines_starting(api_output, "realloc", "reallocarray(p, 50") == [
        "realloc chain: 14 steps, 0 lost contents, 0 misaligned",
        "realloc(p, 0) = NULL errno 0",
        "realloc of memalign(4096, 3000): grown kept, shrunk kept",
        "realloc(p, SIZE_MAX) = NULL errno ENOMEM, old block intact",
        "reallocarray(p, SIZE_MAX/2, 3) = NULL errno ENOMEM, old block intact",
        "reallocarray(p, 50, 4): contents kept, usable >= 200 yes",
    ]


def test_overflow_is_null_and_enomem(api_output: list[str]) -> None:
    calls = ["malloc(SIZE_MAX)", "malloc(SIZE_MAX - 16)", "malloc((size_t)PTRDIFF_MAX + 1)",
             "calloc(SIZE_MAX / 2, 3)", "calloc(3, SIZE_MAX / 2)",
             "calloc((size_t)1 << 32, (size_t)1 << 32)", "aligned_alloc(4096, SIZE_MAX - 100)",
             "memalign((size_t)1 << 20, SIZE_MAX - 4096)", "valloc(SIZE_MAX)",
             "pvalloc(SIZE_MAX)"]
    assert lines_starting(api_output, *(f"{call} =" for call in calls)) == [
        f"{call} = NULL errno ENOMEM" for call in calls]


def test_threads_allocate_concurrently(api_output: list[str]) -> None:
    assert lines_starting(api_output, "threads:") == [
        "threads: 4 x 10000 operations, 0 corrupted, 0 misaligned, 0 failed"]


def test_fork_while_threads_allocate(api_output: list[str]) -> None:
    assert lines_starting(api_output, "fork ") == [
        "fork with 3 threads allocating: 10 of 10 children allocated and exited 0 "
        "(stops at the first that does not)"]


@pytest.mark.parametrize("case, message", [("free-misaligned", "free(): invalid pointer"),
                                           ("realloc-misaligned", "realloc(): invalid pointer"),
                                           ("free-stack", "free(): invalid pointer")])
def test_invalid_pointer_aborts(case: str, message: str) -> None:
    done = subprocess.run([str(API_CHECK), case], capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin", "LD_PRELOAD": str(DROPIN)})
    assert (done.returncode, done.stdout, done.stderr) == (-signal.SIGABRT, "", message + "\n")


BROKEN = ROOT / "checker" / "selftest" / "dropin"
AFTER = r"after \d+\.\d s"   # how long the program ran: the one part of a verdict not exact
TMP_MIB = sandbox.TMP_SIZE >> 20


def build_os_library(tmp_path: Path, source: str, *defines: str) -> Path:
    """checker/selftest/dropin/<source>, built in `tmp_path` as its libosmem.so."""
    library = tmp_path / "libosmem.so"
    subprocess.run(["gcc", "-Wall", "-Wextra", "-Werror", "-O1", "-fPIC", "-shared",
                    *(f"-D{define}" for define in defines), "-o", str(library),
                    str(BROKEN / source)], check=True, capture_output=True, text=True)
    return library


def run_dropin(osmem: Path, programs: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RUNNER), f"--osmem={osmem}",
                           f"--programs={programs}", f"--timeout={timeout:g}"],
                          capture_output=True, text=True, timeout=timeout + 60)


@pytest.mark.parametrize("kind, verdict", [
    ("segfault", rf"crashed: SIGSEGV in python3 {AFTER} \({re.escape(PYTHON_STEP)}\)"),
    ("hang", re.escape(f"timed out after 3 s (in {PYTHON_STEP})")),
    ("reentrant", rf"crashed: SIGABRT in python3 {AFTER} \({re.escape(PYTHON_STEP)}\): "
                  r"libosmem_malloc: the os_\* library called malloc/free from inside an os_\* "
                  r"call"),
    ("flood", rf"flooded its output: more than 64 MiB, killed {AFTER} "
              rf"\(in {re.escape(PYTHON_STEP)}\)"),
], ids=["segfault", "hang", "reentrant", "flood"])
def test_broken_library_gets_a_one_line_verdict(tmp_path: Path, kind: str, verdict: str) -> None:
    library = build_os_library(tmp_path, "broken.c", f"BREAK_{kind}")
    done = run_dropin(library, "python", timeout=3)
    assert done.returncode == 1
    header, line, summary = done.stdout.splitlines()
    assert header.endswith("(timeout 3 s per program, every run in the sandbox)")
    assert re.fullmatch(f"python   {verdict}", line), line
    assert summary == "0/1 programs identical under the drop-in"


def test_library_lacking_a_function_is_refused(tmp_path: Path) -> None:
    library = build_os_library(tmp_path, "broken.c", "BREAK_no_calloc")
    done = run_dropin(library, "python", timeout=3)
    assert (done.returncode, done.stdout.splitlines()[1:]) == (
        1, ["cannot run: library lacks os_calloc"])


def lingering(name: str) -> list[int]:
    """Processes named `name` now: a run ends only once its sandbox's processes are gone."""
    found = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == name:
                found.append(int(comm.parent.name))
        except OSError:
            pass
    return found


def test_library_cannot_touch_the_checkout_nor_leave_a_process(tmp_path: Path) -> None:
    """tamper.c's constructor writes into the checkout by its path, leaves a child in a session
    of its own and fills its working directory; under make dropin, in the sandbox, the checkout
    is as it was, no process is left, and the directory holds less than the sandbox's /tmp."""
    library = build_os_library(tmp_path, "tamper.c", f'CHECKOUT="{ROOT}"')
    before = tree_digest([])
    done = subprocess.run(["make", "-s", "dropin", f"OSMEM={library}", "TEST=python",
                           "DROPIN_TIMEOUT=10"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    left = lingering("dropin-linger")
    for pid in left:                     # the test's own processes, if the sandbox failed
        os.kill(pid, signal.SIGKILL)
    assert tree_digest([]) == before, "the library changed the checkout"
    assert not (ROOT / "tampered-beside-the-Makefile").exists()
    assert left == [], "a process of the library outlived its run"
    assert done.returncode == 2, done.stdout + done.stderr     # make: the runner exited 1
    verdicts = [line for line in done.stdout.splitlines() if line.startswith("python ")]
    assert len(verdicts) == 1, done.stdout
    verdict = re.fullmatch(rf"python   crashed: SIGABRT in python3 {AFTER} "
                           rf"\({re.escape(PYTHON_STEP)}\): tamper: 0 of 2 writes into the "
                           r"checkout succeeded; (\d+) MiB written of 256", verdicts[0])
    assert verdict, done.stdout
    # Full MiB written until the private /tmp was full (the inputs take part of the last one).
    assert int(verdict[1]) == TMP_MIB - 1


def test_independent_source_dir_runs_sqlite_identically(tmp_path: Path) -> None:
    # The independent submission's source in the course's layout (src/ with its Makefile, the
    # kit's headers in ../utils), not built where it is: test_submissions builds it there.
    shutil.copytree(ROOT / "utils", tmp_path / "utils")
    (tmp_path / "src").mkdir()
    shutil.copy(SUBMISSIONS / "independent" / "osmem.c", tmp_path / "src")
    (tmp_path / "src" / "Makefile").write_text(
        "libosmem.so: osmem.c\n\tgcc -Wall -O2 -fPIC -shared -I../utils -o $@ osmem.c\n")
    done = run_dropin(tmp_path / "src", "sqlite", timeout=120)
    lines = done.stdout.splitlines()
    assert lines[1].startswith("sqlite   identical; time "), done.stdout + done.stderr
    assert (done.returncode, lines[2]) == (0, "1/1 programs identical under the drop-in")


@pytest.fixture(scope="module")
def runner() -> ModuleType:
    """dropin/dropin.py as a module (it is a script, outside the checker's import path)."""
    spec = importlib.util.spec_from_file_location("dropin_runner", RUNNER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_first_difference_names_the_line(runner: ModuleType) -> None:
    assert runner.first_difference(["$ a", "1", "exit 0"], ["$ a", "2", "exit 0"]) == (
        "line 2: glibc '1', drop-in '2'")
    assert runner.first_difference(["$ a", "1", "exit 0"], ["$ a", "1"]) == (
        "line 3: the drop-in output ends there")


def test_driver_report_keeps_the_step_its_stderr_and_cpu(runner: ModuleType) -> None:
    """What the driver writes on stderr around the steps: the last step started, its own
    stderr without the driver's line on its signal, the CPU seconds of `times`' second line."""
    stderr = ("\nosmem-dropin: step 0\n\nosmem-dropin: step 1\nfirst step's\n"
              "\nosmem-dropin: step 2\nfree(): invalid pointer\nAborted\n"
              "osmem-dropin: cpu\n0m0.010000s 0m0.000000s\n1m2.500000s 0m0.250000s\n")
    assert runner.driver_report(stderr, 128 + signal.SIGABRT) == (
        2, "free(): invalid pointer\n", 62.75)
    assert runner.driver_report("\nosmem-dropin: step 1\nhalf a li", None) == (
        1, "half a li", None)
    assert runner.driver_report("", 1) == (None, "", None)

"""The drop-in malloc (dropin/): libosmem_malloc.so over an os_* library, and make dropin's runner.

* dropin/api_check.c, preloaded with the drop-in over the kit's library, prints the API's edge
  cases as facts; each test here compares its part of that output exactly: alignment of every
  function, overflow (NULL + ENOMEM, the old block intact), realloc(NULL, n), free(NULL),
  invalid alignments (EINVAL), malloc_usable_size, threads allocating concurrently, fork while
  threads allocate; and pointers it never handed out abort the process with glibc's message.
* dropin/dropin.py, the runner of `make dropin`: an os_* library that crashes, hangs or calls
  malloc from inside os_* gets one line saying so, within the timeout; a library lacking an os_*
  function is refused before anything runs; a correct independent implementation, handed in as
  a source directory, runs sqlite3 with output identical to glibc's.
"""

from __future__ import annotations

import importlib.util
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cached import once_per_run
from support import ROOT, SUBMISSIONS

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


# os_* libraries that break in one way each; the other functions are plain wrappers that are
# never reached (python's first malloc breaks).
BROKEN_MALLOC = {
    "segfault": "*(volatile int *)0 = 1; return 0;",
    "hang": "for (;;) pause();",
    "reentrant": "return malloc(size);",
}


def build_os_library(tmp_path: Path, malloc_body: str, functions: tuple[str, ...] = (
        "os_malloc", "os_calloc", "os_realloc", "os_free")) -> Path:
    bodies = {
        "os_malloc": f"void *os_malloc(size_t size) {{ {malloc_body} }}",
        "os_calloc": "void *os_calloc(size_t n, size_t size) { return calloc(n, size); }",
        "os_realloc": "void *os_realloc(void *p, size_t size) { return realloc(p, size); }",
        "os_free": "void os_free(void *p) { free(p); }",
    }
    source = tmp_path / "broken.c"
    source.write_text("#include <stdlib.h>\n#include <unistd.h>\n"
                      + "\n".join(bodies[name] for name in functions) + "\n")
    library = tmp_path / "libosmem.so"
    subprocess.run(["gcc", "-O1", "-fPIC", "-shared", "-o", str(library), str(source)],
                   check=True, capture_output=True, text=True)
    return library


def run_dropin(osmem: Path, programs: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RUNNER), f"--osmem={osmem}",
                           f"--programs={programs}", f"--timeout={timeout:g}"],
                          capture_output=True, text=True, timeout=timeout + 60)


@pytest.mark.parametrize("kind, verdict", [
    ("segfault", f"crashed: SIGSEGV in python3 ({PYTHON_STEP})"),
    ("hang", f"timed out after 3 s (in {PYTHON_STEP})"),
    ("reentrant", f"crashed: SIGABRT in python3 ({PYTHON_STEP}): libosmem_malloc: the os_* "
                  "library called malloc/free from inside an os_* call"),
])
def test_broken_library_gets_a_one_line_verdict(tmp_path: Path, kind: str, verdict: str) -> None:
    library = build_os_library(tmp_path, BROKEN_MALLOC[kind])
    done = run_dropin(library, "python", timeout=3)
    assert done.returncode == 1
    assert done.stdout.splitlines()[1:] == [
        f"python   {verdict}", "0/1 programs identical under the drop-in"]


def test_library_lacking_a_function_is_refused(tmp_path: Path) -> None:
    library = build_os_library(tmp_path, "return 0;", ("os_malloc", "os_realloc", "os_free"))
    done = run_dropin(library, "python", timeout=3)
    assert (done.returncode, done.stdout.splitlines()[1:]) == (
        1, ["cannot run: library lacks os_calloc"])


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


def test_first_difference_names_the_line() -> None:
    spec = importlib.util.spec_from_file_location("dropin_runner", RUNNER)
    assert spec and spec.loader
    runner = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = runner   # its dataclasses look their module up there
    spec.loader.exec_module(runner)
    assert runner.first_difference(["$ a", "1", "exit 0"], ["$ a", "2", "exit 0"]) == (
        "line 2: glibc '1', drop-in '2'")
    assert runner.first_difference(["$ a", "1", "exit 0"], ["$ a", "1"]) == (
        "line 3: the drop-in output ends there")

"""The submission stage: turn OSMEM (a libosmem.so, or a submission's sources) into a library.

OSMEM may be a built library, a directory with a Makefile (a submission directory, or the
course's `src/`), or a repository root whose Makefile is in `src/`. Sources are never built
where they are: they are copied (regular files and links only, build products left out, size
capped) into a scratch tree laid out as the course lays out a repository,

    scratch/src/                        the submission (its Makefile runs here)
    scratch/utils/                      the kit's utils/: osmem.h, block_meta.h, printf.h/.c
    scratch/tests/snippets/test-utils.h the course's DIE macro, without stdio

and `make` runs there inside the sandbox (sandbox.py), with a time limit and its output capped
(its first and last bytes kept, OUTPUT_KEPT in all, the rest counted; stopped past
OUTPUT_LIMIT). What it produced is checked before use:
a regular file, an ELF shared object for this machine, below LIBRARY_SIZE_LIMIT. The library is
then copied alone into a fresh directory that becomes the programs' LD_LIBRARY_PATH.

A build failure, a missing or malformed library or missing API symbols are not errors of the
checker: they are recorded as the implementation's problem (one line, for every row) and its
details (the build's first error lines and a hint for known causes).
"""

from __future__ import annotations

import json
import os
import platform
import re
import select
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import sandbox
from once import once
from report import printable
from run import end_group

API = ("os_malloc", "os_calloc", "os_realloc", "os_free")
LIBRARY = "libosmem.so"
KIT = Path(__file__).resolve().parent.parent
COURSE_HEADER = KIT / "checker" / "test-utils.h"
BUILD_TIMEOUT = 180.0
BUILD_LIMITS = sandbox.Limits(cpu_seconds=int(BUILD_TIMEOUT), processes=64)
OUTPUT_KEPT = 64 * 1024               # bytes of the build's output kept (the rest is counted)
OUTPUT_LIMIT = 16 << 20               # a build that prints more is stopped
SUBMISSION_SIZE_LIMIT = 64 << 20      # bytes of sources copied at most
LIBRARY_SIZE_LIMIT = 32 << 20
ERROR_LINES = 10
BUILD_PRODUCTS = ("*.o", "*.so", "*.a", ".git")
ELF_MACHINES = {"x86_64": 62, "aarch64": 183}   # e_machine of this machine's shared objects
ET_DYN = 3

# Lines of a build log that say what went wrong (compiler, assembler, linker, make).
ERROR_MARKS = (" error: ", "error: ", "fatal error", "undefined reference", "multiple definition",
               "collect2:", "/ld: ", "ld: ", "*** ", "No such file or directory", "Error ")
HINTS = (                             # (a regex of the cause, the hint)
    ("multiple definition of",
     "hint: a global variable is defined in a header that several .c files include (gcc >= 10 "
     "builds with -fno-common): declare it `extern` in the header and define it in one .c file, "
     "or add -fcommon to CFLAGS"),
    (r"fatal error: .*No such file or directory",
     "hint: the kit provides ../utils/osmem.h, ../utils/block_meta.h, ../utils/printf.h (and "
     "printf.c) and ../tests/snippets/test-utils.h; any other file must be in the submission"),
    ("undefined reference to",
     "hint: a function is declared but not defined in what the Makefile links (a .c file "
     "missing from the link line?)"),
    ("No targets specified and no makefile found",
     "hint: the Makefile must be in the submission directory, or in its src/"),
    ("No rule to make target",
     "hint: the Makefile names a file the submission does not have"),
)


@dataclass(frozen=True)
class Implementation:
    source: str
    lib_dir: str | None          # directory holding only libosmem.so; None when unusable
    problem: str = ""            # why it cannot be graded at all ("does not build: ...")
    missing: tuple[str, ...] = ()  # API symbols the library does not define
    details: str = ""            # the build's first error lines and hints, when it failed

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @staticmethod
    def from_json(text: str) -> "Implementation":
        data = json.loads(text)
        data["missing"] = tuple(data["missing"])
        return Implementation(**data)


@dataclass(frozen=True)
class Build:
    returncode: int | None       # None: stopped (time limit, or output limit: `flooded`)
    output: str                  # its first and last bytes (OUTPUT_KEPT in all)
    dropped: int                 # bytes printed between those, not kept
    flooded: bool = False        # stopped for printing more than OUTPUT_LIMIT bytes


def error_lines(output: str, scratch: Path) -> list[str]:
    """The build's first error lines (at most ERROR_LINES), scratch paths made relative."""
    prefix = f"{scratch}/src/"
    lines = [printable(line.replace(prefix, "").replace(f"{scratch}/", "../")).rstrip()
             for line in output.splitlines()]
    errors = [line for line in lines if line.strip() and any(m in line for m in ERROR_MARKS)
              and not line.endswith("(ignored)")]
    return (errors or [line for line in lines if line.strip()][-ERROR_LINES:])[:ERROR_LINES]


def hints(lines: list[str]) -> list[str]:
    return [hint for cause, hint in HINTS if any(re.search(cause, line) for line in lines)]


def _headline(lines: list[str]) -> str:
    """The one line for the table: the compiler's first error, else the linker's cause (not
    collect2's summary of it), else make's."""
    causes = ((" error: ", "error: "), ("multiple definition", "undefined reference"),
              ERROR_MARKS)
    for marks in causes:
        for line in lines:
            if any(mark in line for mark in marks) and not line.startswith("collect2:"):
                return line.strip()
    return lines[0].strip() if lines else "no output"


# ---- where the sources are and the scratch copy ---------------------------------------------

def _source_dir(osmem: Path) -> Path | None:
    """The directory whose Makefile builds the library: OSMEM itself, or OSMEM/src."""
    for candidate in (osmem, osmem / "src"):
        if (candidate / "Makefile").is_file() or (candidate / "makefile").is_file():
            return candidate
    return None


def _tree_size(root: Path) -> int:
    total = 0
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            info = os.lstat(os.path.join(directory, name))
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
        if total > SUBMISSION_SIZE_LIMIT:
            break
    return total


def _copy_regular_and_links(source: str, target: str, *, follow_symlinks: bool = True) -> None:
    """copytree's copy function: FIFOs, sockets and devices are not copied (reading a FIFO
    would block, a device never ends). make may run what it copies (a script)."""
    if os.path.islink(source) or stat.S_ISREG(os.lstat(source).st_mode):
        with sandbox.writing_files():
            shutil.copy2(source, target, follow_symlinks=False)


def _scratch_tree(sources: Path, scratch: Path) -> None:
    shutil.copytree(sources, scratch / "src", symlinks=True,
                    ignore=shutil.ignore_patterns(*BUILD_PRODUCTS),
                    copy_function=_copy_regular_and_links)
    shutil.copytree(KIT / "utils", scratch / "utils")
    snippets = scratch / "tests" / "snippets"
    snippets.mkdir(parents=True)
    shutil.copyfile(COURSE_HEADER, snippets / "test-utils.h")
    for directory, dirs, files in os.walk(scratch):
        os.chmod(directory, 0o755)
    sandbox.hand_over(scratch)


# ---- the build ------------------------------------------------------------------------------

BUILD_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": "/tmp"}


def _make_command(scratch: Path, launcher: Path, watch: sandbox.EndWatch) -> list[str]:
    launch = sandbox.launcher_command(str(launcher), BUILD_LIMITS,
                                      ["make", "-C", str(scratch / "src")])
    if not sandbox.enabled():
        return launch
    return sandbox.bwrap_command({str(launcher): launcher}, {str(scratch): scratch}, BUILD_ENV,
                                 str(scratch / "src"), tools=True, info_fd=watch.fd) + launch


def _run_build(scratch: Path, launcher: Path) -> Build:
    """make in the scratch tree, in the sandbox (unless SANDBOX=0)."""
    with sandbox.EndWatch(sandbox.enabled()) as watch:
        process = sandbox.popen(_make_command(scratch, launcher, watch),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=BUILD_ENV, cwd=scratch / "src",
                                start_new_session=True, pass_fds=watch.pass_fds,
                                **sandbox.as_sandbox_user())
        watch.started()
        return _read_build(process, watch)


def _read_build(process: subprocess.Popen, watch: sandbox.EndWatch) -> Build:
    """The build, killed at BUILD_TIMEOUT, its output read as it comes (its first and last
    OUTPUT_KEPT / 2 bytes kept, the rest counted; stopped beyond OUTPUT_LIMIT), so a flood
    costs neither memory nor disk, and make's own last words survive it."""
    assert process.stdout is not None
    head, tail, dropped = bytearray(), bytearray(), 0
    deadline = time.monotonic() + BUILD_TIMEOUT
    returncode: int | None = None
    flooded = False
    try:
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([process.stdout], [], [], left)
            if not ready:
                continue
            chunk = os.read(process.stdout.fileno(), 1 << 16)
            if not chunk:
                break
            room = OUTPUT_KEPT // 2 - len(head)
            head += chunk[:room]
            tail += chunk[max(room, 0):]
            if len(tail) > OUTPUT_KEPT // 2:
                dropped += len(tail) - OUTPUT_KEPT // 2
                del tail[:len(tail) - OUTPUT_KEPT // 2]
            if len(head) + len(tail) + dropped > OUTPUT_LIMIT:
                break
        else:
            raise TimeoutError
        flooded = len(head) + len(tail) + dropped > OUTPUT_LIMIT
        if not flooded:
            returncode = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    except (TimeoutError, subprocess.TimeoutExpired):
        returncode = None
    finally:
        end_group(process, watch)
        process.stdout.close()
    cut = f"\n[... {dropped} bytes of output not kept ...]\n" if dropped else ""
    text = (bytes(head).decode("utf-8", "replace") + cut
            + bytes(tail).decode("utf-8", "replace"))
    return Build(returncode, text, dropped, flooded)


def _built_library(tree: Path) -> Path | None:
    """The newest entry named libosmem.so in the tree (not followed through links)."""
    found = []
    for directory, dirs, files in os.walk(tree):
        for name in files + dirs:
            if name == LIBRARY:
                path = Path(directory) / name
                found.append((os.lstat(path).st_mtime, str(path)))
    return Path(max(found)[1]) if found else None


def library_problem(library: Path) -> str:
    """Why `library` cannot be loaded as a graded libosmem.so ("" when it can)."""
    try:
        info = os.lstat(library)
    except OSError as error:
        return f"{library.name} cannot be read: {error.strerror}"
    kinds = ((stat.S_ISLNK, "a symbolic link" + _link_target(library)),
             (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
             (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"))
    for test, kind in kinds:
        if test(info.st_mode):
            return f"{library.name} is {kind}, not a regular file"
    if info.st_size > LIBRARY_SIZE_LIMIT:
        return (f"{library.name} is {info.st_size >> 20} MiB, more than the "
                f"{LIBRARY_SIZE_LIMIT >> 20} MiB a library may be")
    with open(library, "rb") as stream:
        header = stream.read(20)
    machine = platform.machine()
    wanted = ELF_MACHINES.get(machine)
    if (len(header) < 20 or header[:4] != b"\x7fELF" or header[4] != 2 or header[5] != 1
            or int.from_bytes(header[16:18], "little") != ET_DYN
            or (wanted is not None and int.from_bytes(header[18:20], "little") != wanted)):
        return f"{library.name} is not an ELF shared object for {machine}"
    return ""


def _link_target(path: Path) -> str:
    try:
        return f" to {printable(os.readlink(path))}"
    except OSError:
        return ""


def _build(sources: Path, workdir: Path) -> tuple[Path | None, str, str]:
    """(the built library, copied into `workdir`; the problem; its details)."""
    if _tree_size(sources) > SUBMISSION_SIZE_LIMIT:
        return None, (f"does not build: the submission holds more than "
                      f"{SUBMISSION_SIZE_LIMIT >> 20} MiB of files"), ""
    # A fresh directory in /tmp, which the sandbox's user can reach (workdir may not be).
    with tempfile.TemporaryDirectory(prefix="osmem-build-") as tmp:
        top = Path(tmp)
        top.chmod(0o711)
        launcher = top / "launcher"
        sandbox.copy_executable(sandbox.LAUNCHER, launcher)
        scratch = top / "scratch"
        scratch.mkdir(mode=0o755)
        library, problem, details = _build_in(sources, scratch, launcher)
        if library is None:
            return None, problem, details
        kept = workdir / "built" / LIBRARY
        kept.parent.mkdir(parents=True, exist_ok=True)
        with open(library, "rb") as stream:
            kept.write_bytes(stream.read(LIBRARY_SIZE_LIMIT))
        return kept, "", ""


def _build_in(sources: Path, scratch: Path, launcher: Path) -> tuple[Path | None, str, str]:
    _scratch_tree(sources, scratch)
    build = _run_build(scratch, launcher)
    lines = error_lines(build.output, scratch)
    flood = (f"(the build printed {build.dropped + OUTPUT_KEPT} bytes: only the first and "
             f"last {OUTPUT_KEPT // 2} were kept)" if build.dropped else "")
    if build.flooded:
        return None, (f"does not build: the build printed more than {OUTPUT_LIMIT >> 20} MiB "
                      f"and was stopped"), flood
    if build.returncode is None:
        return None, f"does not build: make took longer than {BUILD_TIMEOUT:.0f} s", flood
    if build.returncode != 0:
        details = "\n".join(["the build's first errors:", *lines, *hints(lines), flood])
        return None, f"does not build: {_headline(lines)}", details.strip()
    library = _built_library(scratch / "src")
    if library is None:
        return None, f"does not build: make succeeded but produced no {LIBRARY}", flood
    problem = library_problem(library)
    if problem:
        return None, f"does not build: {problem}", flood
    return library, "", ""


def defined_symbols(library: Path) -> set[str]:
    done = subprocess.run(["nm", "-D", "--defined-only", str(library)], capture_output=True,
                          text=True, timeout=30)
    return {line.split()[-1] for line in done.stdout.splitlines() if line.split()}


def prepare(osmem: Path, workdir: Path) -> Implementation:
    """The implementation OSMEM names, built and checked; whatever goes wrong is its problem
    (every row then reads 0 with it), never an exception."""
    if warning := sandbox.warning():
        print(warning, file=sys.stderr)
    try:
        return _prepare(osmem, workdir)
    except (OSError, shutil.Error, subprocess.SubprocessError) as error:
        return Implementation(str(osmem), None, f"cannot be prepared for grading: "
                                                f"{printable(str(error))[:200]}")


def _prepare(osmem: Path, workdir: Path) -> Implementation:
    source = str(osmem)
    if osmem.is_dir():
        sources = _source_dir(osmem)
        if sources is None:
            return Implementation(source, None, f"{osmem} has no Makefile, neither in itself "
                                                f"nor in its src/")
        library, problem, details = _build(sources, workdir)
        if library is None:
            return Implementation(source, None, problem, details=details)
    elif osmem.exists() or osmem.is_symlink():
        library = osmem
        problem = library_problem(Path(os.path.realpath(osmem)) if osmem.is_symlink()
                                  else osmem)
        if problem:
            return Implementation(source, None, problem)
    else:
        return Implementation(source, None, f"{osmem} does not exist")
    lib_dir = workdir / "lib"
    lib_dir.mkdir(parents=True, exist_ok=True)
    with open(library, "rb") as stream:
        (lib_dir / LIBRARY).write_bytes(stream.read(LIBRARY_SIZE_LIMIT))
    missing = tuple(name for name in API if name not in defined_symbols(lib_dir / LIBRARY))
    return Implementation(source, str(lib_dir), "", missing)


def prepare_shared(osmem: Path, workdir: Path) -> Implementation:
    """prepare() once per `workdir`, whichever of several processes asks first (pytest-xdist
    workers share one workdir)."""
    return once(workdir / "implementation.pickle", lambda: prepare(osmem, workdir))

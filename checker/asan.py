"""`make asan [TEST=...]`: the programs built with -fsanitize=address,undefined, run directly.

The library (build/asan/libosmem.so) poisons, between os_* calls, every header and the payload
of every FREE block (ASan's manual poisoning, src/annotate.h); its own accesses are legal because
each call unpoisons what it walks. The programs are instrumented for writes only
(--param asan-instrument-reads=0): the contract lets them read headers, and memcheck
(`make memcheck`) covers reads. UBSan aborts on the first undefined behaviour.

ASan's own allocator is not the os_* allocator, and its runtime is in the process, so the trace
is not the graded one: what is compared is how each program ends. A graded program must exit 0
with no sanitizer report; a program in tests/misuse/ whose opening comment says
``asan: <report> <READ|WRITE>`` must be stopped by that report (checker/instrument.py runs them
all). Exits 0 when all hold.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import catalogue
import instrument

ROOT = catalogue.ROOT
ASAN_DIR = ROOT / "build" / "asan"
TIMEOUT = 60.0
DECLARATION = re.compile(r"^([a-z-]+)\s+(READ|WRITE)$")
REPORT = re.compile(r"ERROR: AddressSanitizer: ([a-z-]+) on address (0x[0-9a-f]+)")
ACCESS = re.compile(r"^(READ|WRITE) of size (\d+) at .*$", re.MULTILINE)
FRAME = re.compile(r"^\s+#\d+ 0x[0-9a-f]+ in (\S+) (\S+)$", re.MULTILINE)
UBSAN = re.compile(r"^(\S+:\d+:\d+): runtime error: (.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Subject:
    name: str
    binary: Path
    expected: tuple[str, str] | None = None    # (ASan report, READ/WRITE) for a misuse

    @property
    def deliberate(self) -> bool:
        return self.expected is not None


@dataclass
class Outcome(instrument.OfSubject):
    subject: Subject
    status: int | None
    report: str = ""                 # "use-after-poison WRITE of size 1 at main (file:line)"
    kind: tuple[str, str] | None = None

    @property
    def ok(self) -> bool:
        if self.subject.expected:
            return self.kind == self.subject.expected and self.status not in (0, None)
        return self.status == 0 and not self.report


def subjects(only: str | None = None) -> list[Subject]:
    found = [Subject(p.name, ASAN_DIR / "tests" / p.name) for p in catalogue.graded_programs()]
    for source, declared in instrument.declarations("asan"):
        match = DECLARATION.match(declared)
        if not match:
            raise ValueError(f"{source}: 'asan: {declared}' is not '<report> READ|WRITE'")
        found.append(Subject(source.stem, ASAN_DIR / "misuse" / source.stem,
                             (match[1], match[2])))
    return instrument.choose(found, only, "asan")


def summarise(stderr: str) -> tuple[str, tuple[str, str] | None]:
    """The sanitizer report in one line, and (ASan report kind, READ/WRITE)."""
    if match := REPORT.search(stderr):
        access = ACCESS.search(stderr)
        frame = FRAME.search(stderr, access.end() if access else match.end())
        where = f" at {frame[1]} ({Path(frame[2]).name})" if frame else ""
        what = f" {access[0].split(' at ')[0]}" if access else ""
        return f"{match[1]}{what}{where}", (match[1], access[1] if access else "")
    if match := UBSAN.search(stderr):
        return f"undefined behaviour: {match[2]} at {match[1]}", ("undefined", "")
    return "", None


def run(subject: Subject) -> Outcome:
    if not subject.binary.exists():
        return Outcome(subject, None, f"{subject.binary.relative_to(ROOT)} is not built")
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "LD_LIBRARY_PATH": str(ASAN_DIR),
           "ASAN_OPTIONS": "abort_on_error=0:detect_leaks=0:print_legend=0",
           "UBSAN_OPTIONS": "print_stacktrace=1"}
    try:
        done = subprocess.run([str(subject.binary)], env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return Outcome(subject, None, f"timed out after {TIMEOUT:g} s")
    stderr = done.stderr.decode(errors="replace")
    report, kind = summarise(stderr)
    if not report and done.returncode != 0:
        tail = stderr.strip().splitlines()[-1:] or [""]
        report = f"exited with {done.returncode}: {tail[0]}"
    return Outcome(subject, done.returncode, report, kind)


def render(outcome: Outcome) -> str:
    s = outcome.subject
    if s.expected:
        verdict = "caught " if outcome.ok else "MISSED "
        verdict += f"{outcome.report or 'no report'} (expected: {' '.join(s.expected)})"
    else:
        verdict = "passed (exit 0)" if outcome.ok else f"FAILED  {outcome.report}"
    return f"{s.name:<28} {verdict}"


def main() -> int:
    options = instrument.arguments(__doc__.splitlines()[0], "asan").parse_args()
    if not (ASAN_DIR / "libosmem.so").exists():
        print("asan: build/asan/libosmem.so is missing (make asan builds it)")
        return 2
    return instrument.run_and_report("asan", run, subjects(options.test or None), options.jobs,
                                     render)


if __name__ == "__main__":
    sys.exit(main())

"""`make memcheck [TEST=...]`: the test programs under valgrind's memcheck, with os_* blocks visible.

The library is built with -DOSMEM_VALGRIND (src/annotate.h): every os_* block is a memcheck
client block, headers and FREE payloads are inaccessible between calls. Each program runs under
``valgrind --leak-check=full`` with that library, and its errors are sorted into kinds:

  failing (the program is not clean):
    leak                definitely (or indirectly) lost os_* blocks: no pointer to them is left
    use after free      an access inside the payload of a block that was freed
    overflow            a write just past a live block (into the next header) or before it
    uninitialised read  a branch, syscall or address computed from os_malloc bytes never written
    invalid access      any other access to memory the allocator owns but did not hand out
    invalid free        os_free/os_realloc of something that is not a block
  reported, not failing (what the contract allows or what the graded programs do on purpose):
    header read         a 4- or 8-byte read of a header field (size, status): the contract lets
                        programs read their block's header (utils/block_meta.h); the helpers of
                        tests/common.h do it after every call, also on freed blocks
    double free         os_free of a block that is already FREE: rule 13 makes it a no-op
    still allocated     blocks still reachable at exit (valgrind's "still reachable" and
                        "possibly lost"): most graded programs end with live blocks, on purpose

So, as with valgrind's own default (--errors-for-leak-kinds=definite), a block only counts as a
leak when it is definitely lost. The ordinary programs (tests/*.c worth points) must be clean;
the deliberate misuses (tests/misuse/*.c) must show exactly the kinds their opening comment
declares (``memcheck: leak``; checker/instrument.py runs them all). The command exits 0 only
when both hold.

Each program's report ends with the blocks still allocated at exit as the model
(checker/model.py) sees them, stepped over the program's calls (its ref, or its strace trace
with the plain library), and whether memcheck counted as many.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import catalogue
import events
import instrument
from model import ALLOC, Model, ModelError
from normalise import normalise
from parse import TraceError, parse
from run import MARKERS_LIB, run_traced

ROOT = catalogue.ROOT
MEMCHECK_DIR = ROOT / "build" / "memcheck"
SUPPRESSIONS = ROOT / "checker" / "memcheck.supp"
PLAIN_LIB_DIR = ROOT / "src"
ERROR_EXITCODE = 99
TIMEOUT = 180.0

FAILING = ("leak", "use after free", "overflow", "uninitialised read", "invalid access",
           "invalid free")
ALLOWED = ("header read", "double free")
DECLARED = {"leak": "leak", "use-after-free": "use after free", "overflow": "overflow",
            "uninitialised": "uninitialised read"}

_NEAR_BLOCK = re.compile(r"is ([\d,]+) bytes (inside|after|before) a (?:recently re-allocated )?"
                         r"block of size ([\d,]+) (alloc'd|free'd)")
_ACCESS_SIZE = re.compile(r"of size (\d+)")
_NO_BLOCK = ("brk data segment", "anonymous segment", "is not stack'd, malloc'd")


@dataclass(frozen=True)
class Subject:
    name: str
    binary: Path
    expected: frozenset[str]          # failing kinds it must show (empty: must be clean)
    ref: Path | None = None

    @property
    def deliberate(self) -> bool:
        return bool(self.expected)


@dataclass
class Finding:
    kind: str
    text: str                         # valgrind's one-line description
    where: str                        # the innermost frame outside the library and valgrind
    detail: str = ""                  # where the block was allocated/freed, or the origin
    blocks: int = 0                   # leak records: how many blocks


@dataclass
class Report(instrument.OfSubject):
    subject: Subject
    findings: list[Finding] = field(default_factory=list)
    exit_status: int | None = None
    problem: str = ""                 # valgrind could not run or report
    model: str = ""
    model_blocks: int | None = None

    def kinds(self, failing: bool = True) -> set[str]:
        wanted = FAILING if failing else ALLOWED
        return {f.kind for f in self.findings if f.kind in wanted}

    def still_allocated(self) -> int:
        return sum(f.blocks for f in self.findings if f.blocks)

    @property
    def ok(self) -> bool:
        return not self.problem and self.kinds() == set(self.subject.expected)


# ---- the programs ---------------------------------------------------------------------------

def declared_kinds(source: Path, declared: str) -> frozenset[str]:
    words = [w.strip() for w in declared.split(",") if w.strip()]
    unknown = [w for w in words if w not in DECLARED]
    if unknown:
        raise ValueError(f"{source}: unknown kind(s) {unknown}; known: {sorted(DECLARED)}")
    return frozenset(DECLARED[w] for w in words)


def subjects(only: str | None = None) -> list[Subject]:
    found = [Subject(p.name, catalogue.BUILD_DIR / p.name, frozenset(), p.ref)
             for p in catalogue.graded_programs()]
    found += [Subject(source.stem, MEMCHECK_DIR / source.stem, declared_kinds(source, declared))
              for source, declared in instrument.declarations("memcheck")]
    return instrument.choose(found, only, "memcheck")


# ---- valgrind -------------------------------------------------------------------------------

def valgrind_command(binary: Path, xml_file: Path) -> list[str]:
    return ["valgrind", "--tool=memcheck", "--leak-check=full", "--show-leak-kinds=all",
            "--errors-for-leak-kinds=definite", "--track-origins=yes", "--num-callers=16",
            f"--suppressions={SUPPRESSIONS}", f"--error-exitcode={ERROR_EXITCODE}",
            "--xml=yes", f"--xml-file={xml_file}", str(binary)]


def _frames(error: ET.Element, index: int = 0) -> list[ET.Element]:
    stacks = error.findall("stack")
    return stacks[index].findall("frame") if len(stacks) > index else []


def _frame_text(frame: ET.Element) -> str:
    fn = frame.findtext("fn", "???")
    file, line = frame.findtext("file"), frame.findtext("line")
    return f"{fn} ({file}:{line})" if file else fn


def _where(frames: list[ET.Element]) -> str:
    """The innermost frame in the program: not in libosmem, valgrind or libc."""
    for frame in frames:
        obj = frame.findtext("obj", "")
        if "libosmem" in obj or "vgpreload" in obj or "/libc.so" in obj:
            continue
        return _frame_text(frame)
    return _frame_text(frames[0]) if frames else "?"


def _alloc_site(frames: list[ET.Element]) -> str:
    """Where a block was allocated: the first frame calling into os_*."""
    for i, frame in enumerate(frames):
        if frame.findtext("fn", "").startswith("os_"):
            rest = frames[i + 1:]
            return f"{frame.findtext('fn')} called from {_where(rest)}" if rest else \
                frame.findtext("fn", "")
    return _where(frames)


def classify(error: ET.Element) -> Finding | None:
    kind = error.findtext("kind", "")
    what = error.findtext("what") or error.findtext("xwhat/text") or kind
    aux = [a.text or "" for a in error.findall("auxwhat")]
    frames = _frames(error)
    where = _where(frames)
    near = next((m for a in aux if (m := _NEAR_BLOCK.search(a))), None)
    detail = aux[0] if aux else ""
    if kind.startswith("Leak_"):
        blocks = int(error.findtext("xwhat/leakedblocks", "0"))
        size = int(error.findtext("xwhat/leakedbytes", "0"))
        site = _alloc_site(frames)
        if kind in ("Leak_DefinitelyLost", "Leak_IndirectlyLost"):
            return Finding("leak", f"{blocks} block(s), {size} bytes, {kind[5:]}", site,
                           blocks=blocks)
        return Finding("still allocated", f"{blocks} block(s), {size} bytes, {kind[5:]}", site,
                       blocks=blocks)
    if kind.startswith("Uninit") or (kind == "SyscallParam" and "uninit" in what):
        origin = next((a for a in aux if "created by" in a), "")
        if len(error.findall("stack")) > 1 and origin:
            origin += ": " + _alloc_site(_frames(error, 1))
        return Finding("uninitialised read", what, where, origin)
    if kind in ("InvalidRead", "InvalidWrite"):
        size_match = _ACCESS_SIZE.search(what)
        size = int(size_match[1]) if size_match else 0
        if near and near[2] == "inside" and near[4] == "free'd":
            return Finding("use after free", what, where, detail)
        if kind == "InvalidRead" and size in (4, 8):
            # The header's size (offset 0) or status (offset 8): of the block after a
            # payload, or of the payload's own block (32 or 24 bytes before it).
            if near:
                offset, side = int(near[1].replace(",", "")), near[2]
                if (side == "after" and offset in (0, 8)) or \
                        (side == "before" and offset in (24, 32)):
                    return Finding("header read", what, where, detail)
            elif any(s in detail for s in _NO_BLOCK):
                return Finding("header read", what, where, detail)
        if near and near[4] == "alloc'd" and near[2] in ("after", "before"):
            return Finding("overflow", what, where, detail)
        return Finding("invalid access", what, where, detail)
    if kind == "InvalidFree":
        if near and near[2] == "inside" and near[4] == "free'd":
            return Finding("double free", what, where, detail)
        return Finding("invalid free", what, where, detail)
    return Finding("invalid access", f"{kind}: {what}", where, detail)


def run_memcheck(subject: Subject, lib_dir: Path) -> Report:
    report = Report(subject)
    if not subject.binary.exists():
        report.problem = f"{subject.binary.relative_to(ROOT)} is not built (make memcheck builds it)"
        return report
    with tempfile.TemporaryDirectory(prefix="osmem-memcheck-") as tmp:
        xml_file = Path(tmp) / "memcheck.xml"
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "LD_LIBRARY_PATH": str(lib_dir)}
        try:
            done = subprocess.run(valgrind_command(subject.binary, xml_file), env=env, cwd=tmp,
                                  stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            report.problem = f"timed out after {TIMEOUT:g} s under valgrind"
            return report
        report.exit_status = done.returncode
        try:
            root = ET.parse(xml_file).getroot()
        except (ET.ParseError, FileNotFoundError) as error:
            report.problem = f"valgrind wrote no readable report ({error}): " + \
                done.stderr.decode(errors="replace").strip()[-300:]
            return report
    for error in root.findall("error"):
        finding = classify(error)
        if finding:
            report.findings.append(finding)
    # A crash or abort is a problem unless the program is deliberately buggy.
    if done.returncode not in (0, ERROR_EXITCODE) and not subject.deliberate:
        report.problem = f"the program exited with {done.returncode}"
    return report


# ---- the model's view -----------------------------------------------------------------------

def program_calls(subject: Subject) -> list[events.Call]:
    if subject.ref and subject.ref.exists():
        return events.parse_ref(subject.ref.read_text())
    run = run_traced(subject.binary, PLAIN_LIB_DIR, "strace", MARKERS_LIB, 60.0)
    return normalise(parse("strace", run.trace))


def model_view(subject: Subject) -> tuple[str, int | None]:
    """"model: N blocks still allocated at exit: +0x20 (size 16), ..." and N."""
    try:
        calls = program_calls(subject)
    except (TraceError, OSError) as error:
        return f"model: no trace ({error})", None
    model = Model()
    for number, call in enumerate(calls, 1):
        try:
            model.step(call.func, call.args)
        except ModelError as error:
            return f"model: stops at call #{number} {call.func}{call.args}: {error}", None
    names = [f"{b.name()} (size {b.size})" for b in model.snapshot() if b.status == ALLOC]
    names += [f"{events.mapped_addr(n, 32)} (size {size})" for n, size in model.mappings()]
    count = len(names)
    if len(names) > 8:
        names = names[:8] + [f"and {count - 8} more"]
    text = f"model: {count} block{'s' if count != 1 else ''} still allocated at exit"
    return text + (": " + ", ".join(names) if names else ""), count


# ---- the report -----------------------------------------------------------------------------

def check(subject: Subject, lib_dir: Path) -> Report:
    report = run_memcheck(subject, lib_dir)
    report.model, report.model_blocks = model_view(subject)
    return report


def render(report: Report) -> str:
    subject = report.subject
    failing = report.kinds()
    if report.problem:
        verdict = f"PROBLEM  {report.problem}"
    elif subject.deliberate:
        found = ", ".join(sorted(failing)) or "nothing"
        verdict = (f"{'found' if report.ok else 'WRONG'}    {found}"
                   f" (expected: {', '.join(sorted(subject.expected))})")
    else:
        verdict = "clean" if report.ok else f"ERRORS   {', '.join(sorted(failing))}"
    allowed = [f for f in report.findings if f.kind in ALLOWED]
    notes = []
    for kind in ALLOWED:
        n = sum(1 for f in allowed if f.kind == kind)
        if n:
            notes.append(f"{n} {kind}{'s' if n > 1 else ''}")
    if notes:
        verdict += f"  [allowed: {', '.join(notes)}]"
    lines = [f"{subject.name:<28} {verdict}"]
    for f in report.findings:
        if f.kind in FAILING:
            lines.append(f"    {f.kind}: {f.text} at {f.where}")
            if f.detail:
                lines.append(f"        {f.detail}")
    held = report.still_allocated()
    lines.append(f"    memcheck: {held} block{'s' if held != 1 else ''} allocated at exit"
                 + "".join(f"; {f.text} at {f.where}" for f in report.findings
                           if f.kind == "still allocated"))
    agree = ""
    if report.model_blocks is not None and not report.problem:
        agree = " (agrees with memcheck)" if report.model_blocks == held else \
            f" (memcheck counted {held})"
    lines.append(f"    {report.model}{agree}")
    return "\n".join(lines)


def main() -> int:
    parser = instrument.arguments(__doc__.splitlines()[0], "memcheck")
    parser.add_argument("--lib-dir", default=str(MEMCHECK_DIR),
                        help="directory of the annotated libosmem.so")
    options = parser.parse_args()
    chosen = subjects(options.test or None)
    lib_dir = Path(options.lib_dir).resolve()
    if not (lib_dir / "libosmem.so").exists():
        print(f"memcheck: {lib_dir}/libosmem.so is missing (make memcheck builds it)")
        return 2
    return instrument.run_and_report("memcheck", lambda s: check(s, lib_dir), chosen,
                                     options.jobs, render)


if __name__ == "__main__":
    sys.exit(main())

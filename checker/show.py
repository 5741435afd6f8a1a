"""``make show``: pictures of the heap, call by call, in the terminal and as an HTML page.

Usage (``make show TEST=<program>`` / ``make show OPS=<script>`` run this)::

    show.py (--program NAME | --ops SCRIPT) [--osmem PATH] [--tracer strace|ltrace]
            [--run-timeout S] [--out DIR]

The program (or ``tests/replay`` with the script) runs under the tracer with the chosen
library (stages 0-3 of the pipeline, via ``grade.observe``). The expected trace is the
program's ref, or for a script the model's prediction of it (``opscript.Simulation``).

* The terminal timeline has one row per call: the call and its syscalls, then the heap as
  labelled cells in address order (``[A 1000]`` ALLOC, ``[F 2032]`` FREE, ``[? 64]`` unknown,
  ``[M 131072]`` mapped; ``*`` marks the block the call returned or took), coloured when stdout
  is a terminal and ``NO_COLOR`` is unset. From the first divergence on, each row shows the
  expected and the actual side, preceded by the explanation (``explain.py``).
* The HTML page (``build/show/<name>.html``, self-contained: inline CSS and JS, no network) has
  one frame per call with a slider and previous/next buttons; blocks are drawn in proportion
  to their size, with the address and size in the label and on hover; from the divergence on,
  expected and actual are side by side. Its path is printed last.

The actual side is the model's heap while the traces agree; after the divergence the model
cannot follow the implementation, so the heap is drawn from what the trace shows
(``heapview.Tracker``) and the page and the timeline say so.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import shutil
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import catalogue
import events
from compare import first_divergence
from explain import explain
from grade import Settings, expected_calls, observe, outcome_of
from heapview import ALLOC, FREE, MAPPED, UNKNOWN, Cell, Frame, actual_frames, model_frames
from model import ModelError
from opscript import Simulation, parse_script
from run import MARKERS_LIB, TRACERS
from submission import prepare

ROOT = catalogue.ROOT
SHOW_DIR = ROOT / "build" / "show"
TEMPLATE = Path(__file__).with_name("show_page.html")
LETTERS = {ALLOC: "A", FREE: "F", UNKNOWN: "?", MAPPED: "M"}
COLOURS = {ALLOC: "\033[30;42m", FREE: "\033[30;47m", UNKNOWN: "\033[30;43m",
           MAPPED: "\033[30;46m"}
RESET = "\033[0m"
INDENT = "        "
TERMINAL_ROWS_AFTER = 4     # rows past the first divergence in the terminal (the page has all)


@dataclass(frozen=True)
class Picture:
    """Everything drawn: the expected and the actual frames and the first divergence."""

    title: str
    expected: list[Frame]
    actual: list[Frame]
    divergence: int | None
    explanation: str = ""
    problem: str = ""        # how the program ended, when that alone fails it

    @property
    def length(self) -> int:
        return max(len(self.expected), len(self.actual))

    def diverged(self, index: int) -> bool:
        return self.divergence is not None and index >= self.divergence


def picture(title: str, expected: list[events.Call], actual: list[events.Call],
            problem: str = "") -> Picture:
    """The frames of both traces; pure (no I/O), for the tests and for main()."""
    divergence = first_divergence(expected, actual)
    explanation = explain(expected, actual, divergence) if divergence is not None else ""
    frames, _ = model_frames(expected)
    return Picture(title, frames, actual_frames(actual, divergence), divergence, explanation,
                   problem)


# ---- the terminal timeline -------------------------------------------------------------------

def _cell_text(cell: Cell, colour: bool) -> str:
    mark = "*" if cell.touched else ""
    name = f" {cell.short()}" if cell.kind == MAPPED else ""
    text = f"[{LETTERS[cell.kind]}{mark} {cell.size}{name}]"
    if not colour:
        return text
    bold = "\033[1m" if cell.touched else ""
    return f"{COLOURS[cell.kind]}{bold}{text}{RESET}"


def _wrap(label: str, cells: list[str], widths: list[int], width: int) -> list[str]:
    """``label`` then the cells, wrapped on cell boundaries at ``width`` visible columns."""
    lines, line, used = [], INDENT + label, len(INDENT + label)
    for text, size in zip(cells, widths):
        if used + size > width and used > len(INDENT + label):
            lines.append(line)
            line, used = INDENT + " " * len(label), len(INDENT + label)
            size -= len(text) - len(text.lstrip(" "))
            text = text.lstrip(" ")
        line, used = line + text, used + size
    lines.append(line)
    return lines


def _heap_lines(frame: Frame, colour: bool, width: int) -> list[str]:
    lines: list[str] = []
    if frame.heap:
        cells = [_cell_text(c, colour) for c in frame.heap]
        widths = [len(_cell_text(c, False)) for c in frame.heap]
        if frame.heap_break is not None:
            cells.append(f"  break {events.heap_addr(frame.heap_break)}")
            widths.append(len(cells[-1]))
        lines += _wrap("heap ", cells, widths, width)
    else:
        lines.append(INDENT + "heap (none yet)")
    if frame.maps:
        plain = [_cell_text(c, False) for c in frame.maps]
        lines += _wrap("mmap ", [_cell_text(c, colour) for c in frame.maps],
                       [len(p) for p in plain], width)
    return lines


def _side_lines(label: str, frame: Frame | None, colour: bool, width: int) -> list[str]:
    if frame is None:
        return [f"    {label}(no such call)"]
    lines = [f"    {label}{frame.call.head()}"]
    lines += [INDENT + syscall for syscall in frame.call.syscalls]
    return lines + _heap_lines(frame, colour, width)


def timeline(pic: Picture, colour: bool = False, width: int = 100) -> str:
    """The terminal timeline: a legend, then one row per call."""
    lines = [f"osmem show: {pic.title}",
             "legend: [A size] ALLOC  [F size] FREE  [? bytes] unknown  [M size address] mapped",
             "        * = the block the call returned or took; sizes are payload bytes"]
    if pic.explanation:
        lines += ["", pic.explanation, ""]
    noted = False
    for index in range(pic.length):
        want = pic.expected[index] if index < len(pic.expected) else None
        got = pic.actual[index] if index < len(pic.actual) else None
        if not pic.diverged(index):
            frame = got or want
            assert frame is not None
            lines.append(f"#{index + 1:<3}" + _side_lines("", frame, colour, width)[0][4:])
            lines += _side_lines("", frame, colour, width)[1:]
            continue
        if got is not None and got.note and not noted:
            lines.append(textwrap.fill(f"({got.note})", width, initial_indent="    ",
                                       subsequent_indent="     "))
            noted = True
        if index >= (pic.divergence or 0) + TERMINAL_ROWS_AFTER:
            rest = pic.length - index
            lines.append(f"... {rest} more call(s): usually echoes of the first difference "
                         "(the page shows every call)")
            break
        mark = " differs" if index == pic.divergence else ""
        lines.append(f"#{index + 1}{mark}")
        lines += _side_lines("expected  ", want, colour, width)
        lines += _side_lines("actual    ", got, colour, width)
    if pic.problem:
        lines.append(f"the program: {pic.problem}")
    return "\n".join(lines)


# ---- the HTML page ---------------------------------------------------------------------------

def _cell_data(cell: Cell) -> dict[str, object]:
    return {"k": cell.kind, "a": cell.address, "s": cell.size, "h": cell.header,
            "t": cell.touched, "n": cell.short()}


def _side_data(frame: Frame | None) -> dict[str, object] | None:
    if frame is None:
        return None
    return {"call": frame.call.head(), "syscalls": list(frame.call.syscalls),
            "heap": [_cell_data(c) for c in frame.heap], "maps": [_cell_data(c) for c in frame.maps],
            "brk": events.heap_addr(frame.heap_break) if frame.heap_break is not None else None,
            "note": frame.note}


def page_data(pic: Picture) -> dict[str, object]:
    frames = []
    for index in range(pic.length):
        want = pic.expected[index] if index < len(pic.expected) else None
        got = pic.actual[index] if index < len(pic.actual) else None
        same = not pic.diverged(index)
        frames.append({"n": index + 1, "same": same,
                       "expected": _side_data(want if not same else (got or want)),
                       "actual": None if same else _side_data(got)})
    return {"title": pic.title, "divergence": pic.divergence, "explanation": pic.explanation,
            "problem": pic.problem, "frames": frames}


def html_page(pic: Picture) -> str:
    """The self-contained page: the template with the frames' data inlined."""
    data = json.dumps(page_data(pic)).replace("</", "<\\/")
    return (TEMPLATE.read_text().replace("__TITLE__", html.escape(pic.title))
            .replace("__DATA__", data))


# ---- running a program -----------------------------------------------------------------------

def _script_expectation(script: Path) -> list[events.Call]:
    """The model's prediction of a replay script, as far as the contract defines it."""
    simulation = Simulation()
    calls: list[events.Call] = []
    for _, op in parse_script(script.read_text()):
        try:
            calls.append(simulation.apply(op))
        except ModelError:
            break
    return calls


def observed_picture(options: argparse.Namespace, workdir: Path) -> Picture:
    implementation = prepare(Path(options.osmem).resolve(), workdir)
    if implementation.problem or implementation.lib_dir is None:
        raise SystemExit(f"show: {implementation.problem}")
    settings = Settings(options.tracer, MARKERS_LIB, options.run_timeout)
    if options.ops:
        script = Path(options.ops).resolve()
        program = catalogue.Program("replay", 0, (str(script),))
        expected = _script_expectation(script)
        title = f"replay {options.ops}"
    else:
        program = catalogue.program(options.program)
        if not program.ref.exists():
            raise SystemExit(f"show: the kit has no {program.ref.relative_to(ROOT)}: "
                             "run `make refs`")
        expected = expected_calls(program)
        title = options.program
    if not program.binary.exists():
        raise SystemExit(f"show: {program.binary.relative_to(ROOT)} is not built: run `make`")
    seen = observe(program, implementation.lib_dir, settings)
    if seen.unreadable:
        raise SystemExit(f"show: unreadable trace: {seen.unreadable}")
    title += f" with {options.osmem} ({options.tracer})"
    return picture(title, expected, seen.actual, outcome_of(seen.run, seen.ending).text)


def _wants_colour() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--program", help="a test program (tests/<name>.c)")
    which.add_argument("--ops", help="an operation script for tests/replay")
    parser.add_argument("--osmem", default=str(ROOT / "src" / "libosmem.so"))
    parser.add_argument("--tracer", default="strace", choices=TRACERS)
    parser.add_argument("--run-timeout", type=float, default=10.0)
    parser.add_argument("--out", default=str(SHOW_DIR), help="where the page is written")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = _arguments(argv)
    workdir = Path(tempfile.mkdtemp(prefix="osmem-show-"))
    try:
        pic = observed_picture(options, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    width = shutil.get_terminal_size((100, 24)).columns
    print(timeline(pic, _wants_colour(), width))
    name = Path(options.ops).stem if options.ops else options.program
    out = Path(options.out) / f"{'ops-' if options.ops else ''}{name}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html_page(pic))
    print(f"page: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

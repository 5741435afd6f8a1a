"""Tests of make show (checker/show.py, heapview.py, show_page.html).

* The terminal timeline of a real program and of hand-made traces, row by row.
* The heap frames while the traces agree (the model's) and after a divergence (tracked from the
  trace, unknown bytes drawn as such).
* The HTML page rendered by headless Chromium (installed by ``checker/deps.sh --test``, which
  ``make test`` runs): the DOM after the page's script ran has one frame per call and the
  expected block labels, and a screenshot is not blank. The screenshot is kept at
  build/show/selftest-screenshot.png for a human to look at.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest

import show
from events import Call
from heapview import ALLOC, FREE, UNKNOWN
from model import Model
from support import ROOT

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
SCREENSHOT = ROOT / "build" / "show" / "selftest-screenshot.png"


def predicted(*calls: tuple[str, ...]) -> list[Call]:
    model = Model()
    return [model.step(func, tuple(args)) for func, *args in calls]


# Four calls; the actual fourth one returns the tail block instead of the best fit +0x20.
EXPECTED = predicted(("os_malloc", "1000"), ("os_malloc", "1000"),
                     ("os_free", "HeapStart + 0x20"), ("os_malloc", "500"))
ACTUAL = EXPECTED[:3] + [Call("os_malloc", ("500",), "HeapStart + 0x830")]


def rows(text: str) -> list[str]:
    """The timeline without its title line (which names the library's path)."""
    return text.splitlines()[1:]


# ---- the terminal timeline -----------------------------------------------------------------

def test_timeline_of_a_small_program(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")        # the terminal width the rows wrap at
    assert show.main(["--program", "malloc-preallocate", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("osmem show: malloc-preallocate with ")
    assert lines[1:13] == [
        "legend: [A size] ALLOC  [F size] FREE  [? bytes] unknown  [M size address] mapped",
        "        * = the block the call returned or took; sizes are payload bytes",
        "#1  os_malloc(200000) = <mapped-addr1> + 0x20",
        "        mmap(0, 200032, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = "
        "<mapped-addr1>",
        "        heap (none yet)",
        "        mmap [M* 200000 <mapped-addr1> + 0x20]",
        "#2  os_malloc(100) = HeapStart + 0x20",
        "        brk(0) = HeapStart",
        "        brk(HeapStart + 0x20000) = HeapStart + 0x20000",
        "        heap [A* 104][F 130904]  break HeapStart + 0x20000",
        "        mmap [M 200000 <mapped-addr1> + 0x20]",
        "#3  os_malloc(1000) = HeapStart + 0xa8",
    ]
    assert [line for line in lines if line.startswith("#")][-6:] == [
        "#11 os_malloc(30000) = HeapStart + 0x52f0",
        "#12 os_free(HeapStart + 0x20)",
        "#13 os_free(HeapStart + 0x4b0)",
        "#14 os_free(HeapStart + 0x11660)",
        "#15 os_free(HeapStart + 0x11688)",
        "#16 os_free(HeapStart + 0x52f0)",
    ]
    assert "        heap [A 104][F 1000][A 20000][A* 30000][F 19968][A 8][A 8][F 59728]  " \
           "break HeapStart + 0x20000" in lines
    assert "\033[" not in out, "no colour when stdout is not a terminal"
    page = tmp_path / "malloc-preallocate.html"
    assert lines[-1] == f"page: {page}" and page.exists()


def test_timeline_from_the_first_divergence() -> None:
    pic = show.picture("hand-made", EXPECTED, ACTUAL)
    assert pic.divergence == 3
    lines = rows(show.timeline(pic))
    start = lines.index("#4 differs")
    assert lines[start - 2:start] == [
        "    (actual heap after the divergence: drawn from the trace alone (returned addresses, "
        "sizes asked",
        "     for, frees, brk and mmap results); '?' (hatched) is unknown)"]
    assert lines[start:] == [
        "#4 differs",
        "    expected  os_malloc(500) = HeapStart + 0x20",
        "        heap [A* 504][F 464][A 1000][F 128976]  break HeapStart + 0x20000",
        "    actual    os_malloc(500) = HeapStart + 0x830",
        "        heap [F 1000][A 1000][A* 504][? 128472]  break HeapStart + 0x20000",
    ]
    # The explanation comes first, then the rows that agree.
    assert lines[3] == "first difference: call #4 os_malloc(500), rule 9 (best fit)"
    assert "#3  os_free(HeapStart + 0x20)" in lines


def test_colour_only_for_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    pic = show.picture("hand-made", EXPECTED, EXPECTED)
    coloured = show.timeline(pic, colour=True)
    assert "\033[30;42m[A* 1000]" in coloured.replace("\033[1m", "")
    assert "\033[" not in show.timeline(pic, colour=False)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert show._wants_colour()
    monkeypatch.setenv("NO_COLOR", "1")
    assert not show._wants_colour()


def test_frames_agree_with_the_model_then_track_the_trace() -> None:
    pic = show.picture("hand-made", EXPECTED, ACTUAL)
    assert [(c.kind, c.size) for c in pic.expected[3].heap] == \
        [(ALLOC, 504), (FREE, 464), (ALLOC, 1000), (FREE, 128976)]
    assert pic.actual[2] == pic.expected[2]
    tracked = pic.actual[3]
    assert [(c.kind, c.short(), c.size) for c in tracked.heap] == [
        (FREE, "+0x20", 1000), (ALLOC, "+0x428", 1000), (ALLOC, "+0x830", 504),
        (UNKNOWN, "+0xa28", 128472)]
    assert tracked.note and not pic.expected[3].note


def test_rows_wrap_at_the_terminal_width() -> None:
    pic = show.picture("hand-made", EXPECTED, EXPECTED)
    lines = rows(show.timeline(pic, width=60))
    assert lines[-2:] == ["        heap [A* 504][F 464][A 1000][F 128976]",
                          "             break HeapStart + 0x20000"]
    assert max(len(line) for line in lines if line.startswith("        heap")) <= 60


def test_ops_script(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    assert (ROOT / "build" / "tests" / "replay").exists(), "run `make all` first"
    script = tmp_path / "three.ops"
    script.write_text("malloc 0 100\ncalloc 1 1 5000\nfree 0\n")
    assert show.main(["--ops", str(script), "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("#")] == [
        "#1  os_malloc(100) = HeapStart + 0x20",
        "#2  os_calloc(1, 5000) = <mapped-addr1> + 0x20",
        "#3  os_free(HeapStart + 0x20)",
    ]
    assert "        heap [F* 104][F 130904]  break HeapStart + 0x20000" in lines
    assert (tmp_path / "ops-three.html").exists()


# ---- the page in headless Chromium ---------------------------------------------------------

@pytest.fixture(scope="module")
def chromium() -> str:
    """The chromium binary, installed by the kit's dependency script when missing."""
    if shutil.which("chromium") is None:
        subprocess.run([str(ROOT / "checker" / "deps.sh"), "--test"], check=False)
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed: run checker/deps.sh --test as root")
    return path


def run_chromium(binary: str, profile: Path, *arguments: str) -> str:
    done = subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments],
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def page_file(tmp_path: Path) -> Path:
    page = tmp_path / "page.html"
    page.write_text(show.html_page(show.picture("hand-made", EXPECTED, ACTUAL)))
    return page


def test_page_is_self_contained(tmp_path: Path) -> None:
    text = page_file(tmp_path).read_text()
    for remote in ("http://", "https://", "<link", "src="):
        assert remote not in text


def test_page_dom_has_every_frame(chromium: str, tmp_path: Path) -> None:
    dom = run_chromium(chromium, tmp_path / "profile", "--dump-dom",
                       page_file(tmp_path).as_uri())
    assert 'data-ready="yes"' in dom and 'data-frames="4"' in dom
    assert dom.count('<section class="frame') == 4
    assert '<section class="frame diverged current" data-call="4">' in dom
    assert '<span class="addr">+0x830</span><span class="size">ALLOC 504</span>' in dom
    assert '<span class="addr">+0xa28</span><span class="size">? 128472</span>' in dom
    assert "call 4 / 4" in dom
    assert "first difference: call #4 os_malloc(500), rule 9 (best fit)" in dom


def test_page_dom_follows_the_hash(chromium: str, tmp_path: Path) -> None:
    dom = run_chromium(chromium, tmp_path / "profile", "--dump-dom",
                       page_file(tmp_path).as_uri() + "#call=2")
    assert '<section class="frame current" data-call="2">' in dom
    assert "call 2 / 4" in dom


def png_pixels(path: Path) -> list[bytes]:
    """The pixels of an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, b"", b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        header = body if kind == b"IHDR" else header
        chunks += body if kind == b"IDAT" else b""
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0
    channels = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(chunks), width * channels
    previous, pixels = bytearray(stride), []
    for row in range(height):
        kind = raw[row * (stride + 1)]
        line = bytearray(raw[row * (stride + 1) + 1:(row + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                near = min((abs(estimate - left), 0, left), (abs(estimate - up), 1, up),
                           (abs(estimate - corner), 2, corner))[2]
                line[i] = (line[i] + near) & 0xFF
        pixels += [bytes(line[i:i + 3]) for i in range(0, stride, channels)]
        previous = line
    return pixels


def test_page_screenshot_is_not_blank(chromium: str, tmp_path: Path) -> None:
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    run_chromium(chromium, tmp_path / "profile", f"--screenshot={SCREENSHOT}",
                 "--window-size=1280,800", "--hide-scrollbars", page_file(tmp_path).as_uri())
    pixels = png_pixels(SCREENSHOT)
    assert len(pixels) == 1280 * 800
    counts = Counter(pixels)
    assert len(counts) > 50, "a handful of colours: the page did not render"
    assert counts.most_common(1)[0][1] < 0.8 * len(pixels), "mostly one colour: blank"
    green = sum(n for rgb, n in counts.items() if rgb == bytes((0x4c, 0x9a, 0x5f)))
    assert green > 1000, "no ALLOC block drawn"

"""The report stage of the pipeline: the score table, as a course grading harness prints it.

One row per graded program with its points and the one-line reason it failed, then the total.
Reasons may quote what a submission printed: every character that could move the cursor,
redraw a line or ring the terminal is shown escaped (``\\x1b``), so the table on screen is the
table the checker computed. A long reason loses its middle, never its end, where the expected
and actual values stand.
"""

from __future__ import annotations

from dataclasses import dataclass

TOTAL_POINTS = 100
REASON_WIDTH = 160
ELISION = " ... "
SEPARATOR = "; "


@dataclass(frozen=True)
class Row:
    program: str
    points: int
    passed: bool
    reason: str = ""

    @property
    def earned(self) -> int:
        return self.points if self.passed else 0


def printable(text: str) -> str:
    """`text` with control characters (but tab and newline) and DEL shown as escapes."""
    return "".join(c if c.isprintable() or c in "\t\n" else repr(c)[1:-1] for c in text)


def shorten_middle(text: str, width: int = REASON_WIDTH) -> str:
    """One line of at most `width` characters. A reason made of parts joined by "; " (the rule
    broken, then how the program ended) keeps every part: each is shortened in its middle, the
    short ones whole, so that no part loses its end, where its values stand."""
    parts = [" ".join(printable(part).split()) for part in text.split(SEPARATOR)]
    parts = [part for part in parts if part]
    budget = width - len(SEPARATOR) * (len(parts) - 1)
    if sum(map(len, parts)) <= budget:
        return SEPARATOR.join(parts)
    shares = {}
    for index in sorted(range(len(parts)), key=lambda i: len(parts[i])):
        share = budget // (len(parts) - len(shares))
        shares[index] = min(len(parts[index]), share)
        budget -= shares[index]
    return SEPARATOR.join(_elide(part, shares[i]) for i, part in enumerate(parts))


def _elide(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    keep = max(width - len(ELISION), 2)
    head = keep * 2 // 5
    return text[:head] + ELISION + text[len(text) - (keep - head):]


def table(rows: list[Row], title: str) -> str:
    width = max([len(r.program) for r in rows] + [len("program")])
    lines = [printable(title), f"{'program':<{width}}  {'points':>7}  result"]
    for row in sorted(rows, key=lambda r: r.program):
        result = "passed" if row.passed else f"failed  {shorten_middle(row.reason)}"
        lines.append(f"{row.program:<{width}}  {row.earned:>3}/{row.points:<3}  {result}")
    earned = sum(r.earned for r in rows)
    possible = sum(r.points for r in rows)
    total = f"Total: {earned}/{possible}"
    if possible != TOTAL_POINTS:
        total += f"  ({len(rows)} programs run; all programs are worth {TOTAL_POINTS})"
    lines.append(total)
    return "\n".join(lines)

"""Stage 5 of the pipeline: the score table, as a course grading harness prints it.

One row per graded program with its points and the one-line reason it failed, then the total.
"""

from __future__ import annotations

from dataclasses import dataclass

TOTAL_POINTS = 100
REASON_WIDTH = 100


@dataclass(frozen=True)
class Row:
    program: str
    points: int
    passed: bool
    reason: str = ""

    @property
    def earned(self) -> int:
        return self.points if self.passed else 0


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= REASON_WIDTH else text[:REASON_WIDTH - 3] + "..."


def table(rows: list[Row], title: str) -> str:
    width = max([len(r.program) for r in rows] + [len("program")])
    lines = [title, f"{'program':<{width}}  {'points':>7}  result"]
    for row in sorted(rows, key=lambda r: r.program):
        result = "passed" if row.passed else f"failed  {_short(row.reason)}"
        lines.append(f"{row.program:<{width}}  {row.earned:>3}/{row.points:<3}  {result}")
    earned = sum(r.earned for r in rows)
    possible = sum(r.points for r in rows)
    total = f"Total: {earned}/{possible}"
    if possible != TOTAL_POINTS:
        total += f"  ({len(rows)} programs run; all programs are worth {TOTAL_POINTS})"
    lines.append(total)
    return "\n".join(lines)

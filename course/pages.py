"""The pages of a graded class: one feedback page per student, the class summary with its
score histogram (an SVG drawn here, no library), and "where the class struggles".

Everything is read from the checker's JSON (kit.Graded.results): rows, reasons, the full
explanations, and the rule each failure broke (``rule_label``: ``rule 9 (best fit)``, from the
model's decision, never parsed from text); a failure that broke no rule (a crash, a timeout)
is counted by what happened instead.
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass

from kit import Scored

# A failure that names no rule: what happened, from the start of its reason.
OUTCOMES = (("crashed", "crashed"), ("timed out", "timed out"), ("does not build", "does not build"),
            ("library lacks", "missing function"), ("flooded", "output flood"),
            ("program exited", "program stopped with an error"), ("not graded", "not graded"),
            ("unreadable trace", "unreadable trace"))
STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border-bottom: 1px solid #ddd; padding: .25em .7em; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.failed td.result { color: #b00020; font-weight: 600; } tr.passed td.result { color: #1b7a2a; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 13px; }
.total { font-size: 1.4em; font-weight: 700; } .muted { color: #777; }
"""


@dataclass(frozen=True)
class Student(Scored):
    """One student's grade, as the pages need it."""

    name: str
    results: dict
    build: str
    picture: str = ""          # file name of the first failure's heap picture, if made

    @property
    def built(self) -> bool:
        return self.build.startswith("built")


def what_broke(row: dict) -> str:
    """The rule a failed row broke (``rule 9 (best fit)``), or what happened to the program."""
    if row.get("rule_label"):
        return row["rule_label"]
    reason = row["reason"] or ""
    for start, label in OUTCOMES:
        if start in reason.split(";")[0]:
            return label
    return "other difference"


def first_failure(results: dict) -> dict | None:
    """The row a student should look at first: the first failed public program (else hidden)."""
    failed = [row for row in results["programs"] if not row["passed"]]
    public = [row for row in failed if not row["hidden"]]
    return (public or failed or [None])[0]


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n"
            f"<body>\n{body}\n</body></html>\n")


def feedback_page(student: Student) -> str:
    results = student.results
    rows = []
    for row in results["programs"]:
        state = "passed" if row["passed"] else "failed"
        name = html.escape(row["program"]) + (" <span class=muted>(hidden)</span>"
                                              if row["hidden"] else "")
        rows.append(f"<tr class={state}><td>{name}</td>"
                    f"<td class=n>{row['earned']}/{row['points']}</td>"
                    f"<td class=result>{state}</td><td>{html.escape(row['reason'])}</td></tr>")
    first = first_failure(results)
    if first is None:
        explained = "<p>Every program passed.</p>"
    else:
        picture = (f'<p><a href="{html.escape(student.picture)}">The heap, call by call, '
                   f"expected and yours side by side</a> (<code>make show TEST="
                   f"{html.escape(first['program'])}</code>)</p>" if student.picture else "")
        explained = (f"<h2>First failure: {html.escape(first['program'])}</h2>\n{picture}\n"
                     f"<pre>{html.escape(first['details'] or first['reason'])}</pre>")
    body = (f"<h1>osmem: {html.escape(student.name)}</h1>\n"
            f"<p class=total>{student.earned}/{student.possible}</p>\n"
            f"<p>Build: {html.escape(student.build)}. Tracer {html.escape(results['tracer'])}, "
            f"profile {html.escape(results['profile'])}.</p>\n"
            f"<table><tr><th>program</th><th>points</th><th>result</th><th>reason</th></tr>\n"
            + "\n".join(rows) + "</table>\n" + explained)
    return _page(f"osmem feedback: {student.name}", body)


# ---- the class -------------------------------------------------------------------------------

BINS = 10


def histogram_counts(students: list[Student]) -> list[int]:
    """Students per tenth of the possible points: [0, 10%), ... [90%, 100%], 100% included."""
    counts = [0] * BINS
    for student in students:
        share = student.earned / student.possible if student.possible else 0.0
        counts[min(int(share * BINS), BINS - 1)] += 1
    return counts


def histogram_svg(students: list[Student]) -> str:
    counts = histogram_counts(students)
    width, height, left, bottom, top = 560, 260, 40, 40, 20
    bar = (width - left - 10) / BINS
    tallest = max(counts + [1])
    scale = (height - bottom - top) / tallest
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
             f'<title>Score histogram: {len(students)} students</title>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" '
             'stroke="#444"/>']
    for index, count in enumerate(counts):
        x = left + index * bar
        tall = count * scale
        y = height - bottom - tall
        label = f"{index * 10}-{index * 10 + 9}%" if index < BINS - 1 else "90-100%"
        parts.append(f'<rect x="{x + 3:.1f}" y="{y:.1f}" width="{bar - 6:.1f}" '
                     f'height="{tall:.1f}" fill="#3b6ea8"><title>{label}: {count}</title></rect>')
        if count:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" '
                         f'text-anchor="middle">{count}</text>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" '
                     f'text-anchor="middle" font-size="10">{label}</text>')
    parts.append(f'<text x="{left}" y="{height - 6}" font-size="11">share of the possible '
                 'points (students per bar)</text></svg>')
    return "\n".join(parts) + "\n"


@dataclass(frozen=True)
class Struggle:
    program: str
    failed: int            # students (with a library) who failed it
    graded: int            # students with a library
    broke: str             # the rule (or outcome) most often behind it
    broke_count: int


def struggles(students: list[Student], limit: int = 10) -> list[Struggle]:
    """The programs most often failed by students whose library built, each with the rule
    most often broken (on a tie a rule before what happened, e.g. "crashed": the rules are what
    the class has to learn; then the lower rule number)."""
    built = [s for s in students if s.built]
    failures: dict[str, Counter[str]] = {}
    for student in built:
        for row in student.results["programs"]:
            if not row["passed"]:
                failures.setdefault(row["program"], Counter())[what_broke(row)] += 1
    found = []
    for program, causes in failures.items():
        broke, count = sorted(causes.items(), key=lambda item: (
            -item[1], not item[0].startswith("rule "), _rule_number(item[0]), item[0]))[0]
        found.append(Struggle(program, sum(causes.values()), len(built), broke, count))
    found.sort(key=lambda s: (-s.failed, s.program))
    return found[:limit]


def _rule_number(label: str) -> int:
    """9 for ``rule 9 (best fit)``; 0 for what is not a rule."""
    words = label.split()
    return int(words[1]) if len(words) > 1 and words[0] == "rule" and words[1].isdigit() else 0


def summary_page(students: list[Student], svg_name: str) -> str:
    totals = sorted(s.earned for s in students)
    count = len(totals)
    mean = sum(totals) / count if count else 0.0
    median = (totals[(count - 1) // 2] + totals[count // 2]) / 2 if count else 0.0
    not_built = [s for s in students if not s.built]
    struggle_rows = "\n".join(
        f"<tr><td>{html.escape(s.program)}</td><td class=n>{s.failed}/{s.graded}</td>"
        f"<td>{html.escape(s.broke)}</td><td class=n>{s.broke_count}</td></tr>"
        for s in struggles(students))
    student_rows = "\n".join(
        f'<tr><td><a href="{html.escape(s.name)}/feedback.html">{html.escape(s.name)}</a></td>'
        f"<td class=n>{s.earned}/{s.possible}</td><td>{html.escape(s.build)}</td></tr>"
        for s in sorted(students, key=lambda s: s.name))
    body = (f"<h1>osmem: the class</h1>\n"
            f"<p>{count} students; mean {mean:.1f}, median {median:g}; "
            f"{len(not_built)} without a library to grade.</p>\n"
            f'<img src="{html.escape(svg_name)}" alt="score histogram">\n'
            f"<h2>Where the class struggles</h2>\n"
            f"<p class=muted>Programs most often failed by students whose library built, with "
            f"the rule most often broken (as the explanations name it).</p>\n"
            f"<table><tr><th>program</th><th>failed</th><th>most often</th><th>times</th></tr>\n"
            f"{struggle_rows}</table>\n"
            f"<h2>Students</h2>\n<table><tr><th>student</th><th>total</th><th>build</th></tr>\n"
            f"{student_rows}</table>\n<p>gradebook: <a href=\"gradebook.csv\">gradebook.csv</a></p>")
    return _page("osmem: the class", body)

"""The rules of the osmem contract, numbered: the one table the whole kit names rules from.

The model (``model.py``) tags each decision with a rule number, the explanations (``explain.py``)
and the score table name a rule as ``rule 9 (best fit)``, each broken allocator in
``selftest/broken/`` declares the rule it breaks, the test programs end their own failure
messages with ``[rule N]``, and the README's numbered contract is generated from this table:

    /usr/bin/python3 checker/rules.py            # print the README section
    /usr/bin/python3 checker/rules.py --write    # rewrite it in README.md, between its markers

(``selftest/test_rules.py`` fails when the README and this table disagree.)

Two profiles. ``default`` grades what the syscall trace, the returned addresses and the memory
show. ``layout`` (``make check PROFILE=layout``) adds the rules about the contents of the
block_meta header, which the trace cannot see and the course leaves open.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT = "default"
LAYOUT = "layout"
PROFILES = (DEFAULT, LAYOUT)

# The environment variable that carries the profile to the test programs (tests/common.h).
PROFILE_ENV = "OSMEM_PROFILE"


@dataclass(frozen=True)
class Rule:
    number: int
    name: str           # short, for the score table: "best fit"
    sentence: str       # the rule as the README states it (Markdown)
    profile: str = DEFAULT


RULES: tuple[Rule, ...] = (
    Rule(1, "syscalls", "Inside `os_*` only `brk`, `mmap` and `munmap` are made."),
    Rule(2, "preallocation",
         "The first heap use makes `brk(0)`, then `brk(HeapStart + 0x20000)`, leaving one FREE "
         "block of 131040 bytes; this happens once per process, and zero-size or mmap-sized "
         "requests never cause it."),
    Rule(3, "exact growth", "Every later heap growth is a single `brk` by exactly the bytes "
                            "needed."),
    Rule(4, "mapped block",
         "A mapped block is `mmap(NULL, 32 + need, PROT_READ|PROT_WRITE, "
         "MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)` (not rounded to pages), returned as map + 32, and "
         "freed with `munmap` of the same length. Mapped blocks are never in the heap list."),
    Rule(5, "mmap threshold",
         "`os_malloc` and `os_realloc` map a request when `32 + need >= 131072` (131032 is the "
         "largest heap request)."),
    Rule(6, "calloc threshold",
         "`os_calloc(nmemb, size)` maps when `32 + ALIGN8(nmemb * size) >=` the page size "
         "(4096: `calloc(1, 4056)` is on the heap, `calloc(1, 4057)` is mapped)."),
    Rule(7, "zero size",
         "A zero size (`os_malloc(0)`, `os_calloc(0, n)`, `os_calloc(n, 0)`, "
         "`os_realloc(NULL, 0)`) returns NULL and makes no syscall."),
    Rule(8, "coalesce",
         "Before each heap search, every run of adjacent FREE blocks is merged into its first "
         "block (size = sum + 32 per header absorbed); this is the only place besides "
         "`os_realloc`'s own growth where blocks merge."),
    Rule(9, "best fit", "The FREE block with the smallest size `>= need` is taken, the lowest "
                        "address on ties."),
    Rule(10, "split",
         "It is split when `size - need >= 40`: it keeps `need`, and a FREE block of "
         "`size - need - 32` follows it."),
    Rule(11, "grow last FREE",
         "With no fit, if the last heap block is FREE, one `brk` makes it exactly `need` and it "
         "is used."),
    Rule(12, "append", "Otherwise a block is appended at the break with "
                       "`brk(break + 32 + need)`."),
    Rule(13, "free",
         "`os_free(NULL)` does nothing; a mapped block is unmapped; a heap block is marked FREE "
         "with no syscall and no merging; a block that is already FREE stays as it is."),
    Rule(14, "realloc NULL/0/FREE",
         "`os_realloc(NULL, size)` is `os_malloc(size)`; size 0 frees and returns NULL; a FREE "
         "block returns NULL and changes nothing."),
    Rule(15, "mapped block always moves",
         "`os_realloc` of a mapped block always moves it, even to the same size: the new block "
         "is allocated by the malloc rules (it may land on the heap, even causing the "
         "preallocation), `min(old, size)` bytes are copied, and the old mapping is unmapped "
         "last."),
    Rule(16, "realloc to mmap",
         "A heap block whose new size is mmap-sized moves to a new mapping and the old block "
         "becomes FREE (no growth in place first)."),
    Rule(17, "realloc in place",
         "A heap block that already holds `need` is split in place (its tail is not merged with "
         "a free neighbour)."),
    Rule(18, "realloc absorb",
         "Otherwise it absorbs its FREE successors one by one, stopping as soon as it is big "
         "enough, then splits the excess."),
    Rule(19, "realloc brk grow",
         "If still too small and now the last heap block, one `brk` grows it to exactly "
         "`need`."),
    Rule(20, "realloc move",
         "Otherwise it moves: the heap allocation runs while the old block is still allocated "
         "(absorbed blocks stay absorbed), the contents are copied, and the old block becomes "
         "FREE."),
    Rule(21, "memory",
         "Payloads are 8-byte aligned, every byte of a block is usable and no two live blocks "
         "overlap; `os_calloc` memory is zero, also in a reused heap block; `os_realloc` keeps "
         "`min(old, size)` bytes."),
    Rule(22, "header size",
         "A block's header (`struct block_meta`) holds its payload size in `size`: `need` for a "
         "mapped block; `need`, or up to 32 more when the remainder was too small to split, "
         "for a heap block.", LAYOUT),
    Rule(23, "header status",
         "`status` is `STATUS_ALLOC` for a heap block in use, `STATUS_MAPPED` for a mapped "
         "block and `STATUS_FREE` for a freed heap block.", LAYOUT),
    Rule(24, "no merging in os_free",
         "A freed heap block keeps its own header where the splits put it (FREE, same size) "
         "until the next search merges it (rule 8), so the heap list stays in address order "
         "with every block where the rules above place it.", LAYOUT),
)

BY_NUMBER: dict[int, Rule] = {rule.number: rule for rule in RULES}


def rule(number: int) -> Rule:
    return BY_NUMBER[number]


def label(number: int) -> str:
    """``rule 9 (best fit)``; a number outside the table is just ``rule N``."""
    found = BY_NUMBER.get(number)
    return f"rule {number} ({found.name})" if found else f"rule {number}"


def short_name(number: int) -> str:
    """The score table's name for a rule: ``best fit``."""
    found = BY_NUMBER.get(number)
    return found.name if found else f"rule {number}"


def profile_rules(profile: str) -> list[Rule]:
    """The rules a profile grades: the default ones, plus the layout ones under ``layout``."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    return [r for r in RULES if r.profile == DEFAULT or profile == LAYOUT]


# ---- the README section -----------------------------------------------------------------------

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN = ("<!-- rules: generated from checker/rules.py by "
         "`/usr/bin/python3 checker/rules.py --write` -->")
END = "<!-- end of rules -->"


def _row(rule: Rule) -> str:
    # A "|" inside a cell, even in a code span, ends the cell unless escaped.
    return f"| {rule.number} | {rule.name} | {rule.sentence.replace('|', chr(92) + '|')} |"


def markdown() -> str:
    """The numbered contract, as it appears in README.md between BEGIN and END."""
    lines = ["| rule | name | the rule |", "| --- | --- | --- |"]
    lines += [_row(r) for r in RULES if r.profile == DEFAULT]
    lines += ["", "Added by `PROFILE=layout` (the header contents; the default profile never fails "
                  "on them):", "", "| rule | name | the rule |", "| --- | --- | --- |"]
    lines += [_row(r) for r in RULES if r.profile == LAYOUT]
    return "\n".join(lines)


def readme_section(text: str) -> str:
    """What README.md currently has between the markers (ValueError when they are missing)."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md lacks the markers {BEGIN!r} ... {END!r}")
    return text[start + len(BEGIN):end].strip("\n")


def with_section(text: str) -> str:
    """README text with the section between the markers replaced by markdown()."""
    readme_section(text)
    start, end = text.find(BEGIN) + len(BEGIN), text.find(END)
    return f"{text[:start]}\n{markdown()}\n{text[end:]}"


def main(argv: list[str]) -> int:
    if argv == ["--write"]:
        README.write_text(with_section(README.read_text()))
        print(f"rules: {len(RULES)} rules written to {README}")
        return 0
    if argv:
        print("usage: rules.py [--write]", file=sys.stderr)
        return 2
    print(markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

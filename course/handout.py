"""`make handout`: what a student receives, as build/handout/osmem-handout.tar.gz.

The kit cut for students (kit.write_tree): src/ is the skeleton (course/skeleton/: the four
functions, doing nothing yet), the public programs and their refs, the checker, utils/, the
Makefile (check, show, fuzz, replay, refs), the students' README (course/handout-README.md,
with the contract taken from the kit's README),
and the GitHub Classroom workflow with its converter. Hidden programs and their refs, the kit's
own tests (checker/selftest/, which patch the solution) and every file of src/ stay out.

The tarball is reproducible: sorted members under osmem/, fixed times and owners.
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
import tarfile
from pathlib import Path

from kit import COURSE_DIR, ROOT, write_tree

TOP = "osmem"
TARBALL = "osmem-handout.tar.gz"
STUDENT_EXTRAS: dict[str, str | Path] = {
    ".github/workflows/classroom.yml": COURSE_DIR / "classroom.yml",
    "course/classroom.py": COURSE_DIR / "classroom.py",
}


def students_readme() -> str:
    """course/handout-README.md with the kit README's contract and its table of rules in it
    (one text of the contract: the kit's README)."""
    kit = (ROOT / "README.md").read_text()
    start = kit.find("## The contract")
    rules = kit.find("| rule | what |")
    if start < 0 or rules < 0:
        raise SystemExit("handout: README.md has no '## The contract' section or rule table")
    contract = kit[start:kit.find("\n## ", start + 1)].strip()
    table = kit[rules:kit.find("\n\n", rules)].strip()
    template = (COURSE_DIR / "handout-README.md").read_text()
    return template.replace("{{CONTRACT}}", contract).replace("{{RULES}}", table)


def _tar_filter(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def make_handout(out: Path) -> Path:
    tree = out / TOP
    write_tree(tree, include_hidden=False,
               extra={"README.md": students_readme(), **STUDENT_EXTRAS})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in [tree, *sorted(tree.rglob("*"))]:
            tar.add(path, arcname=str(Path(TOP) / path.relative_to(tree)), recursive=False,
                    filter=_tar_filter)
    archive = out / TARBALL
    with open(archive, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as zipped:
        zipped.write(buffer.getvalue())
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "build" / "handout"))
    options = parser.parse_args(argv)
    archive = make_handout(Path(options.out))
    with tarfile.open(archive) as tar:
        count = sum(1 for m in tar if m.isfile())
    print(f"handout: {archive} ({count} files, {archive.stat().st_size // 1024} KiB); "
          f"unpacked at {Path(options.out) / TOP}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Intake: one student's entry (a directory, a .tar.gz, a .zip or a git repository) becomes a
plain tree of files, then a directory the pipeline's prepare() can build.

Everything here treats the entry as hostile: archives are unpacked member by member (regular
files and directories only, no absolute paths, no `..`, bounded in count and size), symlinks and
special files are never followed or copied, git repositories are cloned at HEAD without running
anything of theirs, and every failure is an IntakeError with a one-line reason.

Layouts, in this order (after descending through a single wrapping directory):
  1. a tree with src/*.c (the handout's layout): src/*.c and src/*.h are built with the kit's own
     Makefile, utils/ and export map; the student's other files are ignored;
  2. a directory with a Makefile: built by it (it must produce libosmem.so);
  3. .c files at the top: built like src/ in 1.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kit import ROOT, SKELETON, kit_makefile

MAX_FILES = 5000
MAX_BYTES = 64 * 1024 * 1024
GIT_TIMEOUT = 60.0
ARCHIVES = (".tar.gz", ".tgz", ".zip")
# The staged build makes the library only: the kit's Makefile, with this goal.
LIBRARY_GOAL = "\n# Grading builds the submission's library only.\n.DEFAULT_GOAL := src/libosmem.so\n"


class IntakeError(Exception):
    """The entry cannot be read as a submission (the reason is one line)."""


@dataclass(frozen=True)
class Entry:
    student: str
    path: Path
    kind: str               # "dir", "git", "tar" or "zip"


def _kind(path: Path) -> str | None:
    name = path.name
    if path.is_dir() and not path.is_symlink():
        if (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir()):
            return "git"
        return "dir"
    if path.is_file() and name.endswith((".tar.gz", ".tgz")):
        return "tar"
    if path.is_file() and name.endswith(".zip"):
        return "zip"
    return None


def _stem(name: str) -> str:
    for suffix in (*ARCHIVES, ".git"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[:-len(suffix)]
    return name


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in name).lstrip(".")
    return cleaned or "student"


def entries(folder: Path) -> list[Entry]:
    """Every entry of `folder` but dotfiles, one student each, sorted by name. An entry of an
    unknown kind is still a student (whose intake fails with a reason), never silently lost."""
    found = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    names = [_safe_name(_stem(p.name)) for p in found]
    result = []
    for path, name in zip(found, names):
        student = name if names.count(name) == 1 else _safe_name(path.name)
        result.append(Entry(student, path, _kind(path) or "unknown"))
    return result


class _Budget:
    def __init__(self) -> None:
        self.files = 0
        self.bytes = 0

    def take(self, size: int) -> None:
        self.files += 1
        self.bytes += size
        if self.files > MAX_FILES:
            raise IntakeError(f"more than {MAX_FILES} files")
        if self.bytes > MAX_BYTES:
            raise IntakeError(f"more than {MAX_BYTES >> 20} MiB of files")


def _member_path(dest: Path, name: str) -> Path | None:
    """Where an archive member goes, or None for the archive's own top (`.`, `./`)."""
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts:
        raise IntakeError(f"unsafe path in archive: {name!r}")
    parts = [p for p in pure.parts if p not in ("", ".")]
    return dest.joinpath(*parts) if parts else None


def _write(target: Path, stream, size_hint: int, budget: _Budget, executable: bool) -> None:
    budget.take(size_hint)
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(target, "wb") as out:
        while chunk := stream.read(1 << 16):
            written += len(chunk)
            if written > size_hint or budget.bytes - size_hint + written > MAX_BYTES:
                raise IntakeError(f"{target.name}: larger than the archive says")
            out.write(chunk)
    target.chmod(0o755 if executable else 0o644)


def _untar(archive: Path, dest: Path) -> None:
    budget = _Budget()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                target = _member_path(dest, member.name)
                if target is None or member.isdir():
                    if target is not None:
                        target.mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isfile():
                    continue                # links, devices, fifos: never unpacked
                stream = tar.extractfile(member)
                if stream is not None:
                    _write(target, stream, member.size, budget, bool(member.mode & 0o111))
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise IntakeError(f"unreadable .tar.gz: {error}") from error


def _unzip(archive: Path, dest: Path) -> None:
    budget = _Budget()
    try:
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                target = _member_path(dest, info.filename)
                mode = info.external_attr >> 16
                if target is None or info.is_dir():
                    if target is not None:
                        target.mkdir(parents=True, exist_ok=True)
                    continue
                if mode and not stat.S_ISREG(mode):
                    continue                # symlinks stored in the zip: never unpacked
                with zipped.open(info) as stream:
                    _write(target, stream, info.file_size, budget, bool(mode & 0o111))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, zlib.error) as error:
        raise IntakeError(f"unreadable .zip: {error}") from error


def _copy_tree(source: Path, dest: Path) -> None:
    """Regular files and directories only (no symlink is followed or copied), .git left out."""
    budget = _Budget()
    dest.mkdir(parents=True, exist_ok=True)
    for top, dirs, files in os.walk(source, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != ".git" and not os.path.islink(os.path.join(top, d)))
        relative = Path(top).relative_to(source)
        for name in sorted(files):
            path = Path(top) / name
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode):
                continue
            target = dest / relative / name
            with open(path, "rb") as stream:
                _write(target, stream, info.st_size, budget, bool(info.st_mode & 0o111))


def _clone(repository: Path, dest: Path) -> None:
    """The repository's HEAD, cloned without its hooks, config or submodules."""
    with tempfile.TemporaryDirectory(prefix="osmem-clone-") as tmp:
        clone = Path(tmp) / "clone"
        env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "GIT_TERMINAL_PROMPT": "0",
               "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"}
        try:
            done = subprocess.run(["git", "-c", "safe.directory=*", "clone", "-q", "--no-hardlinks",
                                   "--", str(repository.resolve()), str(clone)],
                                  capture_output=True, text=True, env=env, timeout=GIT_TIMEOUT,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as error:
            raise IntakeError(f"git clone took longer than {GIT_TIMEOUT:.0f} s") from error
        if done.returncode != 0:
            message = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise IntakeError(f"git clone failed: {message}")
        _copy_tree(clone, dest)


def materialise(entry: Entry, dest: Path) -> None:
    """Unpacks or copies the entry into `dest` (created anew)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if entry.kind == "dir":
        _copy_tree(entry.path, dest)
    elif entry.kind == "git":
        _clone(entry.path, dest)
    elif entry.kind == "tar":
        _untar(entry.path, dest)
    elif entry.kind == "zip":
        _unzip(entry.path, dest)
    else:
        raise IntakeError(f"{entry.path.name} is not a directory, .tar.gz, .zip or git repository")


def tree_hash(tree: Path) -> str:
    """A fingerprint of the files of `tree` (paths, executable bits, contents)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in tree.rglob("*") if p.is_file() and not p.is_symlink()):
        executable = b"x" if path.stat().st_mode & 0o111 else b"-"
        digest.update(str(path.relative_to(tree)).encode() + b"\0" + executable + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _top(tree: Path) -> Path:
    """Through directories that hold nothing but one directory (an archive's wrapper)."""
    while True:
        children = list(tree.iterdir())
        if len(children) == 1 and children[0].is_dir() and not children[0].is_symlink():
            tree = children[0]
        else:
            return tree


def _stage_sources(sources: Path, dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "src").mkdir(parents=True)
    for path in sorted(sources.iterdir()):
        if path.suffix in (".c", ".h") and path.is_file() and not path.is_symlink():
            shutil.copyfile(path, dest / "src" / path.name)
    shutil.copyfile(SKELETON / "libosmem.map", dest / "src" / "libosmem.map")
    shutil.copytree(ROOT / "utils", dest / "utils")
    (dest / "Makefile").write_text(kit_makefile() + LIBRARY_GOAL)
    return dest


def stage(tree: Path, dest: Path) -> tuple[Path, str]:
    """The directory to build for `tree`, and the layout found (see the module's docstring)."""
    top = _top(tree)
    if (top / "src").is_dir() and any((top / "src").glob("*.c")):
        return _stage_sources(top / "src", dest), "src/ built with the kit's Makefile"
    if (top / "Makefile").is_file():
        return top, "its own Makefile"
    if any(top.glob("*.c")):
        return _stage_sources(top, dest), "*.c built with the kit's Makefile"
    raise IntakeError("no sources: expected src/*.c, a Makefile, or .c files")

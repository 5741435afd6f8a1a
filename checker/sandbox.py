"""The sandbox everything a submission runs in: its build, and every traced program.

A bubblewrap (bwrap) container: new user, pid, ipc, net, uts and cgroup namespaces; an
unprivileged uid (the host's `nobody` when the checker runs as root); a read-only view of the
system (/usr; a build also gets /bin, /lib, /proc, /dev) and of the few files the run needs, at
their host paths;
a private /tmp of bounded size; no environment but what the run sets. The kit's checkout, its
tests/ref/, checker/, and other runs' files are not visible inside. bwrap dies with its parent
(the tracer, or the checker for a build), and with it the sandbox's pid namespace: a run ends
only once every process it started is gone, setsid() or not (EndWatch).

Inside, the kit's launcher (checker/launcher.c) sets the resource limits and the seccomp filter
before it execs the command, so the limits count the sandbox's processes only.

The files a run or a build executes are copies the checker writes, so it never forks while
writing one (copy_executable, writing_files, popen): a child forked meanwhile would hold the copy
open for writing, and an exec of it fail with "Text file busy".

SANDBOX=0 in the environment runs without bwrap (for machines that cannot create namespaces):
every run then prints a warning; the launcher's limits and filter still apply.
"""

from __future__ import annotations

import json
import math
import os
import pwd
import select
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = ROOT / "build" / "osmem-launcher"
DISABLE_VARIABLE = "SANDBOX"
UNPRIVILEGED_USER = "nobody"
SANDBOX_UID = 65534
TMP_SIZE = 64 * 1024 * 1024            # bytes of the private /tmp
WARNING = ("osmem: WARNING: SANDBOX=0: the submission runs without the sandbox, as your user, "
           "with your files; its grade can be forged. Grade only code you trust this way.")


# A process forked while another thread has a file open for writing holds that file open until
# its own exec, and an exec of the file in that window fails with ETXTBSY ("Text file busy").
# Runs and builds started from several threads at once (course/grade_all.py, the kit's
# self-tests) copy executables and fork side by side, so both take this lock: a copy is closed
# before any fork, and a fork has exec'd (subprocess.Popen returns only then) before the next
# copy opens. Seen as "bwrap: execvp .../launcher: Text file busy" failing a correct program.
_COPY_OR_FORK = threading.Lock()


def writing_files() -> threading.Lock:
    """To hold while writing a file that a run or a build may execute: no fork meanwhile."""
    return _COPY_OR_FORK


def copy_executable(source: Path, target: Path) -> None:
    """source copied to target, mode 0755, never while this process forks (see popen)."""
    with writing_files():
        shutil.copyfile(source, target)
        target.chmod(0o755)


def popen(command: list[str], **options) -> subprocess.Popen:
    """subprocess.Popen, never while a file is written under writing_files()."""
    with _COPY_OR_FORK:
        return subprocess.Popen(command, **options)


@dataclass(frozen=True)
class Limits:
    """What the launcher sets: per process, except `processes` (per sandbox user)."""

    cpu_seconds: int
    address_space: int = 4 << 30
    file_size: int = 64 << 20
    processes: int = 32

    @staticmethod
    def for_timeout(seconds: float, **others: int) -> "Limits":
        """CPU seconds a little above the wall-clock timeout: the timeout reports first."""
        return Limits(math.ceil(seconds) + 1, **others)


def enabled() -> bool:
    return os.environ.get(DISABLE_VARIABLE, "1") != "0"


def warning() -> str:
    """The warning every run prints when the sandbox is off ("" when it is on)."""
    return "" if enabled() else WARNING


def drops_privileges() -> bool:
    """Run as root: bwrap itself starts as `nobody`, so no process of the run is root's."""
    return os.geteuid() == 0


def as_sandbox_user() -> dict:
    """subprocess.Popen's arguments that start bwrap as the sandbox's user (when the checker
    is root and the sandbox is on), else none."""
    if enabled() and drops_privileges():
        return {"user": SANDBOX_UID, "group": SANDBOX_UID, "extra_groups": []}
    return {}


def unprivileged_user() -> str:
    pwd.getpwnam(UNPRIVILEGED_USER)
    return UNPRIVILEGED_USER


def hand_over(path: Path) -> None:
    """Makes a tree the sandbox must write (a build's scratch copy) belong to its user."""
    if not drops_privileges():
        return
    for directory, dirs, files in os.walk(path):
        os.chown(directory, SANDBOX_UID, SANDBOX_UID)
        for name in files + dirs:
            os.chown(os.path.join(directory, name), SANDBOX_UID, SANDBOX_UID,
                     follow_symlinks=False)


def launcher_command(launcher: str, limits: Limits, command: list[str]) -> list[str]:
    return [launcher, str(limits.cpu_seconds), str(limits.address_space),
            str(limits.file_size), str(limits.processes), *command]


class EndWatch:
    """Waits, once a run is killed, until every process of its sandbox is gone.

    Killing the run's process group kills bwrap; the sandbox's processes die of it a moment
    later (--die-with-parent, then the pid namespace), and on a loaded machine that moment can
    outlast the run. bwrap writes the host pid of the namespace's init on its --info-fd, and the
    kernel lets that init finish exiting only after every other process of the namespace has:
    so once the init has exited, nothing of the run is left. Use it as a context manager (it
    owns two pipe ends), pass `fd` to bwrap_command and `pass_fds` to Popen, call `started()`
    right after Popen, and `wait()` after killing the group."""

    TIMEOUT = 10.0          # seconds at most that wait() waits (a process stuck in the kernel)

    def __init__(self, confined: bool) -> None:
        self._read, self.fd = os.pipe() if confined else (-1, -1)

    def __enter__(self) -> "EndWatch":
        return self

    def __exit__(self, *_: object) -> None:
        for fd in (self._read, self.fd):
            if fd >= 0:
                os.close(fd)
        self._read = self.fd = -1

    @property
    def pass_fds(self) -> tuple[int, ...]:
        return (self.fd,) if self.fd >= 0 else ()

    def started(self) -> None:
        """Only bwrap keeps the writing end: its end (bwrap's close or death) is then EOF."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def wait(self) -> None:
        """Returns once the sandbox's init has exited, or after TIMEOUT seconds."""
        if self._read < 0:
            return
        deadline = time.monotonic() + self.TIMEOUT
        info = self._read_info(deadline)
        try:
            pid, namespace = int(info["child-pid"]), int(info["pid-namespace"])
        except (KeyError, TypeError, ValueError):
            return          # bwrap made no sandbox (it failed, or was killed before)
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            return          # gone already (or no pidfd on this kernel)
        try:
            # The pid may name another process by now: then the init is long gone.
            if os.readlink(f"/proc/{pid}/ns/pid") == f"pid:[{namespace}]":
                select.select([pidfd], [], [], max(0.0, deadline - time.monotonic()))
        except OSError:
            pass
        finally:
            os.close(pidfd)

    def _read_info(self, deadline: float) -> dict:
        """bwrap's JSON, read until EOF (it closes the pipe once written, or dies)."""
        data = b""
        while (left := deadline - time.monotonic()) > 0 and select.select([self._read], [], [],
                                                                          left)[0]:
            chunk = os.read(self._read, 4096)
            if not chunk or len(data) > 65536:
                break
            data += chunk
        try:
            info = json.loads(data)
        except ValueError:
            return {}
        return info if isinstance(info, dict) else {}


def bwrap_command(read_only: dict[str, Path], writable: dict[str, Path], env: dict[str, str],
                  chdir: str, tools: bool = False, info_fd: int = -1) -> list[str]:
    """The bwrap command line (up to and including "--") for a sandbox that sees /usr,
    `read_only` and `writable` ({inside path: host path}), and nothing else of the host.

    A traced program needs only /usr, /lib and the loader at /lib64: each further mount costs in
    every run (the loader's cache alone doubles a run's cost here). `tools` adds what a build
    needs: /bin, the loader's cache, /proc and /dev, read-only (its devices work, but nothing can
    be created there: bwrap's /dev is a tmpfs as large as half the memory). `info_fd`: an
    EndWatch's."""
    command = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session",
               "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--ro-bind", "/usr", "/usr"]
    links = ("bin", "sbin", "lib", "lib32", "lib64", "libx32") if tools else ("lib", "lib64")
    for name in links:
        if Path(f"/{name}").is_symlink():
            command += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
        elif Path(f"/{name}").is_dir():
            command += ["--ro-bind", f"/{name}", f"/{name}"]
    if tools:
        command += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
                    "--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev"]
    command += ["--size", str(TMP_SIZE), "--tmpfs", "/tmp"]
    for inside, host in read_only.items():
        command += ["--ro-bind", str(host), inside]
    for inside, host in writable.items():
        command += ["--bind", str(host), inside]
    if info_fd >= 0:
        command += ["--info-fd", str(info_fd)]
    command += ["--clearenv", "--chdir", chdir]
    for key, value in env.items():
        command += ["--setenv", key, value]
    return command + ["--"]

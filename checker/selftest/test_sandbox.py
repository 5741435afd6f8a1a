"""The sandbox and the trace's integrity, stage by stage: what the parser accepts as the kit's
own markers and the program's completion report (canned strace -i traces, as the tracer writes
them through bwrap and the launcher), what the launcher refuses, and what a sandboxed program
can see. The end-to-end attacks are in test_hostile.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

import catalogue
import sandbox
from grade import grade
from parse import parse_ltrace, parse_strace
from run import end_group
from support import ROOT, settings_for

# bwrap (pid 100) starts the sandbox; the launcher (pid 102) execs the program, which loads
# the marker layer at 0x7f0000000000 and the graded library at 0x7f1000000000.
PROLOGUE = """\
100   [00007f9c0c8b1ad7] execve("/usr/bin/bwrap", ["bwrap", "--unshare-all"], 0x7ffd /* 3 vars */) = 0
100   [00007f9c0c8b1ad7] brk(0)               = 0x5600000000
102   [00007f9c0c8b1ad7] execve("/tmp/r/files/launcher", ["launcher"], 0x7ffd /* 3 vars */) = 0
102   [00007f9c0c8b1ad7] brk(0)               = 0x5610000000
102   [00007f9c0c8b1ad7] execve("/tmp/r/files/t", ["/tmp/r/files/t"], 0x7ffd /* 3 vars */) = 0
102   [00007f9c0c8b1a00] brk(0)               = 0x555555559000
102   [00007f9c0c8b1a00] openat(0xffffff9c, "/tmp/r/files/lib/libosmem_markers.so", 0x80000) = 3
102   [00007f9c0c8b1a00] mmap(0, 16400, 0x1, 0x802, 3, 0) = 0x7f0000000000
102   [00007f9c0c8b1a00] close(3)             = 0
102   [00007f9c0c8b1a00] openat(0xffffff9c, "/tmp/r/files/lib/libosmem.so", 0x80000) = 3
102   [00007f9c0c8b1a00] mmap(0, 20480, 0x1, 0x802, 3, 0) = 0x7f1000000000
102   [00007f9c0c8b1a00] close(3)             = 0
"""
CALL = """\
102   [00007f0000001350] write(-1, "osmem:call os_malloc 10", 23) = -1 EBADF (Bad file descriptor)
102   [00007f1000000200] brk(0)               = 0x555555559000
102   [00007f1000000200] brk(0x55555557a000)  = 0x55555557a000
102   [00007f0000001350] write(-1, "osmem:ret os_malloc 0x555555559020", 34) = -1 EBADF (Bad file descriptor)
"""
FINISHED = ('102   [0000555555555300] write(-1, "osmem:finished 1", 16) = -1 EBADF '
            '(Bad file descriptor)\n')
EXITED = ("102   [????????????????] +++ exited with 0 +++\n"
          "100   [????????????????] +++ exited with 0 +++\n")


def test_no_fork_while_an_executable_is_being_copied(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A child forked while a copy is open for writing keeps it open until its own exec, and an
    exec of the copy in that window fails with ETXTBSY ("Text file busy"): runs and builds
    started from several threads at once must not fork while a copy is being written."""
    order: list[str] = []
    writing, finish = threading.Event(), threading.Event()
    copyfile = shutil.copyfile

    def slow_copyfile(source, target):
        copyfile(source, target)
        writing.set()
        finish.wait(30)
        order.append("copied")

    monkeypatch.setattr(sandbox.shutil, "copyfile", slow_copyfile)
    copier = threading.Thread(target=sandbox.copy_executable,
                              args=(Path("/bin/true"), tmp_path / "true"))
    copier.start()
    assert writing.wait(30)

    def fork() -> None:
        sandbox.popen(["/bin/true"]).wait()
        order.append("forked")

    forker = threading.Thread(target=fork)
    forker.start()
    try:
        forker.join(1.0)    # /bin/true takes milliseconds: only the copy can hold it back
        assert order == [] and forker.is_alive()
    finally:
        finish.set()
        copier.join(30)
        forker.join(30)
    assert order == ["copied", "forked"]
    assert os.stat(tmp_path / "true").st_mode & 0o777 == 0o755


def test_the_program_is_found_behind_bwrap_and_the_launcher() -> None:
    trace = parse_strace(PROLOGUE + CALL + FINISHED + EXITED)
    assert trace.initial_break == 0x555555559000          # the program's, not bwrap's
    assert [(c.func, c.args, c.ret) for c in trace.calls] == [("os_malloc", (10,), 0x555555559020)]
    assert [s.name for s in trace.calls[0].syscalls] == ["brk", "brk"]
    assert (trace.ending, trace.finished, trace.forged, trace.notes) == ("exited with 0", 1, [], [])
    # strace's fault injection counts the process's syscalls from its start (launcher's too)
    assert trace.calls[0].syscalls[0].nth == 3


def test_a_marker_written_by_the_library_is_forged() -> None:
    forged = CALL.replace("[00007f0000001350] write(-1, \"osmem:ret",
                          "[00007f1000000300] write(-1, \"osmem:ret")
    trace = parse_strace(PROLOGUE + forged + FINISHED + EXITED)
    assert trace.forged == ['"osmem:ret os_malloc 0x555555559020" written at 0x7f1000000300 '
                            '(inside the graded library), outside the marker layer']


def test_a_marker_written_through_libc_is_forged() -> None:
    forged = CALL.replace("[00007f0000001350] write(-1, \"osmem:call",
                          "[00007f9c0c8b1a00] write(-1, \"osmem:call")
    trace = parse_strace(PROLOGUE + forged + FINISHED + EXITED)
    assert trace.forged == ['"osmem:call os_malloc 10" written at 0x7f9c0c8b1a00, outside the '
                            'marker layer']
    assert trace.notes == ["return from os_malloc without a call"]


def test_a_completion_report_from_a_shared_library_does_not_count() -> None:
    from_library = FINISHED.replace("[0000555555555300]", "[00007f1000000100]")
    trace = parse_strace(PROLOGUE + CALL + from_library + EXITED)
    assert trace.finished is None
    assert trace.forged == ['"osmem:finished 1" written from inside libosmem.so at '
                            '0x7f1000000100, not by the program']


def test_without_a_completion_report_main_did_not_finish() -> None:
    trace = parse_strace(PROLOGUE + CALL + EXITED)
    assert trace.finished is None


def test_refused_clones_are_recorded() -> None:
    refused = ('102   [00007f1000000400] clone(0x800011, 0x7f1000009000, 0, 0) = -1 ENOSYS '
               '(Function not implemented)\n'
               '102   [00007f9c0c8b1a00] clone3(0x7ffd0000, 88) = -1 ENOSYS (Function not '
               'implemented)\n')
    call = CALL.replace("102   [00007f1000000200] brk(0)", refused.rstrip("\n") +
                        "\n102   [00007f1000000200] brk(0)")
    trace = parse_strace(PROLOGUE + call + FINISHED + EXITED)
    assert trace.refused == ["clone", "clone3"]


def test_ltrace_follows_the_program_and_its_completion_report() -> None:
    text = ("7 SYS_brk(0) = 0x5600000000\n"
            "9 --- Called exec() ---\n"
            "9 SYS_brk(0) = 0x5610000000\n"
            "9 --- Called exec() ---\n"
            "9 SYS_brk(0) = 0x555555559000\n"
            "9 t->os_malloc(10 <unfinished ...>\n"
            "9 SYS_brk(0) = 0x555555559000\n"
            "9 <... os_malloc resumed> ) = 0x555555559020\n"
            '9 SYS_write(-1, "osmem:finished 1", 16) = -9\n'
            "9 +++ exited (status 0) +++\n"
            "7 +++ exited (status 0) +++\n")
    trace = parse_ltrace(text)
    assert trace.initial_break == 0x555555559000
    assert [(c.func, c.ret) for c in trace.calls] == [("os_malloc", 0x555555559020)]
    assert (trace.ending, trace.finished) == ("exited with 0", 1)


def launch(command: list[str]) -> subprocess.CompletedProcess[str]:
    """`command` in the sandbox as the checker starts a program: bwrap, then the launcher
    (copied into a directory of /tmp, which the sandbox's user can reach)."""
    with tempfile.TemporaryDirectory(prefix="osmem-sandbox-test-") as tmp:
        files = Path(tmp)
        files.chmod(0o755)
        launcher = files / "launcher"
        launcher.write_bytes(sandbox.LAUNCHER.read_bytes())
        launcher.chmod(0o755)
        argv = sandbox.bwrap_command({tmp: files}, {}, {"PATH": "/usr/bin:/bin"}, "/tmp",
                                     tools=True)
        argv += sandbox.launcher_command(str(launcher), sandbox.Limits(5), command)
        options = ({"user": sandbox.SANDBOX_UID, "group": sandbox.SANDBOX_UID,
                    "extra_groups": []} if sandbox.drops_privileges() else {})
        return subprocess.run(argv, capture_output=True, text=True, timeout=30, **options)


def test_the_sandbox_shows_neither_the_checkout_nor_the_host() -> None:
    script = (f"test -e {ROOT}/tests/ref || echo no-checkout; test -e /etc/passwd || echo no-etc;"
              f" test -e /home || echo no-home; id -u; {sys.executable} -c 'import resource as r;"
              f" print(*(r.getrlimit(k)[0] for k in (r.RLIMIT_NPROC, r.RLIMIT_FSIZE, r.RLIMIT_AS,"
              f" r.RLIMIT_CPU)))'")
    done = launch(["sh", "-c", script])
    limits = sandbox.Limits(5)
    assert done.stdout.split() == ["no-checkout", "no-etc", "no-home", str(sandbox.SANDBOX_UID),
                                   str(limits.processes), str(limits.file_size),
                                   str(limits.address_space), "5"], done.stderr


def test_the_launcher_refuses_untraced_clones() -> None:
    probe = ("import ctypes, os; libc = ctypes.CDLL(None, use_errno=True); "
             "r = libc.syscall(56, 0x00800000 | 17, 0, 0, 0, 0); "    # clone(CLONE_UNTRACED)
             "print(r, os.strerror(ctypes.get_errno())); "
             "r = libc.syscall(435, 0, 0); print(r, os.strerror(ctypes.get_errno()))")  # clone3
    done = launch([sys.executable, "-c", probe])
    assert done.stdout.splitlines() == ["-1 Function not implemented"] * 2, done.stderr


def test_a_run_ends_only_once_every_process_of_its_sandbox_is_gone() -> None:
    """Killing a run's process group kills bwrap at once, its sandbox's processes a moment
    later: children that hold memory take a while to die (without the wait, most of them are
    still there when end_group returns). end_group waits for every one."""
    script = ("import os, time\n"
              "print(os.readlink('/proc/self/ns/pid'), flush=True)\n"
              "for _ in range(4):\n"
              "    if os.fork() == 0:\n"
              "        held = bytearray(256 << 20)\n"
              "        print('child', flush=True)\n"
              "        time.sleep(60)\n"
              "time.sleep(60)\n")
    with sandbox.EndWatch(True) as watch:
        command = sandbox.bwrap_command({}, {}, {"PATH": "/usr/bin"}, "/tmp", tools=True,
                                        info_fd=watch.fd) + [sys.executable, "-c", script]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   text=True, start_new_session=True, pass_fds=watch.pass_fds,
                                   **sandbox.as_sandbox_user())
        watch.started()
        assert process.stdout is not None
        namespace, *children = (process.stdout.readline() for _ in range(5))
        end_group(process, watch)
        process.stdout.close()
    assert children == ["child\n"] * 4
    left = []       # but its init's zombie: it has exited, bwrap was to reap it
    for pid in Path("/proc").glob("[0-9]*"):
        try:
            if (os.readlink(pid / "ns" / "pid") == namespace.strip()
                    and (pid / "stat").read_text().rpartition(")")[2].split()[0] != "Z"):
                left.append(pid.name)
        except OSError:
            pass
    assert namespace.startswith("pid:[") and left == []


def test_sandbox_off_is_never_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sandbox.DISABLE_VARIABLE, "0")
    assert sandbox.warning().startswith("osmem: WARNING: SANDBOX=0:")
    monkeypatch.delenv(sandbox.DISABLE_VARIABLE)
    assert sandbox.warning() == ""


@pytest.mark.parametrize("tracer", ["strace", "ltrace"])
def test_the_kit_library_passes_in_the_sandbox(reference, tracer: str) -> None:
    result = grade(catalogue.program("malloc-split-first"), reference, settings_for(tracer))
    assert (result.passed, result.reason) == (True, "")


def test_the_sandboxs_own_syscalls_are_not_the_librarys_but_a_forked_childs_are() -> None:
    # bwrap's monitor (pid 100) may run while the program is inside a call: not the library's.
    # A child the program forks (pid 103) is the library's doing: its syscalls count.
    inside = ('100   [00007f9c0c8b1ad7] capset({version=0x20080522, pid=0}, {effective=0}) = 0\n'
              '102   [00007f1000000200] clone(0x1200011, 0, 0, 0) = 103\n'
              '103   [00007f1000000200] getpid()             = 103\n')
    call = CALL.replace("102   [00007f1000000200] brk(0)", inside +
                        "102   [00007f1000000200] brk(0)")
    trace = parse_strace(PROLOGUE + call + FINISHED + EXITED)
    assert [s.name for s in trace.calls[0].syscalls] == ["clone", "[pid 103] getpid", "brk",
                                                         "brk"]

"""Bad input to the library, with tests/badinput/badinput.c (one case per run).

* Unservable sizes (malloc, calloc overflowing in both argument orders, realloc of a heap and
  of a mapped block): the program checks NULL, errno == ENOMEM, the heap digest unchanged and
  the old blocks intact and usable; here the strace trace shows that no failed call made a
  syscall that changes anything (sizes above PTRDIFF_MAX: no syscall at all; representable but
  too large: only an mmap that failed), and that no call before the first heap use made a brk.
* os_free(NULL), a second os_free of a heap block, os_realloc of a freed heap block: no
  syscall, nothing changes (the program checks the digest).
* Pointers the allocator never handed out: exactly one line "<function>(): invalid pointer
  0x...\\n" on stderr naming the pointer, then SIGABRT. Several cases put the would-be header
  in unmapped memory, so a library that read it would die of SIGSEGV instead.
* A live block's header padding overwritten (the library keeps there whether the block before
  is FREE): os_free still merges only with FREE blocks; OSMEM_CHECK=1 names the word.
* Writes into a freed block (bytes, or a pointer as a stale list node would store): the next
  os_malloc reads the free index there and aborts with one line naming the block, and with
  OSMEM_CHECK=1 its heap check names the broken link first. Written in the middle one of three
  free blocks of its size, small or large, it is caught at the latest when that block's turn
  comes. (The kit's library; any implementation may handle them otherwise, so this is not
  graded.)
The number of bad inputs tried is printed at the end of the run.
"""

from __future__ import annotations

import re
import signal
import subprocess

import pytest

from parse import parse_strace
from traced import LIB_DIR, INSTRUMENTS_BIN, run_traced

BADINPUT = INSTRUMENTS_BIN / "badinput"
ENVS = {"plain": {}, "checked": {"OSMEM_CHECK": "1"}}

INVALID = ["free-stack", "realloc-stack", "free-middle", "free-misaligned", "free-fake-header",
           "free-foreign-mapping", "free-unmapped-header", "realloc-unmapped-header",
           "free-mapped-twice", "realloc-mapped-freed", "free-before-heap"]


def run_plain(case: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(BADINPUT), case], capture_output=True, text=True, timeout=20,
                          env={"LD_LIBRARY_PATH": str(LIB_DIR), "PATH": "/usr/bin:/bin", **env})


@pytest.mark.parametrize("env", ENVS.values(), ids=ENVS.keys())
def test_unservable_sizes(env: dict[str, str], record_property) -> None:
    run = run_traced(BADINPUT, ["sizes"], env=env)
    assert run.returncode == 0, run.stderr
    tried = int(re.fullmatch(r"bad sizes tried: (\d+)", run.stdout.strip())[1])
    calls = parse_strace(run.trace).calls
    failed = [c for c in calls if c.ret == 0]
    assert len(failed) == tried, "every unservable request returns NULL, nothing else does"
    for call in failed:
        changing = [s for s in call.syscalls if not (s.name == "mmap" and s.ret == "ENOMEM")]
        assert not changing, f"{call.func}{call.args} made {changing}"
        if any(arg > (1 << 63) - 1 for arg in call.args[-1:]):
            assert not call.syscalls, f"{call.func}{call.args}: size > PTRDIFF_MAX, no syscall"
    first_heap = next(i for i, c in enumerate(calls) if c.ret)
    assert not any(s.name == "brk" for c in calls[:first_heap] for s in c.syscalls), \
        "a failed request made the heap"
    if not env:
        record_property("reliability", ("bad inputs tried", tried))


@pytest.mark.parametrize("case", ["free-null", "double-free"])
@pytest.mark.parametrize("env", ENVS.values(), ids=ENVS.keys())
def test_harmless_frees(case: str, env: dict[str, str], record_property) -> None:
    run = run_traced(BADINPUT, [case], env=env)
    assert run.returncode == 0, run.stderr
    calls = parse_strace(run.trace).calls
    if case == "free-null":
        harmless = [c for c in calls if c.func == "os_free" and c.args == (0,)]
        assert len(harmless) == 2
    else:   # malloc a, malloc b, free a, free a again, realloc a twice, free b
        assert [c.func for c in calls[2:6]] == ["os_free", "os_free", "os_realloc", "os_realloc"]
        harmless = calls[3:6]
    for call in harmless:
        assert not call.syscalls and call.ret in (0, None), f"{call.func}{call.args}"
    if not env:
        record_property("reliability", ("bad inputs tried", len(harmless)))


def test_scribbled_padding_does_not_make_free_merge_an_allocated_block(record_property) -> None:
    """The library keeps "the block before is FREE" in an ALLOC header's padding; a program
    that overwrites it gets no wrong merge (the program checks the heap and the neighbours),
    and OSMEM_CHECK=1 names the overwritten word at the next call."""
    run = run_plain("scribbled-padding", {})
    assert run.returncode == 0, run.stderr
    record_property("reliability", ("bad inputs tried", 1))

    checked = run_plain("scribbled-padding", {"OSMEM_CHECK": "1"})
    assert checked.returncode == -signal.SIGABRT, checked.stderr
    assert re.fullmatch(r"os_free\(\): heap check failed: heap block 0x[0-9a-f]+: the padding "
                        r"after its status is neither 0 nor 1\n", checked.stderr)


@pytest.mark.parametrize("case", INVALID)
@pytest.mark.parametrize("env", ENVS.values(), ids=ENVS.keys())
def test_invalid_pointer_aborts(case: str, env: dict[str, str], record_property) -> None:
    run = run_plain(case, env)
    assert run.returncode == -signal.SIGABRT, \
        f"expected SIGABRT, got {run.returncode} (SIGSEGV = -11: an unmapped read): {run.stderr}"
    ptr = re.fullmatch(r"ptr (0x[0-9a-f]+)", run.stdout.strip())[1]
    function = case.split("-")[0]
    assert run.stderr == f"os_{function}(): invalid pointer {ptr}\n"
    if not env:
        record_property("reliability", ("bad inputs tried", 1))


def assert_write_after_free_reported(run: subprocess.CompletedProcess, ptr: str,
                                     env: dict[str, str], record_property) -> None:
    """The run aborted, naming the block written after free (or, with OSMEM_CHECK=1, the
    broken link its heap check found first)."""
    assert run.returncode == -signal.SIGABRT, f"expected SIGABRT, got {run.returncode}: {run.stderr}"
    if env:
        assert re.fullmatch(r"os_malloc\(\): heap check failed: free index: a (treap|pairing-heap) "
                            r"link leads outside the heap \(a free block written after it was "
                            r"freed\?\)\n",
                            run.stderr), run.stderr
    else:
        assert run.stderr == f"osmem: heap corruption: free block {ptr} was written after it was freed\n"
        record_property("reliability", ("bad inputs tried", 1))


@pytest.mark.parametrize("case", ["write-after-free-bytes", "write-after-free-pointer"])
@pytest.mark.parametrize("env", ENVS.values(), ids=ENVS.keys())
def test_write_after_free_aborts(case: str, env: dict[str, str], record_property) -> None:
    run = run_plain(case, env)
    ptr = re.fullmatch(r"ptr (0x[0-9a-f]+)", run.stdout.strip())[1]
    assert_write_after_free_reported(run, ptr, env, record_property)


@pytest.mark.parametrize("size", [100, 5000])
@pytest.mark.parametrize("env", ENVS.values(), ids=ENVS.keys())
def test_write_after_free_among_blocks_of_its_size_aborts(size: int, env: dict[str, str],
                                                          record_property) -> None:
    """The written block is the middle one of three free blocks of its size (in a size's own
    bin, or in the index the sizes from 4 KiB share): as they are taken again, lowest address
    first, the library aborts at the latest at the written block, after handing out at most
    the one below it."""
    run = run_plain(f"write-after-free-among-{size}", env)
    lines = run.stdout.split("\n")
    below = re.fullmatch(r"below (0x[0-9a-f]+)", lines[0])[1]
    ptr = re.fullmatch(r"ptr (0x[0-9a-f]+)", lines[1])[1]
    assert lines[2:] in ([""], [f"got {below}", ""]), run.stdout
    assert_write_after_free_reported(run, ptr, env, record_property)

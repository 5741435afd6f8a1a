"""`make fuzz-lib [SECONDS=N]`: libFuzzer on os_* (tests/fuzz/fuzz_osmem.c) for N seconds.

Starts from the seed corpus in the repository (tests/fuzz/corpus/, never written to); new
inputs go to build/fuzz-lib/corpus/, crashes to build/fuzz-lib/crash-*. Prints one line:
executions, their rate, the corpus, and the crashes (each reproducible with
``build/fuzz-lib/fuzz_osmem <crash file>``). Exits 0 only with 0 crashes.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUZZ_DIR = ROOT / "build" / "fuzz-lib"
HARNESS = FUZZ_DIR / "fuzz_osmem"
SEEDS = ROOT / "tests" / "fuzz" / "corpus"
STAT = re.compile(r"^stat::(\w+):\s*(\d+)$", re.MULTILINE)


def fuzz(seconds: int, workdir: Path = FUZZ_DIR) -> dict[str, object]:
    corpus = workdir / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for old in workdir.glob("crash-*"):
        old.unlink()
    command = [str(HARNESS), f"-max_total_time={seconds}", "-print_final_stats=1",
               "-timeout=10", "-rss_limit_mb=2048", f"-artifact_prefix={workdir}/",
               str(corpus), str(SEEDS)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120,
                          stdin=subprocess.DEVNULL, cwd=workdir)
    stats = {name: int(value) for name, value in STAT.findall(done.stderr)}
    crashes = sorted(workdir.glob("crash-*")) + sorted(workdir.glob("timeout-*")) + \
        sorted(workdir.glob("oom-*")) + sorted(workdir.glob("leak-*"))
    return {"executions": stats.get("number_of_executed_units", 0),
            "rate": stats.get("average_exec_per_sec", 0),
            "corpus": len(list(corpus.iterdir())) + len(list(SEEDS.iterdir())),
            "crashes": crashes, "exit": done.returncode, "stderr": done.stderr}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    options = parser.parse_args()
    if not HARNESS.exists():
        print("fuzz-lib: build/fuzz-lib/fuzz_osmem is missing (make fuzz-lib builds it)")
        return 2
    result = fuzz(options.seconds)
    crashes = result["crashes"]
    print(f"fuzz-lib: {result['executions']} executions in {options.seconds} s "
          f"({result['rate']}/s), corpus {result['corpus']} inputs "
          f"({len(list(SEEDS.iterdir()))} seeds), {len(crashes)} crashes")
    if crashes or result["exit"] != 0:
        tail = [line for line in str(result["stderr"]).splitlines()
                if "fuzz_osmem:" in line or "ERROR:" in line or "SUMMARY" in line][:10]
        print("\n".join(f"    {line}" for line in tail))
        for crash in crashes:
            print(f"    reproduce: {crash.relative_to(ROOT)} -> "
                  f"build/fuzz-lib/fuzz_osmem {crash.relative_to(ROOT)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The drop-in's Python workload: deterministic, a few seconds on glibc, one line of output.

Objects live and die at random (dicts, lists, strings: Python's small-object allocator asks
malloc for its larger requests), a byte buffer grows and shrinks past the mmap threshold
(realloc of large blocks), and text is split, sorted and hashed. The printed digest covers all
of it, so a corrupted byte anywhere changes the output.
"""

import hashlib
import json
import random
import re
import zlib

rng = random.Random(12345)
digest = hashlib.sha256()

live = {}
for i in range(200000):
    key = rng.randrange(20000)
    if rng.random() < 0.6:
        live[key] = {"id": i, "name": "x" * rng.randrange(1, 300),
                     "tags": [rng.random() for _ in range(rng.randrange(8))]}
    else:
        live.pop(key, None)
digest.update(json.dumps(sorted(live.items())[:2000], sort_keys=True).encode())

buffer = bytearray()
for i in range(2000):
    buffer += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000)))
    if len(buffer) > 300000:
        del buffer[: len(buffer) // 2]
digest.update(zlib.compress(bytes(buffer)))

text = " ".join(str(v) for v in range(100000)).translate(str.maketrans("0123456789", "abcdefghij"))
words = re.findall(r"[a-z]+", text)
digest.update(" ".join(sorted(set(words))[:1000]).encode())
print(len(live), len(buffer), len(words), digest.hexdigest())

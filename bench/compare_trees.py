"""CPU time of the hot paths of two source trees, measured in the same run (fresh processes, the trees
interleaved round by round, so the ratio holds on a busy machine): traced small operations
(``bench_smallops``), ``mc.log`` inside nested ``mc.loop``\\ s and the loops alone (main thread's
``time.thread_time`` per value: the writer thread is not counted), and ``import mlcontext``
(``-X importtime``, cumulative).

``python bench/compare_trees.py BEFORE_SRC AFTER_SRC`` (e.g. ``../before/src src``, with a clone of
the older commit beside this one; ``BENCH_ROUNDS`` rounds, default 3, best of each).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
ROOT = Path(__file__).resolve().parents[1]

SMALLOPS = """
import json
from bench.bench_smallops import measure
rows = measure(20000)
print("RESULT", json.dumps({k: v["hybrid"] for k, v in rows.items()}))
"""

LOOP = """
import json, tempfile, time
import mlcontext as mc
mc.set_store(tempfile.mkdtemp())
with mc.run("bench", project="bench"):
    best_log = best_loop = float("inf")
    for _ in range(3):
        t0 = time.thread_time()
        for epoch in mc.loop("epoch", range(20)):
            for step in mc.loop("step", range(1000)):
                mc.log("loss", 0.5)
        best_log = min(best_log, (time.thread_time() - t0) / 20000)
        t0 = time.thread_time()
        for epoch in mc.loop("epoch", range(20)):
            for step in mc.loop("step", range(1000)):
                pass
        best_loop = min(best_loop, (time.thread_time() - t0) / 20000)
print("RESULT", json.dumps({"mc.loop + mc.log per value": best_log, "mc.loop per iteration": best_loop}))
"""


def _child(src: str, code: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": f"{os.path.abspath(src)}{os.pathsep}{ROOT}",
           "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                         cwd=ROOT, timeout=600)
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def _import_s(src: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.path.abspath(src)}
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import mlcontext"], capture_output=True,
                         text=True, env=env, check=True, timeout=120)
    found = [int(m.group(1)) for m in re.finditer(r"\|\s*(\d+) \| mlcontext$", out.stderr, flags=re.M)]
    return {"import mlcontext (cumulative)": found[-1] / 1e6}


def main(before: str, after: str) -> None:
    best: dict[str, dict[str, float]] = {"before": {}, "after": {}}
    for _ in range(ROUNDS):
        for label, src in (("before", before), ("after", after)):
            for result in (_child(src, SMALLOPS), _child(src, LOOP), _import_s(src)):
                for key, value in result.items():
                    best[label][key] = min(best[label].get(key, float("inf")), value)
    print(f"best of {ROUNDS} interleaved rounds; CPU seconds (import: wall, cumulative)")
    print(f"  {'measure':45s} {'before us':>10s} {'after us':>10s} {'after/before':>13s}")
    for key, old in best["before"].items():
        new = best["after"][key]
        print(f"  {key:45s} {old * 1e6:10.2f} {new * 1e6:10.2f} {new / old:13.3f}")


if __name__ == "__main__":
    main(*sys.argv[1:3])

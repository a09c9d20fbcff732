"""Fuzz lineage logs for a while: mutants of real logs through ``loads -> hash -> dumps -> loads ->
recompute``; reports how many inputs were tried, how many parsed and recomputed, and how many raised
an error outside mlcontext's tree (the target is 0; issue 13 item 10).

``python -m bench fuzz`` runs for ``MLCONTEXT_FUZZ_SECONDS`` (default 120) from seed
``MLCONTEXT_FUZZ_SEED`` (default 0). The mutator and the corpus are the test suite's
(``tests/lineage/log_fuzz.py``), which runs the same pipeline for a few seconds under hypothesis.
"""

from __future__ import annotations

import collections
import os
import random
import sys
import time
import traceback
from pathlib import Path


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "lineage"))
    import log_fuzz

    seconds = float(os.environ.get("MLCONTEXT_FUZZ_SECONDS", "120"))
    seed = int(os.environ.get("MLCONTEXT_FUZZ_SEED", "0"))
    logs, inputs = log_fuzz.corpus()
    rnd = random.Random(seed)
    outcome = log_fuzz.Outcome()
    where: collections.Counter = collections.Counter()

    def on_foreign(exc: BaseException, text: str) -> None:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where[(type(exc).__name__, Path(frame.filename).name, frame.lineno)] += 1

    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        log_fuzz.run_one(log_fuzz.mutate(rnd.choice(logs), rnd), inputs, outcome, on_foreign)
    elapsed = time.perf_counter() - start
    print(f"seed {seed}, {elapsed:.0f} s: {outcome.tried} inputs tried ({outcome.tried / elapsed:.0f}/s), "
          f"{outcome.parsed} parsed and round-tripped, {outcome.recomputed} recomputed, "
          f"{len(outcome.foreign)} foreign exceptions")
    for (name, file, line), count in where.most_common(20):
        print(f"  {count:6d} {name} at {file}:{line}")

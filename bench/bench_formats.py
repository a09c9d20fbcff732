"""Artifact formats (issue 13 item 3): what storing and reading data formats costs against pickle.

Frames are stored as Arrow IPC and read back once to check they hash like the frame given; arrays as
``.npy``; scikit-learn models with skops. Baseline: ``pickle.dumps`` / ``pickle.loads`` of the same
object in the same run (what mlcontext did before). Reported as ratios; medians of ``REPEAT``.

Run: ``.venv/bin/python -m bench formats``.
"""

from __future__ import annotations

import pickle
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlcontext.tracking.formats import decode, encode

REPEAT = 7


def _median_ms(fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def _subjects() -> dict[str, Any]:
    from sklearn.ensemble import RandomForestRegressor

    rng = np.random.default_rng(0)
    n = 1_000_000
    frame = pd.DataFrame({"x": rng.normal(size=n), "k": rng.integers(0, 100, n),
                          "s": pd.Series(rng.integers(0, 1000, n)).astype(str),
                          "t": pd.date_range("2020", periods=n, freq="s")})
    X = rng.normal(size=(2_000, 8))
    forest = RandomForestRegressor(n_estimators=20, random_state=0).fit(X, X.sum(axis=1))
    return {"frame 1M rows x 4": frame, "array 4M float64": rng.normal(size=(2_000, 2_000)),
            "RandomForest 20 trees": forest}


def main() -> None:
    print(f"{'subject':<24} {'store ms':>9} {'pickle ms':>9} {'ratio':>6} {'read ms':>8} "
          f"{'unpickle':>8} {'ratio':>6} {'bytes/pickle':>12}")
    for label, value in _subjects().items():
        encoded = encode(value)
        pickled = pickle.dumps(value, protocol=5)
        store = _median_ms(lambda v=value: encode(v))
        dump = _median_ms(lambda v=value: pickle.dumps(v, protocol=5))
        read = _median_ms(lambda e=encoded: decode(e.data, e.format, e.meta, trusted=False))
        load = _median_ms(lambda p=pickled: pickle.loads(p))  # noqa: S301 - bytes made just above
        print(f"{label:<24} {store:>9.1f} {dump:>9.1f} {store / dump:>6.2f} {read:>8.1f} "
              f"{load:>8.1f} {read / load:>6.2f} {len(encoded.data) / len(pickled):>12.2f}"
              f"  ({encoded.format})")

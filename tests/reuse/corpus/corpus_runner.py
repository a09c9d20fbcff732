"""Run corpus programs and turn their results into plain, exactly comparable JSON values.

Used in the test process and, for the persistent tier, in a second process
(``python corpus_runner.py METADATA_URL ARTIFACTS_URL`` prints one JSON document).
The comparison does not go through mlcontext's fingerprints (they are what is under test): arrays by
their dtype, shape and bytes, pandas objects column by column with each element's type and repr.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import mlcontext as mc


def canon(x: Any) -> Any:
    """An exact, JSON-able description of a result (traced values as their plain values)."""
    if isinstance(x, mc.TracedArray):
        x = np.asarray(x)
    if isinstance(x, mc.TracedFrame | mc.TracedSeries):
        x = x.to_pandas()
    if isinstance(x, np.ndarray):
        if x.dtype.hasobject:
            return ["O", list(x.shape), [_element(v) for v in x.ravel().tolist()]]
        # The layout too: NumPy's results keep their inputs' (Fortran order, strides), and so must reuse.
        return ["A", str(x.dtype), x.dtype.str, list(x.shape), np.ascontiguousarray(x).tobytes().hex(),
                bool(x.flags.c_contiguous), bool(x.flags.f_contiguous)]
    if isinstance(x, pd.DataFrame):
        return ["F", _index(x.columns), [_series(x.iloc[:, k]) for k in range(x.shape[1])], _index(x.index)]
    if isinstance(x, pd.Series):
        return ["S", _element(x.name), _series(x), _index(x.index)]
    if isinstance(x, list | tuple):
        return ["L", [canon(v) for v in x]]
    if isinstance(x, dict):
        return ["D", [[_element(k), canon(v)] for k, v in x.items()]]
    return _element(x)


def _element(v: Any) -> list:
    return [type(v).__module__ + "." + type(v).__qualname__, repr(v)]


def _series(s: pd.Series) -> list:
    return [str(s.dtype), [_element(v) for v in s.tolist()]]


def _index(index: pd.Index) -> list:
    return [type(index).__name__, str(index.dtype), [_element(n) for n in index.names],
            [_element(v) for v in index.tolist()]]


def run(name: str, source: str) -> Any:
    """Run one program in a fresh namespace; the canonical form of its ``result``."""
    scope: dict[str, Any] = {"__name__": f"corpus_{name}", "np": np, "pd": pd, "mc": mc}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mc.UnhandledOperationWarning)  # opaque but exact fallbacks
        exec(compile(source, f"<corpus {name}>", "exec", dont_inherit=True), scope)  # noqa: S102 - the corpus
    return json.loads(json.dumps(canon(scope["result"])))


def _second_process(metadata_url: str, artifacts_url: str) -> None:
    from mlcontext.store import Store
    from mlcontext.tracking.persistent_cache import StoreTier

    sys.path.insert(0, str(Path(__file__).parent))
    from corpus_programs import PROGRAMS

    store = Store.open(metadata_url=metadata_url, artifacts_url=artifacts_url)
    mc.reuse("hybrid", persist=True, tier=StoreTier(store), min_compute_s=0.0, persist_min_s=0.0,
             eager_s_per_byte=0.0, disk_bytes_per_s=1e18)
    results = {name: run(name, source) for name, source in PROGRAMS.items()}
    s = mc.reuse_stats()
    print(json.dumps({"results": results, "persistent_hits": s.persistent_hits, "step_hits": s.step_hits}))


if __name__ == "__main__":
    _second_process(sys.argv[1], sys.argv[2])

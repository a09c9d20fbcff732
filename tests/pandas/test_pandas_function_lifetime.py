"""Functions given to traced pandas (``map``, ``apply``, ``agg`` ...) are kept for recompute while the
lineage that uses them lives, never for the life of the process (issue 12 point 6).

Peers with the same kind of fault, a module-level cache keeping user functions (and what their
closures hold) alive: dask/dask#1943 (caching ``normalize_function`` would keep every lambda and its
closure for ever), dask/distributed#2623 (deserialized functions cached without bound).
"""

from __future__ import annotations

import gc
import weakref

import pandas as pd

import mlcontext as mc
from mlcontext.lineage.item import sweep

DF = pd.DataFrame({"a": [1.0, 2.0, 3.0]})


def _traced_map() -> tuple[weakref.ref, mc.TracedSeries, str]:
    def triple(x: float) -> float:
        return 3 * x

    out = mc.frame(DF, name="t").a.map(triple)
    return weakref.ref(triple), out, mc.lineage.dumps(out)


def test_a_traced_function_goes_when_its_lineage_goes() -> None:
    ref, out, text = _traced_map()
    assert ref() is not None  # held while lineage that uses it lives: recompute can find it
    again = mc.recompute(text, inputs={"t": DF}, trusted=True)
    pd.testing.assert_series_equal(again, out.to_pandas())
    del out, again
    gc.collect()
    sweep()  # (the hash-consing table lets go of unheld items when it doubles; here at once)
    gc.collect()
    assert ref() is None


def test_a_lambda_given_inline_is_found_by_recompute_while_its_result_lives() -> None:
    out = mc.frame(DF, name="t").a.map(lambda x: x + 1)
    text = mc.lineage.dumps(out)
    gc.collect()
    sweep()
    pd.testing.assert_series_equal(mc.recompute(text, inputs={"t": DF}, trusted=True), out.to_pandas())


def test_reuse_still_finds_the_result_of_a_living_function() -> None:
    def halve(x: float) -> float:
        return x / 2

    t = mc.frame(DF, name="t")
    with mc.reuse("hybrid", min_compute_s=0.0, eager_s_per_byte=0.0, persist=False):
        mc.reuse_clear()
        first = t.a.map(halve)
        with mc.reuse_events() as events:
            second = t.a.map(halve)
    assert first.lineage is second.lineage
    assert [e.kind for e in events if e.name == "pandas.Series.map"] == ["reused"]
    pd.testing.assert_series_equal(second.to_pandas(), DF.a / 2, check_names=False)

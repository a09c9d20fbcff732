"""The reuse pipelines of bench/ (issue 14), run small: under reuse their results equal plain
NumPy's, and each hand-deduplicated ideal computes what its pipeline computes (else the ideal the
benchmark compares against would be a different program)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import mlcontext as mc

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root holds bench/
from bench import pipelines_more as pm  # noqa: E402

CASES = {p.name: p for p in pm.PIPELINES}


def test_there_are_at_least_ten_new_pipelines_in_distinct_styles() -> None:
    assert len(CASES) >= 10 and len({p.style for p in pm.PIPELINES}) == len(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_pipeline_under_reuse_equals_plain_numpy(name: str) -> None:
    p = CASES[name]
    data = p.data(True)
    want = p.plain(data)
    assert pm.same(p.ideal(data), want), "the ideal computes something else"
    with mc.reuse_events() as events:
        got = pm.plain_result(p.plain(pm.traced(data)))
        again = pm.plain_result(p.plain(pm.traced(data)))  # a second run: served from the cache
    assert pm.same(got, want) and pm.same(again, want)
    kinds = {e.kind for e in events}
    assert "reused" in kinds or "partial" in kinds, f"nothing was reused: {kinds}"


@pytest.mark.parametrize("policy", ["none", "full", "hybrid"])
def test_selection_by_appends_chooses_the_same_columns_under_every_policy(policy: str) -> None:
    p = CASES["c_-append"]
    data = p.data(True)
    chosen, sel = p.plain(data)
    with mc.reuse(policy):
        got_chosen, got_sel = pm.plain_result(p.plain(pm.traced(data)))
    assert list(got_chosen) == list(chosen)
    assert np.array_equal(got_sel, sel)


def test_np_c_and_r_stay_traced() -> None:
    """np.c_/np.r_ converted traced arrays to plain ones (np.array(..., subok=True)): the lineage
    was silently lost. Now they trace, equal NumPy's result, and keep NumPy's own path otherwise.
    (Peer: pydata/xarray#1023, broadcast() silently turning dask-backed arrays into NumPy ones.)"""
    XN = np.arange(24.0).reshape(6, 4)
    X = mc.array(XN)
    for got, want in ((np.c_[X[:, :2], X[:, 3]], np.c_[XN[:, :2], XN[:, 3]]),
                      (np.c_[X, XN[:, :1]], np.c_[XN, XN[:, :1]]),
                      (np.r_[X[:2], X[4:]], np.r_[XN[:2], XN[4:]]),
                      (np.r_[X[:, 0], X[:, 1]], np.r_[XN[:, 0], XN[:, 1]])):
        assert isinstance(got, mc.TracedArray)
        assert np.array_equal(np.asarray(got), want)
    assert np.array_equal(np.r_[1:4, 7], np.array([1, 2, 3, 7]))  # no traced item: NumPy's path
    assert np.array_equal(np.c_[np.ones(2), np.zeros(2)], np.array([[1.0, 0.0], [1.0, 0.0]]))


def test_the_systemds_scripts_translate_each_lima_pipeline_and_time_it_cold_and_warm() -> None:
    """The DML side of the SystemDS comparison is assembled without running Java (that runs in
    ``make bench`` only): each of the five pipelines defines ``pipeline(X, y)`` and its shape, and
    the driver times it on two data sets in one JVM."""
    from bench.systemds import run as sysds

    assert set(sysds.PIPELINES) == {"HLM", "HCV", "PCALM", "stepLM", "multilevel"}
    for name in sysds.PIPELINES:
        text = sysds.script(name, rows=123, cols=45)
        assert "pipeline = function(Matrix[Double] X, Matrix[Double] y) return (Double s)" in text
        assert "ROWS = 123" in text and "COLS = 45" in text
        assert text.count('print("TIME " + run') == 1 and "for (run in 1:2)" in text
    assert "sysds.cp.parallel.ops>false" in sysds.CONFIG and "sysds.native.blas>none" in sysds.CONFIG


@pytest.mark.parametrize("module", ["bench.bench_reuse", "bench.profile_reuse", "bench.count_reuse"])
def test_bench_commands_explain_themselves_and_refuse_unknown_flags(module: str) -> None:
    """``--help`` prints the usage and runs nothing; a misspelled flag is an error, not ignored
    (it used to start the whole benchmark either way: found by a newcomer)."""
    import importlib

    main = importlib.import_module(module).main
    with pytest.raises(SystemExit) as shown:
        main(["--help"])
    assert shown.value.code == 0
    with pytest.raises(SystemExit) as refused:
        main(["--rouns", "3"])
    assert refused.value.code == 2


def test_a_traced_variant_is_timed_on_an_empty_cache_without_the_emptying() -> None:
    """The benchmark times mlcontext's first run on an empty cache: the cache is emptied before and
    after the timed run, outside the timing (emptying is no part of a run, and what one run cached
    must not stay in memory while the plain and ideal variants run after it)."""
    from bench import bench_reuse as br

    ticks: list[str] = []

    def clock() -> float:
        ticks.append(f"clock entries={mc.reuse_stats().entries}")
        return float(len(ticks))

    def pipeline() -> object:
        ticks.append(f"run entries={mc.reuse_stats().entries}")
        x = mc.asarray(np.arange(400.0).reshape(20, 20))
        return np.linalg.solve(x.T @ x + np.eye(20), x.sum(axis=0))  # a solve is cached at once

    with mc.reuse("hybrid"):
        mc.asarray(np.ones(3)) + 1  # something in the cache before
        np.linalg.solve(mc.asarray(np.eye(30) * 2.0), mc.asarray(np.ones(30)))
        assert mc.reuse_stats().entries > 0
        elapsed, out = br._time(br._mlc(pipeline), clock)
        assert ticks == ["clock entries=0", "run entries=0", f"clock entries={ticks[2][14:]}"]
        assert int(ticks[2][14:]) > 0, "the timed run cached nothing: the test proves nothing"
        assert mc.reuse_stats().entries == 0, "the run's cached values outlive its timing"
        assert elapsed == 2.0 and isinstance(out, np.ndarray)
        plain_elapsed, _ = br._time(lambda: 1, clock)
        assert plain_elapsed == 1.0


_ANNOTATE = """\
--------------------------------------------------------------------------------
Ir
--------------------------------------------------------------------------------
1,000,000 (100.0%)  PROGRAM TOTALS

--------------------------------------------------------------------------------
Ir  file:function
--------------------------------------------------------------------------------
400,000 (40.00%)  ???:dgemm_kernel_HASWELL [/v/scipy.libs/libscipy_openblas-6cdc3b4a.so]
300,000 (30.00%)  /b/Python-3.11.7/Python/ceval.c:_PyEval_EvalFrameDefault'2 [/r/lib/libpython3.11.so.1.0]
100,000 (10.00%)  /project/deps/xxhash/xxhash.h:XXH3_update_avx2 [/v/xxhash/_xxhash.cpython-311.so]
 90,000 ( 9.00%)  ???:DOUBLE_add_X86_V3 [/v/numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so]
 60,000 ( 6.00%)  ./string/../sysdeps/x86_64/multiarch/memmove-vec.S:__memcpy_avx [/usr/lib/libc.so.6]
 50,000 ( 5.00%)  ???:0x0000000000012345 [/usr/lib/x86_64-linux-gnu/libz.so.1]
"""


def test_instruction_counts_are_split_by_layer_and_taken_per_run() -> None:
    """``bench.count_reuse`` reads callgrind_annotate's listing: every function in one layer, the
    layers adding up to the program's total, and one run's cost is the difference between a child
    that ran the variant 1 + N times and one that ran it once, divided by N."""
    from bench import count_reuse as cr

    layers = cr.parse_annotate(_ANNOTATE)
    assert layers == {"blas": 400_000, "interpreter": 300_000, "xxhash": 100_000, "numpy": 90_000,
                      "libc": 60_000, "other": 50_000}
    assert cr.layer_of("???:f [/v/lib/python3.11/site-packages/pandas/_libs/hashtable.cpython-311.so]") \
        == "extensions"  # a package's compiled code is not the interpreter's
    assert cr.layer_of("x.c:f [/r/versions/3.11.7/bin/python3.11]") == "interpreter"
    assert cr.layer_of("x.c:f [/r/lib/python3.11/lib-dynload/_json.cpython-311.so]") == "interpreter"
    assert cr.layer_of("e_exp.c:exp [/usr/lib/x86_64-linux-gnu/libm.so.6]") == "other"
    assert cr.layer_of("/b/Python-3.11.7/./Include/object.h:_PyFrame_Clear") == "interpreter"  # inlined
    assert cr.layer_of("x.c:main [/w/.venv/bin/python]") == "interpreter"
    assert sum(layers.values()) == 1_000_000
    more = cr.parse_annotate(_ANNOTATE.replace("300,000", "700,000"))
    one = cr.per_run(layers, more, runs=2)
    assert one["interpreter"] == 200_000 and one["blas"] == 0
    row = ("stepLM", {"ideal": dict.fromkeys(cr.LAYERS, 1e6), "mlc": {**dict.fromkeys(cr.LAYERS, 1e6),
                                                                        "interpreter": 3e6}},
           {"hits": 0, "partial_hits": 100, "misses": 700, "deferred": 200})
    text = cr.table([row])
    assert "| stepLM | mlc | 9.0 | 3.0 |" in text and "+2.0 (+29%)" in text and "2,000 (1000 calls" in text

"""Session 15, second part: a newcomer's stale ``@mc.step`` results, each kept as its input, with the
siblings of each kind.

1. A Gaussian kept by NumPy's legacy generator (``np.random.randn``) or by ``random.gauss`` was drawn
   without moving the part of the state that was compared: the call was cached.
2. Plain data of an installed module (``sys.argv``, ``math.tau`` set by the program) and the value a
   zero-argument ``functools.cache`` function returned at start-up were no part of the identity.
3. Names read from a string when the code runs: pandas' ``@name`` in ``query``/``eval``, builtin
   ``eval``/``exec`` of a constant, ``pd.eval``; ``eval`` of a string built at run time is refused.
4. An attribute given to a function after its identity was kept (``base.weight = 10``).
5. Randomness from the operating system (``uuid.uuid4``, ``os.urandom``, ``secrets``,
   ``random.SystemRandom``, unseeded generators) in a step's body.
6. Parquet (and Feather, ORC, dataset, IPC) files pyarrow opens in C++, without an audit event.
7. A ``RuntimeWarning`` a warning filter makes an error, served from the cache instead.

The cross-process tests run a script twice against one persistent store (``MLCONTEXT_HOME`` in a
temporary folder); the second process must compute, not read the first one's result.
"""

from __future__ import annotations

import functools
import json
import math
import os
import pathlib
import random
import secrets
import sys
import uuid
import warnings

import numpy as np
import pandas as pd
import pytest

import mlcontext as mc
from mlcontext.errors import FingerprintError
from mlcontext.fingerprint import hash_function
from mlcontext.reuse import errormodes
from script_runs import run_script

PRELUDE = """
import json, sys
import numpy as np
import mlcontext as mc
mc.reuse(persist=True, disk_bytes_per_s=float("inf"), persist_min_s=0, min_compute_s=0.0)
"""


def _run(folder: pathlib.Path, main: str, *argv: str, prelude: str = PRELUDE) -> dict:
    """Run ``main`` (after ``prelude``) in a fresh process in ``folder``; it prints one JSON line."""
    return run_script(folder, prelude, main, *argv)


def _hits() -> int:
    return mc.reuse_stats().step_hits


# -- 1. a Gaussian kept for the next draw ------------------------------------------------------------


def test_a_pending_numpy_gaussian_is_drawn_as_without_reuse():
    def plain(x):
        return x + np.random.randn()

    np.random.seed(0)
    np.random.randn()  # leaves one Gaussian kept in the legacy RandomState
    expected = [plain(1.0), plain(1.0), np.random.randn()]
    step = mc.step(plain)
    np.random.seed(0)
    np.random.randn()
    assert [step(1.0), step(1.0), np.random.randn()] == expected
    assert _hits() == 0


def test_a_pending_python_gaussian_is_drawn_as_without_reuse():
    def plain(x):
        return x + random.gauss(0, 1)

    random.seed(0)
    random.gauss(0, 1)  # random keeps the second of a pair in gauss_next
    expected = [plain(1.0), plain(1.0), random.random()]
    step = mc.step(plain)
    random.seed(0)
    random.gauss(0, 1)
    assert [step(1.0), step(1.0), random.random()] == expected
    assert _hits() == 0


RNG = random.Random(0)
NP_RNG = np.random.RandomState(0)


@pytest.mark.parametrize("reader", [lambda x: x + RNG.gauss(0, 1), lambda x: x + NP_RNG.randn()])
def test_a_generator_held_as_a_global_is_refused_not_reused(reader):
    with pytest.raises(FingerprintError, match="random generator"):
        hash_function(reader)
    step = mc.step(reader)
    with pytest.warns(mc.UnidentifiedWarning):
        first = step(1.0)
    assert step(1.0) != first


# -- 2. plain data of installed modules; values cached by a zero-argument function -------------------


def test_sys_argv_is_part_of_the_identity(monkeypatch):
    def scale(x):
        return x * float(sys.argv[1])

    monkeypatch.setattr(sys, "argv", ["prog", "2"])
    step = mc.step(scale)
    assert step(1.0) == 2.0
    sys.argv[1] = "3"  # in place: the list is hashed again at every call
    assert step(1.0) == 3.0
    monkeypatch.setattr(sys, "argv", ["prog", "5"])
    assert step(1.0) == 5.0
    assert step(1.0) == 5.0
    assert _hits() == 1


def test_a_number_set_on_an_installed_module_is_part_of_the_identity(monkeypatch):
    def turn(x):
        return x * math.tau

    step = mc.step(turn)
    assert step(1.0) == math.tau
    monkeypatch.setattr(math, "tau", 7.0)
    assert step(1.0) == 7.0


def test_plain_data_read_through_an_installed_submodule_is_part_of_the_identity(monkeypatch):
    monkeypatch.setattr(os.path, "mc_s15b_rate", 2.0, raising=False)

    def rate(x):
        return x * os.path.mc_s15b_rate

    before = hash_function(rate)
    monkeypatch.setattr(os.path, "mc_s15b_rate", 3.0)
    assert hash_function(rate) != before


def test_only_what_is_read_of_a_module_is_hashed(monkeypatch):
    # ``os.path`` and ``sys.stderr`` are read, not ``sys.path``: a changed sys.path is the same
    # identity (a name read of one module is not looked up on another).
    def log(x):
        print(os.path.join("a", "b"), file=sys.stderr)
        return x

    before = hash_function(log)
    monkeypatch.setattr(sys, "path", [*sys.path, "/elsewhere"])
    assert hash_function(log) == before


def test_getattr_with_a_constant_name_is_a_read(monkeypatch):
    def scale(x):
        return x * float(getattr(sys, "argv")[1])  # noqa: B009

    monkeypatch.setattr(sys, "argv", ["prog", "2"])
    before = hash_function(scale)
    monkeypatch.setattr(sys, "argv", ["prog", "3"])
    assert hash_function(scale) != before


def test_the_value_a_zero_argument_cached_function_holds_is_part_of_the_identity(tmp_path):
    path = tmp_path / "cfg.json"
    path.write_text('{"scale": 2}')

    @functools.lru_cache
    def load_cfg():
        return json.loads(path.read_text())

    def scaled(x):
        return x * load_cfg()["scale"]

    step = mc.step(scaled)
    assert step(1.0) == 2.0  # the body filled the cache: its identity changed, the call is not kept
    assert step(1.0) == step(1.0) == 2.0
    assert _hits() == 1
    path.write_text('{"scale": 3}')
    load_cfg.cache_clear()
    load_cfg()  # read again at "start-up"
    assert step(1.0) == 3.0


def test_a_cached_function_with_parameters_is_identified_by_its_code():
    @functools.cache
    def table(n):
        return list(range(n))

    def first(n):
        return table(n)[0]

    table(3)
    before = hash_function(first)
    table(4)  # its values cannot be read back: the documented limit
    assert hash_function(first) == before


def test_argv_and_a_config_read_at_start_up_are_recomputed_in_the_next_process(tmp_path):
    main = """
        import functools, os, time
        @functools.lru_cache
        def load_cfg():
            with open("cfg.json") as f:
                return json.load(f)
        load_cfg()
        @mc.step
        def from_argv(x):
            time.sleep(0.005)
            return x * float(sys.argv[1])
        @mc.step
        def from_cfg(x):
            time.sleep(0.005)
            return x * load_cfg()["scale"]
        print(json.dumps({"out": [from_argv(1.0), from_cfg(1.0)], "hits": mc.reuse_stats().persistent_hits}))
    """
    for scale in (2, 3, 2):
        (tmp_path / "cfg.json").write_text(json.dumps({"scale": scale}))
        got = _run(tmp_path, main, str(scale))
        assert got["out"] == [float(scale)] * 2
    assert got["hits"] == 2  # the first process's results are found again under its argv and config


# -- 3. names read from a string when the code runs ---------------------------------------------------

FRAME = pd.DataFrame({"fare": [0.5, 1.5, 2.5, 3.5]})
MIN_FARE = 1
RATE = 2.0
C = 2.0


def test_a_global_named_in_a_pandas_query_is_part_of_the_identity(monkeypatch):
    def expensive(df):
        return df.query("fare > @MIN_FARE")

    step = mc.step(expensive)
    assert step(FRAME).fare.tolist() == [1.5, 2.5, 3.5]
    monkeypatch.setitem(globals(), "MIN_FARE", 3)  # (set back after the test)
    assert step(FRAME).fare.tolist() == [3.5]
    traced = mc.frame(FRAME, name="trips")
    assert step(traced).to_pandas().fare.tolist() == [3.5]


def test_a_global_named_in_a_pandas_eval_is_part_of_the_identity(monkeypatch):
    def scaled(df):
        return df.eval("fare * @RATE")

    step = mc.step(scaled)
    assert step(FRAME).tolist() == [1.0, 3.0, 5.0, 7.0]
    monkeypatch.setitem(globals(), "RATE", 10.0)
    assert step(FRAME).tolist() == [5.0, 15.0, 25.0, 35.0]


def test_names_of_a_module_level_pd_eval_are_part_of_the_identity(monkeypatch):
    def total(df):
        return pd.eval("df.fare * RATE")

    before = hash_function(total)
    monkeypatch.setitem(globals(), "RATE", 4.0)
    assert hash_function(total) != before


def test_names_of_an_eval_of_a_constant_are_part_of_the_identity(monkeypatch):
    def scaled(x):
        return eval("x * C")  # noqa: S307

    step = mc.step(scaled)
    assert step(3.0) == 6.0
    monkeypatch.setitem(globals(), "C", 5.0)
    assert step(3.0) == 15.0


def test_an_eval_of_a_string_built_at_run_time_is_refused_not_guessed():
    def scaled(x, op):
        return eval("x " + op + " C")  # noqa: S307

    with pytest.raises(FingerprintError, match=r"eval\(\) of a string computed at run time"):
        hash_function(scaled)
    step = mc.step(scaled)
    with pytest.warns(mc.UnidentifiedWarning):
        assert step(3.0, "*") == 6.0
    assert step(3.0, "*") == 6.0
    assert _hits() == 0


@pytest.mark.parametrize("source", ["exec(code, ns)", 'eval(f"x * {name}")', 'eval("x * C".lower())'])
def test_each_form_of_code_built_at_run_time_is_refused(source):
    scope: dict = {}
    exec(f"def f(x, code='', ns=None, name='C'):\n    return {source}\n", scope)  # noqa: S102
    with pytest.raises(FingerprintError, match="computed at run time"):
        hash_function(scope["f"])


def test_an_eval_with_a_constant_and_a_namespace_is_not_refused():
    def scaled(x):
        return eval("x * k", {"k": 2.0, "x": x})  # noqa: S307

    hash_function(scaled)


def test_a_method_named_eval_with_a_computed_string_is_not_refused():
    def scaled(df, expr):
        return df.eval(expr), df.query(expr)

    hash_function(scaled)  # (df.query of a computed string: the documented limit)


# -- 4. attributes given to a function after its identity was kept ------------------------------------


def test_an_attribute_added_to_a_helper_after_a_call_is_seen():
    def base(x):
        return x

    def weight():
        return getattr(base, "weight", 1)

    def scored(x):
        return base(x) * weight()

    step = mc.step(scored)
    assert step(2) == 2
    base.weight = 10
    assert step(2) == 20
    del base.weight
    assert step(2) == 2


def test_an_attribute_added_to_the_step_s_own_function_is_seen():
    def scored(x):
        return x * getattr(scored, "weight", 1)

    step = mc.step(scored)
    assert step(2) == 2
    scored.weight = 3
    assert step(2) == 6


# -- 5. randomness from the operating system ---------------------------------------------------------


@pytest.mark.parametrize("draw", [
    lambda n: f"run-{uuid.uuid4()}",
    lambda n: os.urandom(n).hex(),
    lambda n: secrets.token_hex(n),
    lambda n: secrets.randbelow(10**9) + n,
    lambda n: random.SystemRandom().random() + n,
    lambda n: random.Random().random() + n,
    lambda n: float(np.random.default_rng().normal()) + n,
], ids=["uuid4", "urandom", "token_hex", "randbelow", "SystemRandom", "Random()", "default_rng()"])
def test_a_step_drawing_from_the_system_is_not_reused(draw):
    step = mc.step(draw)
    assert step(8) != step(8)
    assert _hits() == 0


def test_a_seeded_generator_is_still_reused():
    def draw(n):
        return float(np.random.default_rng(n).normal()) + random.Random(n).random()

    step = mc.step(draw)
    assert step(8) == step(8)
    assert _hits() == 1


def test_os_urandom_outside_a_step_is_os_urandom():
    import pickle

    @mc.step
    def noop(x):
        return x

    noop(1)  # (the wrappers are installed at a step's first run)
    assert len(os.urandom(4)) == 4
    assert pickle.loads(pickle.dumps(os.urandom)) is os.urandom
    assert random.Random(3).random() == random.Random(3).random()


# -- 6. files pyarrow opens in C++ ----------------------------------------------------------------------

pq = pytest.importorskip("pyarrow.parquet")


def _write(path: pathlib.Path, fares: list[float]) -> None:
    pd.DataFrame({"fare": fares}).to_parquet(path)


@pytest.mark.parametrize("reader", [
    lambda p: pd.read_parquet(p),
    lambda p: pq.read_table(p).to_pandas(),
    lambda p: pq.ParquetFile(p).read().to_pandas(),
    lambda p: __import__("pyarrow.dataset").dataset.dataset(p).to_table().to_pandas(),
], ids=["pd.read_parquet", "pq.read_table", "pq.ParquetFile", "ds.dataset"])
def test_a_parquet_file_rewritten_between_calls_is_read_again(tmp_path, reader):
    path = tmp_path / "trips.parquet"

    def mean(p):
        return float(reader(p)["fare"].mean())

    step = mc.step(mean)
    _write(path, [1.0, 2.0])
    assert step(str(path)) == 1.5
    _write(path, [10.0, 20.0])
    assert step(str(path)) == 15.0
    assert _hits() == 0


def test_feather_and_orc_files_read_by_pyarrow_are_seen(tmp_path):
    from pyarrow import feather, orc

    frame = pd.DataFrame({"fare": [1.0, 2.0]})
    frame.to_feather(tmp_path / "t.feather")
    frame.to_orc(tmp_path / "t.orc")

    @mc.step
    def both(folder):
        return (float(feather.read_table(f"{folder}/t.feather")["fare"][0].as_py())
                + float(orc.read_table(f"{folder}/t.orc")["fare"][0].as_py()))

    assert both(str(tmp_path)) == both(str(tmp_path)) == 2.0
    assert _hits() == 0


def test_a_parquet_buffer_is_no_read_from_outside():
    import pyarrow as pa

    buffer = pa.BufferOutputStream()
    pq.write_table(pa.table({"fare": [1.0, 2.0]}), buffer)
    data = buffer.getvalue().to_pybytes()

    @mc.step
    def mean(raw):
        return float(pq.read_table(pa.BufferReader(raw))["fare"].to_numpy().mean())

    assert mean(data) == mean(data) == 1.5
    assert _hits() == 1


def test_a_rewritten_parquet_file_is_read_again_in_the_next_process(tmp_path):
    main = """
        import time
        import pandas as pd
        @mc.step
        def mean(p):
            time.sleep(0.005)
            return float(pd.read_parquet(p)["fare"].mean())
        first = "pyarrow.parquet" in sys.modules  # (imported by the body itself: not seen before it ran)
        print(json.dumps({"out": [mean("trips.parquet"), mean("trips.parquet")], "imported": first,
                          "hits": mc.reuse_stats().step_hits + mc.reuse_stats().persistent_hits}))
    """
    _write(tmp_path / "trips.parquet", [1.0, 2.0])
    first = _run(tmp_path, main)
    assert first == {"out": [1.5, 1.5], "imported": False, "hits": 0}
    _write(tmp_path / "trips.parquet", [10.0, 20.0])
    assert _run(tmp_path, main)["out"] == [15.0, 15.0]


# -- 7. a RuntimeWarning a filter makes an error ------------------------------------------------------


def test_the_filters_decide_whether_a_runtime_warning_raises():
    decide = errormodes._decide
    assert decide([("error", None, Warning, None, 0)])
    assert decide([("error", None, RuntimeWarning, None, 0)])
    assert decide([("error", None, np.exceptions.ComplexWarning, None, 0)])
    assert not decide([("error", None, UserWarning, None, 0)])
    assert not decide([("ignore", None, RuntimeWarning, None, 0), ("error", None, Warning, None, 0)])
    assert decide([("ignore", None, RuntimeWarning, None, 17), ("error", None, Warning, None, 0)])
    assert not decide([("default", None, Warning, None, 0)])


def test_the_answer_follows_the_filters_in_and_out_of_catch_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not errormodes._warnings_raise()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert errormodes._warnings_raise()
            warnings.filterwarnings("ignore", category=RuntimeWarning)
            assert not errormodes._warnings_raise()
        assert not errormodes._warnings_raise()
        warnings.filterwarnings("error", category=RuntimeWarning)
        assert errormodes._warnings_raise()


def test_a_program_that_starts_with_warnings_as_errors_keeps_its_hits():
    # pytest's filterwarnings = ["error"]: what was computed under these filters raised instead of
    # being cached, so a hit hides nothing.
    assert errormodes._STARTED_STRICT
    a = mc.array(np.array([1.0, 4.0]), name="a")
    np.log(a)
    before = mc.reuse_stats().hits
    np.log(a)
    assert mc.reuse_stats().hits == before + 1


def test_warnings_made_errors_after_the_start_raise_where_plain_numpy_raises(tmp_path):
    main = """
        import warnings
        mc.reuse("hybrid", persist=False, min_compute_s=0, eager_s_per_byte=0)
        a = mc.array(np.array([1.0, 0.0]), name="a")
        @mc.step
        def logs(x):
            return np.log(x)
        def attempt(f, x):
            try:
                f(x)
                return "no error"
            except RuntimeWarning:
                return "raised"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            np.log(a), logs(np.array([1.0, 0.0]))  # cached, their warning not shown
        out = {}
        for name, setup in (("error", lambda: warnings.simplefilter("error")),
                            ("runtime", lambda: warnings.filterwarnings("error", category=RuntimeWarning))):
            with warnings.catch_warnings():
                setup()
                out[name] = [attempt(np.log, a), attempt(logs, np.array([1.0, 0.0]))]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            before = mc.reuse_stats()
            np.log(a), logs(np.array([1.0, 0.0]))
            after = mc.reuse_stats()
        out["hits_outside"] = [after.hits - before.hits, after.step_hits - before.step_hits]
        print(json.dumps(out))
    """
    got = _run(tmp_path, main, prelude="import json\nimport numpy as np\nimport mlcontext as mc\n")
    assert got == {"error": ["raised", "raised"], "runtime": ["raised", "raised"], "hits_outside": [1, 1]}

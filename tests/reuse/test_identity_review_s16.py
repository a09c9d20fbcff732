"""Session 16: a reviewer's and a newcomer's stale ``@mc.step`` results, each kept as its input, with
siblings.

1. The import function reached under a name the analysis did not follow: ``from importlib import
   import_module`` in the body, a default argument ``load=importlib.import_module``, a closure cell.
2. A module's namespace read by a string: ``vars(m)["RATE"]``, ``m.__dict__["RATE"]``.
3. ``np.frompyfunc(f, 1, 1)``: a ufunc named after ``f`` that NumPy gives no way back from, which was
   identified by its name alone, so an edited ``f`` kept the key.
4. An object identified by ``__mlcontext_fingerprint__()`` or a registered hasher (its state): an
   edited method of its class kept the key (a newcomer's finding, in one process and across two).

Peers' failures of the kind: joblib/joblib#1287 and joblib/joblib#680 (a function the cached one
calls was edited, and the old result was served).
"""

from __future__ import annotations

import pathlib
import textwrap
import warnings

import numpy as np
import pytest

import mlcontext as mc
from mlcontext.errors import FingerprintError
from mlcontext.fingerprint import hash_function
from script_runs import run_script
from user_modules import assert_follows_rate, rewrite, user_module

X = np.arange(6.0).reshape(2, 3)

# Each: the code of a module defining ``fare(a)``, which reads the helper module {m}'s RATE.
SHAPES = {
    "import_function_imported_in_the_body": """
        def fare(a):
            from importlib import import_module as load
            return load("{m}").scale(a)
    """,
    "dunder_import_imported_in_the_body": """
        def fare(a):
            from importlib import __import__ as load
            return load("{m}").scale(a)
    """,
    "import_function_as_a_default": """
        import importlib
        def fare(a, load=importlib.import_module):
            return load("{m}").scale(a)
    """,
    "import_function_as_a_keyword_default": """
        import importlib
        def fare(a, *, load=importlib.import_module):
            return load("{m}").scale(a)
    """,
    "import_function_in_a_closure": """
        import importlib
        def _make():
            load = importlib.import_module
            def fare(a):
                return load("{m}").scale(a)
            return fare
        fare = _make()
    """,
    "namespace_by_vars": """
        import importlib
        def fare(a):
            return a * vars(importlib.import_module("{m}"))["RATE"]
    """,
    "namespace_by_dunder_dict": """
        import importlib
        def fare(a):
            return a * importlib.import_module("{m}").__dict__.get("RATE")
    """,
    "namespace_of_an_imported_module_by_vars": """
        import {m}
        def fare(a):
            return a * vars({m})["RATE"]
    """,
    "attribute_by_attrgetter": """
        import operator, {m}
        def fare(a):
            return a * operator.attrgetter("RATE")({m})
    """,
    "attribute_by_getattribute": """
        import {m}
        def fare(a):
            return a * {m}.__getattribute__("RATE")
    """,
}


HELPER = "RATE = 2.0\n\ndef scale(x):\n    return x * RATE\n"


def _write(folder: pathlib.Path, name: str, rate: float) -> None:
    (folder / f"{name}.py").write_text(HELPER.replace("2.0", str(rate)))


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_helper_the_analysis_cannot_follow_by_name_is_in_the_identity(shape, tmp_path, monkeypatch) -> None:
    name = f"s16_helper_{shape}"
    module = user_module(tmp_path, monkeypatch, name, HELPER)
    scope: dict = {"__name__": "__main__"}
    exec(compile(textwrap.dedent(SHAPES[shape].format(m=name)), f"<{shape}>", "exec"), scope)  # noqa: S102
    assert_follows_rate(scope["fare"], module, X)


def test_code_without_the_import_machinery_keeps_its_identity_when_an_unread_module_changes(
        tmp_path, monkeypatch) -> None:
    # (the machinery found in defaults and cells only widens what functions that hold it read)
    module = user_module(tmp_path, monkeypatch, "s16_unread_helper", HELPER)

    def fare(a, how="s16_unread_helper"):
        return a * len(how)

    before = hash_function(fare)
    module.RATE = 5.0
    assert hash_function(fare) == before


def test_a_frompyfunc_ufunc_is_refused_not_identified_by_its_name() -> None:
    rate = {"value": 2.0}

    def raw(x):
        return x * rate["value"]

    ufn = np.frompyfunc(raw, 1, 1)

    def fare(a):
        return ufn(a).astype(float)

    with pytest.raises(FingerprintError, match="frompyfunc"):
        hash_function(fare)
    step = mc.step(fare)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        np.testing.assert_array_equal(step(X), X * 2.0)
        rate["value"] = 3.0
        np.testing.assert_array_equal(step(X), X * 3.0)
    assert any("never reused" in str(w.message) for w in caught)
    hash_function(lambda a: np.add(a, 1))  # NumPy's own ufuncs are still identified by name


PRELUDE = """
import importlib, json, sys
import numpy as np
import mlcontext as mc
mc.reuse(persist=True, disk_bytes_per_s=float("inf"), persist_min_s=0, min_compute_s=0.0)
"""


def test_an_edited_helper_behind_an_import_in_the_body_is_recomputed_in_the_next_process(tmp_path) -> None:
    _write(tmp_path, "s16_proc_helper", 2.0)
    main = """
        sys.path.insert(0, ".")

        @mc.step
        def fare(a):
            from importlib import import_module as load
            return load("s16_proc_helper").scale(a)

        x = mc.array(np.arange(4.0))
        print(json.dumps({"out": np.asarray(fare(x)).tolist(), "hits": mc.reuse_stats().persistent_hits}))
    """
    first = run_script(tmp_path, PRELUDE, main)
    again = run_script(tmp_path, PRELUDE, main)
    assert first["out"] == again["out"] == [0.0, 2.0, 4.0, 6.0] and again["hits"] >= 1  # reused
    _write(tmp_path, "s16_proc_helper", 3.0)
    edited = run_script(tmp_path, PRELUDE, main)
    assert edited["out"] == [0.0, 3.0, 6.0, 9.0]


CLASS_WITH_FINGERPRINT = """
class Scaler:
    def __init__(self, k):
        self.k = k

    def __mlcontext_fingerprint__(self):
        return ("Scaler", self.k)

    def apply(self, x):
        return {body}
"""

CLASS_REGISTERED = """
from mlcontext.fingerprint import register

class Scaler:
    def __init__(self, k):
        self.k = k

    def apply(self, x):
        return {body}

@register(Scaler)
def _feed_scaler(value, h):
    h.update(repr(value.k).encode())
"""


def test_an_edited_method_of_an_object_identified_by_its_state_is_recomputed_in_the_next_process(
        tmp_path) -> None:
    (tmp_path / "s16_proc_scaler.py").write_text(CLASS_WITH_FINGERPRINT.format(body="x * self.k"))
    main = """
        sys.path.insert(0, ".")
        from s16_proc_scaler import Scaler

        @mc.step
        def transform(x, scaler):
            return scaler.apply(x)

        out = transform(np.arange(4.0), Scaler(2))
        print(json.dumps({"out": np.asarray(out).tolist(), "hits": mc.reuse_stats().persistent_hits}))
    """
    first = run_script(tmp_path, PRELUDE, main)
    again = run_script(tmp_path, PRELUDE, main)
    assert first["out"] == again["out"] == [0.0, 2.0, 4.0, 6.0] and again["hits"] >= 1
    (tmp_path / "s16_proc_scaler.py").write_text(CLASS_WITH_FINGERPRINT.format(body="x * self.k + 1"))
    assert run_script(tmp_path, PRELUDE, main)["out"] == [1.0, 3.0, 5.0, 7.0]


CLASS_WITH_A_LOCK = """
import sqlite3, threading

_CONN = sqlite3.connect(":memory:")

class Scaler:
    _lock = threading.Lock()  # (no fingerprint: the very kind of object the hook is for)

    def __init__(self, k):
        self.k = k

    def __mlcontext_fingerprint__(self):
        return ("Scaler", self.k)

    def rows(self):
        return _CONN.execute("select 1").fetchall()

    def apply(self, x):
        return {body}
"""


@pytest.mark.parametrize("how", ["dunder", "registered", "unhashable_parts"])
def test_an_edited_method_of_an_object_identified_by_its_state_is_a_new_key(how, tmp_path,
                                                                           monkeypatch) -> None:
    # "unhashable_parts": feeding the whole class made such objects unfingerprintable, so their steps
    # were never reused (a reviewer's finding); their methods' code identifies the class then
    source = {"dunder": CLASS_WITH_FINGERPRINT, "registered": CLASS_REGISTERED,
              "unhashable_parts": CLASS_WITH_A_LOCK}[how]
    module = user_module(tmp_path, monkeypatch, f"s16_scaler_{how}", source.format(body="x * self.k"))

    @mc.step
    def transform(x, scaler):
        return scaler.apply(x)

    with mc.reuse("hybrid", min_compute_s=0.0):
        assert [transform(X, module.Scaler(2)).sum() for _ in range(3)] == [30.0] * 3
        assert mc.reuse_stats().step_hits == 2  # an unchanged class keeps its reuse
        module = rewrite(module, source.format(body="x * self.k + 1"))
        assert transform(X, module.Scaler(2)).sum() == 36.0


def test_a_guessed_attribute_without_a_fingerprint_is_not_a_refusal(tmp_path, monkeypatch) -> None:
    # vars(cfg) of an argparse namespace and a string "engine": a user module's unrelated `engine` (a
    # connection) made the step never reused (a reviewer's finding); only guessed, it is named instead
    module = user_module(tmp_path, monkeypatch, "s16_helpers_with_engine",
                         "import sqlite3\nengine = sqlite3.connect(':memory:')\nRATE = 2.0\n")
    scope: dict = {"__name__": "__main__", "helpers": module}
    exec(compile(textwrap.dedent("""
        def fare(a, cfg):
            opts = vars(cfg)
            return a * helpers.RATE if opts.get("engine", "python") == "python" else a
    """), "<guessed>", "exec"), scope)  # noqa: S102
    import argparse

    cfg = argparse.Namespace(engine="python")
    before = hash_function(scope["fare"])  # (no refusal)
    step = mc.step(scope["fare"])
    with mc.reuse("hybrid", min_compute_s=0.0):
        assert [step(X, cfg).sum() for _ in range(3)] == [30.0] * 3
        assert mc.reuse_stats().step_hits == 2
        module.RATE = 3.0
        assert hash_function(scope["fare"]) != before
        assert step(X, cfg).sum() == 45.0

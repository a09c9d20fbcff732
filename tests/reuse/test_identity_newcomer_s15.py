"""Session 15: a helper reached through the functional forms of ``import`` (``importlib.import_module``,
``__import__``, ``sys.modules[...]``) was hashed by importlib's version alone, so an edited helper served
the old result across processes (a newcomer's finding, with two people sharing a store). Each form is kept
here in one process and across processes; an import by a name computed at run time refuses reuse.

Peers' failures of the kind: joblib/joblib#1287 (Memory.cache keeps serving results after a helper
the cached function calls was edited) and joblib/joblib#680 (changes in called functions not detected).
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
from user_modules import assert_follows_rate, user_module

X = np.arange(6.0).reshape(2, 3)

FORMS = {
    "import_module": 'importlib.import_module("{m}")',
    "dunder_import": '__import__("{m}")',
    "sys_modules": 'sys.modules["{m}"]',
    # siblings a reviewer found still stale: the table's get, the function under another name, the
    # table imported by name, and the module's name held by a global
    "sys_modules_get": 'sys.modules.get("{m}")',
    "aliased_import_module": 'load("{m}")',
    "modules_imported": 'modules["{m}"]',
    "name_in_a_global": "importlib.import_module(HELPER)",
}


def _write(folder: pathlib.Path, name: str, rate: float) -> None:
    (folder / f"{name}.py").write_text(f"RATE = {rate}\n\ndef scale(x):\n    return x * RATE\n")


def _step(name: str, form: str):
    scope: dict = {}
    code = textwrap.dedent(f"""
        import importlib, sys
        from importlib import import_module as load
        from sys import modules
        HELPER = "{name}"
        def fare(a):
            import {name}  # noqa: F401  (loaded, as the forms below need for sys.modules)
            return {FORMS[form].format(m=name)}.scale(a)
    """)
    exec(compile(code, f"<{form}>", "exec"), scope)  # noqa: S102
    return scope["fare"]


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_helper_reached_by_a_functional_import_is_in_the_identity(form, tmp_path, monkeypatch) -> None:
    name = f"s15_helper_{form}"
    module = user_module(tmp_path, monkeypatch, name, "RATE = 2.0\n\ndef scale(x):\n    return x * RATE\n")
    fare = _step(name, form)
    assert_follows_rate(fare, module, X)


def test_an_import_by_a_name_computed_at_run_time_is_refused_not_guessed() -> None:
    import importlib

    def load(a, name="json"):
        return importlib.import_module(name).dumps(a.tolist())

    with pytest.raises(FingerprintError, match="computed at run time"):
        hash_function(load)
    step = mc.step(load)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert step(np.arange(3)) == "[0, 1, 2]"
        assert step(np.arange(3)) == "[0, 1, 2]"
    assert any("never reused" in str(w.message) for w in caught)


def test_model_modules_is_not_mistaken_for_sys_modules() -> None:
    def count(a, net):
        return len(net.modules()) * a

    hash_function(count)  # no refusal: .modules() with no constant name is a method call


PRELUDE = """
import importlib, json, sys
from importlib import import_module as load
HELPER = "s15_proc_helper"
import numpy as np
import mlcontext as mc
mc.reuse(persist=True, disk_bytes_per_s=float("inf"), persist_min_s=0, min_compute_s=0.0)
"""


def _run(folder: pathlib.Path, main: str) -> dict:
    """Run ``main`` (after PRELUDE) in a fresh process in ``folder``; it prints one JSON line."""
    return run_script(folder, PRELUDE, main)


def test_an_edited_helper_behind_import_module_is_recomputed_in_the_next_process(tmp_path) -> None:
    _write(tmp_path, "s15_proc_helper", 2.0)
    main = """
        @mc.step
        def fare(a):
            return importlib.import_module("s15_proc_helper").scale(a)
        @mc.step
        def tip(a):
            return __import__("s15_proc_helper").scale(a) + 1
        @mc.step
        def toll(a):
            return sys.modules.get("s15_proc_helper").scale(a) + 2
        @mc.step
        def fee(a):
            return load(HELPER).scale(a) + 3
        x = np.arange(4.0)
        out = [fare(x).tolist(), fare(x).tolist(), tip(x).tolist(), tip(x).tolist(), toll(x).tolist(),
               toll(x).tolist(), fee(x).tolist(), fee(x).tolist()]
        print(json.dumps({"out": out, "hits": mc.reuse_stats().step_hits}))
    """
    first = _run(tmp_path, main)
    assert first["out"][0] == [0.0, 2.0, 4.0, 6.0]
    _write(tmp_path, "s15_proc_helper", 3.0)
    second = _run(tmp_path, main)
    assert second["out"] == [[0.0 + k, 3.0 + k, 6.0 + k, 9.0 + k] for k in (0, 0, 1, 1, 2, 2, 3, 3)]

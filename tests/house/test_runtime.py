"""The runtime owns every layer's process state (issue 12 point 5, docs/state.md): its reset puts every
piece back as a fresh process has it and wires the layers again; per-run state is released when the
run ends.

A reset that forgets a piece is the classic test-isolation leak (synapse#11007/#11036: a cache
configured by one test changed the next; dask#10340: ``dask.config.set`` changing one global dict for
every thread): the first test below compares every piece with a fresh interpreter's."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

import mlcontext as mc
from mlcontext.errors import FingerprintError
from mlcontext.fingerprint import set_strict, unidentified
from mlcontext.lineage import dedup
from mlcontext.lineage.leaves import array_sink, set_array_sink
from mlcontext.lineage.step import set_call_hook
from mlcontext.ops import dispatch
from mlcontext.ops.sklearn_steps import set_use_hook
from mlcontext.reuse import get_cache, rewrites, set_tier_factory
from mlcontext.runtime import LAYERS, RUNTIME
from mlcontext.tracking import formats, stores, uses
from mlcontext.tracking.persistent_cache import default_tier
from mlcontext.tracking.state import STATE as TRACKING

# What a fresh process has, layer by layer, once reuse and the estimators are wired (read back the same
# way in a fresh interpreter below, so the two cannot drift apart).
PROBE = """
import json, mlcontext as mc
from mlcontext.runtime import RUNTIME
mc.array, mc.traced  # wire reuse and the estimators, as the first traced value does
def describe():
    fp, li, ops, re, tr = (RUNTIME.layer(n) for n in ("fingerprint", "lineage", "ops", "reuse", "tracking"))
    cache = re.cache
    return {
        "strict": fp.strict, "warned": len(fp.warned),
        "sink": li.sink is None, "call_hook": type(li.call_hook).__name__,
        "dedup": mc.lineage.dedup_enabled(),
        "executor": type(ops.executor).__name__, "partial": getattr(ops.executor, "partial", None),
        "ops_warned": len(ops.warned), "use_hook": getattr(ops.use_hook, "__qualname__", None),
        "config": repr(cache.config), "entries": len(cache.entries), "tier": cache.tier is None,
        "hits": cache.stats().hits, "events": cache.events.enabled,
        "rewrites": len(re.rewrites.stack_meta) + len(re.rewrites.prefix) + len(re.rewrites.sliced),
        "tier_factory": getattr(re.tier_factory, "__qualname__", None),
        "active": tr.active is None, "explicit": tr.explicit_store is None, "opened": len(tr.opened),
        "written": len(tr.written_here), "no_unpickling": tr.no_unpickling, "uses": len(tr.uses),
    }
"""


def describe() -> dict:
    namespace: dict = {}
    exec(PROBE, namespace)  # noqa: S102 - our own text, shared with the fresh interpreter
    return namespace["describe"]()


def fresh_process() -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE + "\nprint(json.dumps(describe()))"],
                         capture_output=True, text=True, check=True, timeout=120,
                         env={**os.environ, "MLCONTEXT_HOME": ""})
    return json.loads(out.stdout.strip().splitlines()[-1])


def set_every_piece(tmp_path) -> mc.Run:
    """Change every piece of state each layer owns; return the run left active."""
    set_strict(True)
    with pytest.raises(FingerprintError):
        unidentified("probe", FingerprintError("x"))
    set_strict(False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unidentified("probe", FingerprintError("x"))
    set_array_sink(lambda array, digest: None)
    dedup.set_dedup(False)
    dedup.DEDUP_OVERRIDE.set(False)
    dispatch.STATE.warned.add("numpy.probe")
    mc.reuse("full", budget=10**6, min_compute_s=0, eager_s_per_byte=0)
    X = mc.array(np.arange(400.0).reshape(20, 20))
    _ = X @ X
    _ = X @ X
    assert get_cache().entries and get_cache().stats().hits
    set_strict(True)
    set_call_hook(lambda info, run, args, kwargs: run(*args, **kwargs))
    rewrites.STATE.stack_meta[b"probe"] = None  # type: ignore[index]
    set_tier_factory(lambda: None)  # type: ignore[arg-type,return-value]
    get_cache().events.enabled = True
    os.environ["MLCONTEXT_HOME"] = str(tmp_path / "home")
    stores.get_store()  # opened from configuration
    mc.set_store(tmp_path / "explicit")
    get_cache().attach_tier(default_tier())
    formats.note_written("probe", "pickle")
    TRACKING.no_unpickling = 2
    run = mc.run("left-active", project="runtime")
    _fit_and_evaluate()
    assert TRACKING.uses
    set_use_hook(lambda use, estimator, items: None)
    return run


def test_reset_puts_every_piece_back_as_a_fresh_process_has_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MLCONTEXT_HOME", "")
    fresh = fresh_process()
    store = mc.Store.open(home=tmp_path / "explicit")
    run = set_every_piece(tmp_path)
    changed = describe()
    assert {k for k in fresh if changed[k] != fresh[k]} == set(fresh) - {"executor"}
    mc._reset_state()
    assert describe() == fresh
    assert dispatch.STATE.executor is not dispatch.execute  # reuse wired again, as in a fresh process
    assert store.metadata.get_run(run.id).status == "finished"  # ended as at the process's exit
    assert array_sink() is None


def test_every_slot_of_every_state_object_is_put_back_by_its_reset():
    """A slot added to a layer's state class but forgotten by its ``reset()`` fails here (only the
    slots a class declares as ``KEPT``, reset in place or constant, keep their object)."""
    for name in LAYERS:
        live = RUNTIME.layer(name)
        state = copy.copy(live)  # (a copy: the live state's objects are not touched)
        kept = getattr(type(state), "KEPT", ())
        planted = {}
        for slot in type(state).__slots__:
            if slot not in kept:
                value = getattr(state, slot)
                planted[slot] = type(value)() if isinstance(value, dict | set) else object()
                setattr(state, slot, planted[slot])
        state.reset()
        stale = [slot for slot, value in planted.items() if getattr(state, slot) is value]
        assert not stale, f"{type(state).__name__}.reset() leaves {stale} as they were"


def test_the_runtime_composes_every_layer_and_resets_only_those_imported():
    assert list(RUNTIME.loaded()) == list(LAYERS)
    assert all(callable(state.reset) for state in RUNTIME.loaded().values())
    code = ("import mlcontext as mc, sys\nfrom mlcontext.runtime import RUNTIME\nmc._reset_state()\n"
            "print(sorted(RUNTIME.loaded()), 'numpy' in sys.modules, 'mlcontext.tracking' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["[]", "False", "False"]  # a reset imports no layer


def test_reset_keeps_the_wiring_made_before_it():
    mc.traced  # noqa: B018 - wires the estimators' use hook
    mc.pd  # noqa: B018 - wires mc.pd.transformations
    assert {"reuse", "estimators", "pandas"} <= RUNTIME.wired
    mc._reset_state()
    assert dispatch.STATE.use_hook is uses._on_use
    assert mc.pd.transformations is not None
    assert type(RUNTIME.layer("lineage").call_hook).__name__ == "StepReuse"


# -- per-run state ends with the run --------------------------------------------------------------------
# Peers whose run state was process state: MLflow's fluent API kept the active run in one module global
# (mlflow#159: a `with start_run()` block had global consequences; mlflow#13456: a forked child
# inherited the parent's active run). Here the active run is the tracking layer's state, and what a run
# registered is released with it: a long process running many runs does not grow, and nothing of one
# run is left for the next.

def _fit_and_evaluate() -> None:
    data = mc.frame(pd.DataFrame({"a": np.arange(40.0), "y": np.arange(40.0) % 3}))
    mc.dataset(data, "all")
    test = mc.dataset(data.iloc[30:], "test", role="test")
    model = mc.traced(Ridge()).fit(data[["a"]].iloc[:30], data.y.iloc[:30])
    model.predict(test.frame()[["a"]])


@pytest.mark.parametrize("ending", ["finished", "failed"])
def test_a_runs_registries_are_released_when_it_ends(store, ending):
    for attempt in range(3):
        try:
            with mc.run(f"fit-{attempt}", project="release") as run:
                _fit_and_evaluate()
                assert run.id in TRACKING.uses and TRACKING.uses[run.id].registry
                if ending == "failed":
                    raise KeyError("crash")
        except KeyError:
            pass
        assert TRACKING.uses == {}, f"run {attempt} left {list(TRACKING.uses)}"
        assert not uses.registered_any(run.id)
    if ending == "finished":  # the accounting the registries served still happened
        assert mc.testuse("test")["evaluations"].sum() == 3


def test_a_run_ended_by_hand_releases_its_registries(store):
    run = mc.run("manual", project="release")
    _fit_and_evaluate()
    assert TRACKING.uses
    run.end()
    assert TRACKING.uses == {}

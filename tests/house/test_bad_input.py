"""Every public function given bad input raises an ``MLContextError`` that says what was wrong.

Table-driven over ``mlcontext.__all__`` (issue 12, point 8): each public callable has rows of bad
calls — wrong types, bad names, unknown references, ``None`` — each with the builtin the error must
also be (``TypeError`` for a wrong kind of argument, ``ValueError`` for a bad value, ``LookupError`` for
something that does not exist) and words its message must hold. A public name with neither rows nor a
stated exemption fails :func:`test_every_public_name_has_a_row`, so a new function cannot slip by.

Peer bugs of the same kind, each kept as rows here: MLflow's ``log_param(123, ...)`` raised an opaque
``TypeError`` from inside ``re.match`` instead of its own error (mlflow/mlflow#25183: ``mc.log(1, ...)``,
``mc.param(None, ...)``); MLflow refused a 0-d NumPy array as a metric value with a misleading message
(mlflow/mlflow#12870: ``mc.log("loss", "low")``, ``None``); joblib's ``Memory.cache`` of a
``functools.partial`` warned about a function named ``'unknown'`` and recomputed (joblib/joblib#1497: a
partial is identified by mc.step now; ``mc.step(len)``, a callable with no code, is refused);
``dvc.api.open`` of a path missing from the cache failed with a bare ``AssertionError``
(treeverse/dvc#4650: missing files for ``mc.load``, ``mc.read_csv``, ``mc.dataset``, ``mc.artifact``);
Evidently's ``Report.run`` without its optional reference data raised a ``TypeError`` about a missing
argument (evidentlyai/evidently#515: ``mc.drift(frame, None)``).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

import mlcontext as mc


@dataclass(frozen=True)
class Bad:
    """One bad call: ``call()`` must raise an MLContextError that is also ``builtin`` and whose
    message matches ``match`` (a regular expression, searched case-insensitively)."""

    what: str
    call: Callable[[], Any]
    builtin: type[BaseException]
    match: str


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]})


def _with(cm: Any) -> None:
    with cm:
        pass


# Questions about a dataset name that was never recorded (versions, history, tried, testuse) answer
# with an empty table of the usual columns and dtypes, not an error: "nobody has used it" is an answer
# (tests/insight/test_references_and_output.py). A reference to one version (trips@1) must exist.
CASES: dict[str, list[Bad]] = {
    # runs, params, metrics, artifacts, stores
    "run": [
        Bad("name not a string", lambda: mc.run(name=1), TypeError, r"name.*str"),
        Bad("name with odd characters", lambda: mc.run(name="a\nb"), ValueError, r"name"),
        Bad("store not a Store", lambda: mc.run(store="nowhere"), TypeError, r"store"),
    ],
    "Run": [
        Bad("name not a string", lambda: mc.Run(name=1), TypeError, r"name.*str"),
        Bad("project None-like number", lambda: mc.Run(project=3.5), TypeError, r"project"),
    ],
    "log": [
        Bad("name not a string", lambda: mc.log(1, 0.5), TypeError, r"name"),
        Bad("name a list (unhashable)", lambda: mc.log(["loss"], 0.5), TypeError, r"metric name.*str"),
        Bad("bad metric name", lambda: mc.log("a\nb", 0.5), ValueError, r"metric"),
        Bad("value a word", lambda: mc.log("loss", "low"), ValueError, r"loss.*not a number"),
        Bad("value None", lambda: mc.log("loss", None), ValueError, r"loss.*not a number"),
    ],
    "param": [
        Bad("name not a string", lambda: mc.param(None, 1), TypeError, r"name"),
        Bad("value not recordable", lambda: mc.param("lr", object()), ValueError, r"lr"),
    ],
    "artifact": [
        Bad("name not a string", lambda: mc.artifact(None, [1]), TypeError, r"name"),
        Bad("missing file", lambda: mc.artifact("data", "no/such/file.csv"), LookupError, r"no/such"),
    ],
    "loop": [
        Bad("name not a string", lambda: list(mc.loop(1, range(2))), TypeError, r"name"),
        Bad("name a list (unhashable)", lambda: list(mc.loop(["epoch"], range(2))), TypeError,
            r"loop name.*str"),
        Bad("not iterable", lambda: list(mc.loop("epoch", 5)), TypeError, r"iterable"),
        Bad("None", lambda: list(mc.loop("epoch", None)), TypeError, r"iterable"),
    ],
    "runs": [
        Bad("bad status", lambda: mc.runs(status="done-ish"), ValueError, r"status"),
        Bad("negative limit", lambda: mc.runs(limit=-1), ValueError, r"limit"),
        Bad("project not a string", lambda: mc.runs(project=1), TypeError, r"project"),
    ],
    "metrics": [
        Bad("unknown run", lambda: mc.metrics("loss", run="no-such-run"), LookupError, r"no-such-run"),
        Bad("name not a string", lambda: mc.metrics(1), TypeError, r"metric"),
    ],
    "get_run": [
        Bad("unknown run", lambda: mc.get_run("no-such-run"), LookupError, r"no-such-run"),
        Bad("None", lambda: mc.get_run(None), TypeError, r"run"),
        Bad("a number", lambda: mc.get_run(1.5), TypeError, r"run"),
    ],
    "load_artifact": [
        Bad("unknown run", lambda: mc.load_artifact("no-such-run", "model"), LookupError, r"no-such-run"),
        Bad("None", lambda: mc.load_artifact(None, "model"), TypeError, r"run"),
    ],
    "set_store": [
        Bad("a number", lambda: mc.set_store(1), TypeError, r"store"),
    ],
    "use_store": [
        Bad("a number", lambda: _with(mc.use_store(1)), TypeError, r"store"),
    ],
    "restore_code": [
        Bad("unknown run", lambda: mc.restore_code("no-such-run", "restored"), LookupError, r"no-such-run"),
        Bad("None", lambda: mc.restore_code(None, "restored"), TypeError, r"run"),
    ],
    "Store": [
        Bad("not a URL", lambda: mc.Store.open(metadata_url="not a url"), ValueError, r"URL"),
        Bad("home a number", lambda: mc.Store.open(home=1), TypeError, r"home"),
    ],
    # lineage and traced NumPy
    "array": [
        Bad("an object", lambda: mc.array(object()), TypeError, r"object"),
        Bad("None", lambda: mc.array(None), TypeError, r"None"),
        Bad("name not a string", lambda: mc.array([1, 2], name=1), TypeError, r"name"),
    ],
    "asarray": [
        Bad("an object", lambda: mc.asarray(object()), TypeError, r"object"),
        Bad("name not a string", lambda: mc.asarray([1, 2], name=1), TypeError, r"name"),
    ],
    "load": [
        Bad("missing file", lambda: mc.load("no/such/file.npy"), LookupError, r"no/such"),
        Bad("not .npy bytes", lambda: mc.load(b"not an npy file"), ValueError, r"npy"),
        Bad("None", lambda: mc.load(None), TypeError, r"None|file"),
    ],
    "recompute": [
        Bad("not a log", lambda: mc.recompute("this is no lineage log"), ValueError, r"log"),
        Bad("None", lambda: mc.recompute(None), TypeError, r"lineage"),
        Bad("a number", lambda: mc.recompute(42), TypeError, r"lineage"),
    ],
    "step": [
        Bad("a number", lambda: mc.step(1), TypeError, r"step"),
        Bad("name not a string", lambda: mc.step(name=1), TypeError, r"name"),
        Bad("a builtin", lambda: mc.step(len), TypeError, r"Python code"),
    ],
    # reuse
    "reuse": [
        Bad("unknown policy", lambda: _with(mc.reuse("sometimes")), ValueError, r"policy"),
        Bad("negative budget", lambda: _with(mc.reuse(budget=-1)), ValueError, r"budget"),
        Bad("budget a word", lambda: _with(mc.reuse(budget="big")), ValueError, r"budget"),
        Bad("unknown eviction", lambda: _with(mc.reuse(eviction="random")), ValueError, r"eviction"),
    ],
    "reuse_clear": [
        Bad("stats a word", lambda: mc.reuse_clear(stats="yes"), TypeError, r"stats"),
    ],
    "ReuseConfig": [
        Bad("unknown policy", lambda: mc.ReuseConfig(policy="sometimes"), ValueError, r"policy"),
    ],
    # pandas and scikit-learn
    "frame": [
        Bad("a number", lambda: mc.frame(1), TypeError, r"frame"),
        Bad("None", lambda: mc.frame(None), TypeError, r"frame"),
        Bad("name not a string", lambda: mc.frame(_frame(), name=1), TypeError, r"name"),
    ],
    "read_csv": [
        Bad("missing file", lambda: mc.read_csv("no/such/file.csv"), LookupError, r"no/such"),
        Bad("None", lambda: mc.read_csv(None), TypeError, r"path"),
        Bad("a text-mode file", lambda: mc.read_csv(io.StringIO("a\n1\n")), TypeError, r"binary"),
        Bad("empty bytes", lambda: mc.read_csv(b""), ValueError, r"read_csv.*no columns"),
        Bad("bad keyword value", lambda: mc.read_csv(b"a,b\n1,2\n", sep=1), TypeError, r"read_csv"),
        Bad("name not a string", lambda: mc.read_csv(b"a\n1\n", name=1), TypeError, r"name"),
    ],
    "read_parquet": [
        Bad("missing file", lambda: mc.read_parquet("no/such/file.parquet"), LookupError, r"no/such"),
        Bad("None", lambda: mc.read_parquet(None), TypeError, r"path"),
        Bad("not Parquet bytes", lambda: mc.read_parquet(b"not a parquet file"), ValueError, r"parquet"),
    ],
    "traced": [
        Bad("a number", lambda: mc.traced(1), TypeError, r"estimator"),
        Bad("None", lambda: mc.traced(None), TypeError, r"estimator"),
    ],
    "model_info": [
        Bad("a number", lambda: mc.model_info(1), TypeError, r"estimator"),
        Bad("None", lambda: mc.model_info(None), TypeError, r"estimator"),
        Bad("never fitted", lambda: mc.model_info(mc.traced(Ridge())), ValueError, r"not fitted.*mc.traced"),
    ],
    # datasets and the context questions
    "dataset": [
        Bad("name not a string", lambda: mc.dataset(_frame(), 1), TypeError, r"name"),
        Bad("bad name", lambda: mc.dataset(_frame(), "a\nb"), ValueError, r"name"),
        Bad("unknown role", lambda: mc.dataset(_frame(), "trips", role="holdout-ish"), ValueError, r"role"),
        Bad("an object", lambda: mc.dataset(object(), "trips"), TypeError, r"object"),
        Bad("None", lambda: mc.dataset(None, "trips"), TypeError, r"None"),
        Bad("missing file", lambda: mc.dataset("no/such/file.csv", "trips"), LookupError, r"no/such"),
    ],
    "dataset_version": [
        Bad("unknown dataset", lambda: mc.dataset_version("nosuch@1"), LookupError, r"nosuch"),
        Bad("None", lambda: mc.dataset_version(None), TypeError, r"None|reference"),
        Bad("a number", lambda: mc.dataset_version(1), TypeError, r"reference|dataset"),
    ],
    "versions": [
        Bad("None", lambda: mc.versions(None), TypeError, r"None|reference|dataset"),
    ],
    "profile": [
        Bad("a number", lambda: mc.profile(1), TypeError, r"frame"),
        Bad("None", lambda: mc.profile(None), TypeError, r"frame"),
    ],
    "drift": [
        Bad("unknown datasets", lambda: mc.drift("nosuch@1", "nosuch@2"), LookupError, r"nosuch"),
        Bad("numbers", lambda: mc.drift(1, 2), TypeError, r"frame|reference"),
        Bad("None", lambda: mc.drift(_frame(), None), TypeError, r"frame|reference"),
    ],
    "diff": [
        Bad("unknown refs", lambda: mc.diff("nosuch@1", "nosuch@2"), LookupError, r"nosuch"),
        Bad("None", lambda: mc.diff(None, None), TypeError, r"reference|None"),
    ],
    "find": [
        Bad("bad date", lambda: mc.find(since="last tuesday"), ValueError, r"since|date"),
        Bad("bad condition", lambda: mc.find(params=["lr >>> 1"]), ValueError, r"lr"),
        Bad("negative limit", lambda: mc.find(limit=-1), ValueError, r"limit"),
        Bad("unknown data", lambda: mc.find(data="nosuch@1"), LookupError, r"nosuch"),
    ],
    "derivation": [
        Bad("unknown ref", lambda: mc.derivation("nosuch@1"), LookupError, r"nosuch"),
        Bad("None", lambda: mc.derivation(None), TypeError, r"reference|None"),
        Bad("a number", lambda: mc.derivation(1), TypeError, r"reference|int"),
    ],
    "consumers": [
        Bad("unknown ref", lambda: mc.consumers("nosuch@1"), LookupError, r"nosuch"),
        Bad("None", lambda: mc.consumers(None), TypeError, r"reference|None"),
    ],
    "history": [
        Bad("None", lambda: mc.history(None), TypeError, r"reference|None|dataset"),
    ],
    "tried": [
        Bad("metric not a string", lambda: mc.tried("nosuch", 1), TypeError, r"metric"),
        Bad("bad mode", lambda: mc.tried("nosuch", "accuracy", mode="best"), ValueError, r"mode"),
    ],
    "testuse": [
        Bad("negative budget", lambda: mc.testuse(budget=-1), ValueError, r"budget"),
    ],
}

# Public names that take no input a user could get wrong, or that users receive and never build.
EXEMPT = {
    "active_run": "takes no arguments",
    "current_loops": "takes no arguments",
    "get_store": "takes no arguments (a bad environment is ConfigError: tests/store/test_config.py)",
    "reuse_stats": "takes no arguments",
    "reuse_events": "takes no arguments",
    "ArtifactRef": "a record the API returns; users do not build it",
    "RunRecord": "a record the API returns; users do not build it",
    "RunStatus": "the status names (constants)",
    "ReuseStats": "a record the API returns",
    "DatasetVersion": "a record the API returns",
    "Profile": "a record the API returns",
    "DriftReport": "a record the API returns",
    "DatasetDiff": "a record the API returns",
    "ModelDiff": "a record the API returns",
    "Graph": "a record the API returns",
    "TracedArray": "built by mc.array, mc.asarray and mc.load, which have rows",
    "TracedFrame": "built by mc.frame, mc.read_csv and mc.read_parquet, which have rows",
    "TracedSeries": "built by mc.frame and by frame operations",
    "lineage": "a namespace: its functions have rows under 'lineage.*'",
    "pd": "a namespace: its functions have rows under 'pd.*'",
    "random": "a namespace: its functions have rows under 'random.*'",
    "fingerprint": "a namespace: its functions have rows under 'fingerprint.*'",
    "__version__": "a string",
}

# The functions of the public namespaces (mc.lineage, mc.pd, mc.random) that take user input.
CASES.update({
    "lineage.loads": [
        Bad("not a log", lambda: mc.lineage.loads("this is no lineage log"), ValueError, r"log"),
        Bad("None", lambda: mc.lineage.loads(None), TypeError, r"log|str"),
    ],
    "lineage.dumps": [
        Bad("plain array", lambda: mc.lineage.dumps(np.ones(2)), TypeError, r"lineage|traced"),
        Bad("None", lambda: mc.lineage.dumps(None), TypeError, r"lineage|traced"),
    ],
    "fingerprint.hash_value": [
        Bad("an object", lambda: mc.fingerprint.hash_value(object()), TypeError, r"object"),
    ],
    # A seed that is a word or a generator state: ert made seeds int-only and asked for a message that
    # says what to pass (equinor/ert#6390); networkx re-raises a RandomState's AttributeError with a
    # message naming the fix (networkx/networkx#8520).
    "random.default_rng": [
        Bad("seed a word", lambda: mc.random.default_rng("seven"), TypeError, r"seed"),
        Bad("seed a float", lambda: mc.random.default_rng(1.5), TypeError, r"seed.*int"),
        Bad("negative seed", lambda: mc.random.default_rng(-1), ValueError, r"seed.*non-negative"),
        Bad("a SeedSequence", lambda: mc.random.default_rng(np.random.SeedSequence(1)), TypeError,
            r"int seed"),
    ],
    "random.Generator draws": [
        Bad("size a word", lambda: mc.random.default_rng(7).normal(size="x"), TypeError, r"normal"),
        Bad("empty range", lambda: mc.random.default_rng(7).integers(5, 1), ValueError, r"integers.*low"),
    ],
    "pd.concat": [
        Bad("a number", lambda: mc.pd.concat(1), TypeError, r"concat|frame"),
    ],
    "pd.merge": [
        Bad("numbers", lambda: mc.pd.merge(1, 2), TypeError, r"merge"),
    ],
    "pd.to_datetime": [
        Bad("an object", lambda: mc.pd.to_datetime(object()), TypeError, r"to_datetime"),
    ],
    "pd.to_numeric": [
        Bad("words", lambda: mc.pd.to_numeric(mc.frame(_frame()).b), ValueError, r"to_numeric.*parse"),
    ],
    "pd.get_dummies": [
        Bad("None", lambda: mc.pd.get_dummies(None), TypeError, r"get_dummies"),
    ],
    "pd.cut": [
        Bad("bins a word", lambda: mc.pd.cut(mc.frame(_frame()).a, "a"), TypeError, r"cut"),
    ],
    "pd.qcut": [
        Bad("negative q", lambda: mc.pd.qcut(mc.frame(_frame()).a, -1), ValueError, r"qcut.*q"),
    ],
})


def _is_error_class(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseException | Warning)


def test_every_public_name_has_a_row():
    public = {name for name in mc.__all__ if not _is_error_class(getattr(mc, name))}
    missing = public - set(CASES) - set(EXEMPT)
    assert not missing, f"public names without bad-input rows here (or an EXEMPT reason): {sorted(missing)}"
    stale = (set(CASES) | set(EXEMPT)) - public - {k for k in CASES if "." in k}
    assert not stale, f"rows for names that are not public any more: {sorted(stale)}"


@pytest.mark.parametrize(
    "case", [pytest.param(case, id=f"{name}: {case.what}") for name, rows in CASES.items() for case in rows]
)
def test_bad_input_raises_an_mlcontext_error(case: Bad, sqlite_store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths in the rows name nothing
    with pytest.raises(mc.MLContextError) as raised:
        case.call()
    error = raised.value
    assert isinstance(error, case.builtin), f"{type(error).__name__} is not a {case.builtin.__name__}"
    message = str(error)
    assert re.search(case.match, message, flags=re.I), message
    assert len(message) >= 20, f"too short to say what was wrong and what to do: {message!r}"

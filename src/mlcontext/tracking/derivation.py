"""What a run read and wrote, and how its outputs were derived: the edges the context questions walk.

An output with lineage (a traced array or frame) gets *lineage* edges from the nearest registered data
its lineage reaches (:func:`~.uses.data_sources`: the datasets and artifacts recorded from traced
values before it, else the leaves' dataset versions), explained by its lineage log, which is stored as
an artifact. A model fitted as a traced estimator gets a *fit* edge from the data it was fitted on and
an *evaluate* edge from the data it predicted or scored on. An output also gets *run* edges from what
the run read that none of those edges already leads back to: the coarse derivation a tracker without
lineage would know, kept only where lineage has nothing more precise to say.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import fractions
import functools
import json
import math
import pathlib
import re
import secrets
import sys
import types
from collections.abc import Callable
from typing import Any

import numpy as np
import xxhash

from ..errors import UsageError
from ..lineage import dumps
from ..lineage.item import walk
from ..lineage.log import roots_of
from ..ops.sklearn_steps import fit_data, uses_of
from ..store.context import ContextStore
from .uses import (
    Source,
    data_sources,
    explained_by_lineage,
    leaf_hash,
    made_by,
    note_made,
    part_of_saved,
    pending_reads,
    register,
    register_fits,
)

__all__ = ["lineage_leaves", "plain_value", "record_output", "model_metadata"]


def lineage_leaves(obj: Any) -> list[str] | None:
    """Content hashes of the data leaves ``obj`` was computed from; ``None`` if it has no lineage.

    A traced value that *is* a leaf (data handed in, not computed) has no derivation: ``[]``.
    """
    try:
        roots = roots_of(obj)
    except UsageError:  # not a traced value
        return None
    if all(not r.inputs for r in roots):
        return []
    leaves = (leaf_hash(i) for i in walk(roots) if not i.inputs)
    return list(dict.fromkeys(h for h in leaves if h is not None))


def plain_value(obj: Any) -> Any:
    """The untraced value of a traced array or frame, also inside dicts, lists and tuples (what a
    user saves holds no mlcontext object); anything else as it is."""
    if hasattr(obj, "lineage") and hasattr(obj, "_value"):
        value = obj._value
        return np.asarray(value) if isinstance(value, np.ndarray | np.generic) else value
    if type(obj) is dict:
        return {k: plain_value(v) for k, v in obj.items()}
    if type(obj) in (list, tuple):
        return type(obj)(plain_value(v) for v in obj)
    return obj


def record_output(run: Any, digest: str, obj: Any, name: str, *,
                  source: Source | None = None) -> dict[str, Any]:
    """Record how the artifact ``digest`` (made from ``obj``) was derived in ``run``.

    ``source`` describes ``digest`` when it is a dataset version (its role and version), for the
    outputs derived from it later. Returns metadata for the artifact (its lineage hash and the hash
    of the stored lineage log).
    """
    store, context = run.store, ContextStore(run.store.metadata)
    meta: dict[str, Any] = {}
    precise: list[str] = []
    try:
        roots = roots_of(obj)
    except UsageError:  # not a traced value
        roots = []
    if roots and any(r.inputs for r in roots):
        # The log is kept even when no registered data is upstream (a frame cleaned from a file
        # read but never registered): it is how this output was computed, and the edges *out* of
        # it describe only what came after it (insight.graph.operations_of cuts at its roots).
        log_hash = _store_log(run, name, digest, obj)
        sources = data_sources(store, run.id, roots, output=digest)
        precise += _add_edges(context, run, sources, digest, "lineage", log_hash)
        meta = {"lineage_hash": roots[0].hash, "lineage_log": log_hash}
    fits, evaluated = uses_of(obj)
    if fits:
        log_hash = _store_log(run, name, digest, fits)
        data = [i for fit in fits for i in fit_data(fit)]
        mine = part_of_saved(run.id, obj, fits)
        fitted_on = data_sources(store, run.id, data, output=digest, exclude=mine, used=True)
        evaluated_on = data_sources(store, run.id, evaluated, output=digest, exclude=mine, used=True)
        precise += _add_edges(context, run, fitted_on, digest, "fit", log_hash)
        # What the model was evaluated on, as computed from the evaluation data (the columns and
        # the target taken from a registered test set): the evaluate edges' operations.
        evaluation = _store_log(run, f"{name}.evaluation", digest, evaluated, use="evaluate") \
            if evaluated_on else None
        precise += _add_edges(context, run, evaluated_on, digest, "evaluate", evaluation)
        meta = {"lineage_hash": fits[-1].hash, "lineage_log": log_hash}
        # its predictions, recorded later in the run, come from this model
        register_fits(run.id, obj, fits, digest, source)
    for root in roots:  # outputs derived from this value later come from it, not from its sources
        register(run.id, root, source or Source(digest, root.hash))
    explained = bool(precise and roots) and not fits and explained_by_lineage(store, run.id, roots)
    _add_run_edges(context, run, digest, precise, no_models=explained)
    if (meta or _is_estimator(obj)) and (source is None or source.role != "test"):
        # Derived with traced lineage (a batch cut from registered data, a traced fit), or a model
        # (fitted traced or not: the plain predictions the run registers after saving it come from
        # it, a reviewer's finding): what the run goes on working with, a source of the plain outputs
        # it makes later. Any other plain output (an export) is an end product, never a source of
        # the run's other outputs. A test split the run made is not either: an untraced model saved
        # after the split would have a run edge from it, and an audit of test-set use would read it
        # as leakage (a reviewer's finding).
        note_made(run.id, digest)
    return meta


def _store_log(run: Any, name: str, digest: str, obj: Any, use: str | None = None) -> str:
    """Store the lineage log of ``obj`` as an artifact of kind ``lineage`` whose ``meta["of"]`` is
    the output it explains; ``use`` marks a log of what the output was *used* on (``evaluate``),
    which is not how it was computed."""
    log = dumps(obj).encode()
    log_hash = run.store.artifacts.put(log)
    run.store.metadata.add_artifact(run.id, f"{name}.lineage", log_hash, size=len(log), kind="lineage",
                                    meta={"of": digest} | ({"use": use} if use else {}))
    return log_hash


def _add_edges(context: ContextStore, run: Any, sources: list[Source], digest: str, kind: str,
               log_hash: str | None) -> list[str]:
    hashes = [s.artifact_hash for s in sources]
    context.add_edges([(h, digest) for h in hashes], run_id=run.id, kind=kind, log_hash=log_hash)
    return hashes


def _add_run_edges(context: ContextStore, run: Any, digest: str, precise: list[str], *,
                   no_models: bool = False) -> None:
    """Run edges from what the run read (test versions read as plain data and not counted yet too)
    and from what it derived before with traced lineage (a batch it cut and registered, then scored
    untraced: a newcomer's day-2 predictions had no edge from the day-2 batch), except where a
    precise edge already leads back to it. Inside an ``mc.loop`` every iteration's reads count: a
    loop may accumulate what earlier iterations read (an online model's ``partial_fit``, a
    day-over-day drift), and a run edge must never miss a dependency. ``no_models``: the output's
    lineage accounts for every value it came from (:func:`~.uses.explained_by_lineage`), so a model
    the run loaded is no source of it (a newcomer's batch cut from clean data had a run edge from the
    model the scoring run had loaded, and ``impact`` of the model listed every batch)."""
    # (what it derived is a source only of an output without lineage of its own: a traced output's
    # lineage already says which of the run's data it came from; the test split is not made from the
    # train split registered before it)
    made = [] if precise else made_by(run.id)
    read = dict.fromkeys([*context.inputs_of(run.id), *pending_reads(run.id), *made])
    inputs = [h for h in read if h != digest and h not in precise]
    if no_models and inputs:
        inputs = [h for h in inputs if (run.store.metadata.artifact_info(h) or ("",))[0] != "model"]
    if inputs and precise:
        upstream = {edge[0] for start in dict.fromkeys(precise)
                    for edge in context.closure(start, upstream=True)}
        inputs = [h for h in inputs if h not in upstream]
    context.add_edges([(h, digest) for h in inputs], run_id=run.id, kind="run")


def model_metadata(obj: Any) -> dict[str, Any]:
    """Application context of a model: class, hyper-parameters, input columns (scikit-learn API)."""
    get_params = getattr(obj, "get_params", None)
    if not callable(get_params):
        return {}
    cls = getattr(type(obj), "_mlcontext_base", type(obj))  # a traced estimator is its base class
    meta: dict[str, Any] = {"model_class": f"{cls.__module__}.{cls.__qualname__}"}
    meta["params"] = hyper_parameters(obj)
    columns = getattr(obj, "feature_names_in_", None)
    if columns is not None:
        meta["input_columns"] = [str(c) for c in columns]
    n_features = getattr(obj, "n_features_in_", None)
    if n_features is not None:
        meta["n_features"] = int(n_features)
    return meta | _traced_fit_metadata(obj)


def hyper_parameters(obj: Any) -> dict[str, Any]:
    """A model's hyper-parameters as JSON: scikit-learn's deep ``get_params()``, so a Pipeline's are
    those of its steps (``clf__C``, ``scaler__with_mean``), as ``GridSearchCV`` names them; a nested
    estimator is its class name, and a list of named steps (``steps``, ``transformers``) the names
    and classes of its steps. (The shallow parameters were ``steps`` as one repr, in which two
    designs differing in ``C`` could not be told apart, and traced steps showed internal class
    names.) A fitted search adds what it chose, ``best_params_``. ``{}`` for an object without
    ``get_params``."""
    get_params = getattr(obj, "get_params", None)
    if not callable(get_params):
        return {}
    try:
        params = get_params(deep=True)
    except TypeError:  # (an object whose get_params takes no ``deep``)
        try:
            params = get_params()
        except TypeError:
            return {}
    found = {k: _param_json(v, top=True) for k, v in sorted(params.items())}
    best = getattr(obj, "__dict__", {}).get("best_params_")
    if isinstance(best, dict):
        # A fitted search (GridSearchCV): its nested ``estimator__*`` parameters are the template's;
        # what it chose is ``best_params_`` (MLflow's autologging logs the two apart too).
        found["best_params_"] = {str(k): _param_json(v) for k, v in sorted(best.items())}
    return found


def _param_json(value: Any, top: bool = False) -> Any:
    """One hyper-parameter as strict JSON (PostgreSQL's json type refuses NaN, and a grid of
    ``np.arange`` values must equal the same grid of ints): NumPy scalars as Python ones, NaN and
    infinities as their text (``"nan"``, as ``repr`` gives), containers element by element,
    anything else JSON cannot hold by its ``repr``. An estimator is its class name where the deep
    parameters list its own (``top``: a step, ``clf``), else its class with all its parameters
    (``{"LogisticRegression": {"C": 0.01, ...}}`` in a ``param_grid`` or ``best_params_``: two grids
    of the same class differ; not scikit-learn's repr, which elides long ones with ``...``)."""
    if _is_estimator(value):
        return _class_name(value) if top else _estimator_json(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _param_json(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):  # (set order differs between processes)
        return sorted((_param_json(v) for v in value), key=_json_order)
    if isinstance(value, list | tuple):
        if value and all(isinstance(s, tuple) and len(s) >= 2 and isinstance(s[0], str) for s in value) \
                and any(_is_estimator(s[1]) for s in value):  # named steps: name, class, the rest
            return [[s[0], _param_json(s[1], top), *(_param_json(x) for x in s[2:])] for s in value]
        return [_param_json(x) for x in value]
    if isinstance(value, np.ndarray) and value.size <= 1000:
        return _param_json(value.tolist())
    return _json_safe(value, _object_text)


# A default repr's memory address (`<function f at 0x7f...>`, `RandomState(MT19937) at 0x7F...`):
# it differs in every process, so two runs of one design would never compare equal.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
# scipy.stats' own distributions: a frozen one is its name and parameters, nothing else
_SCIPY_DISTRIBUTIONS = ("scipy.stats._continuous_distns", "scipy.stats._discrete_distns")


class _NotComparable(Exception):
    """A value whose state no text can show whole."""


def _object_text(value: Any) -> str:
    """An object JSON cannot hold, as text that is equal for equal designs in any process and never
    equal for different ones.

    Comparable: a function or class its module holds under its qualified name (decorated there or
    not), a NumPy function or ufunc, by that name; ``functools.partial`` by its function and
    arguments; a bound method of a comparable object; a frozen distribution of scipy's own by its
    name and parameters as scipy reads them (``loguniform(0.001, 100.0, loc=0.0, scale=1.0)``:
    positional or keyword, int or float alike); a value whose repr is its whole value (an enum, a
    path, a date, a ``Decimal``, a dtype); an object whose state is all public attributes of
    comparable values, by its class and those attributes (``feats.Clip(k=0.5)``; their digest when
    long). Anything else is shown with ``not comparable`` and a token of its own, so it never
    compares equal to another run's rather than equal to a different design's: a random generator
    (a ``RandomState`` passed as ``random_state`` has been advanced by the fit when the model is
    saved; pass an int), a lambda, a closure a factory made, a local class, a fitted estimator's
    method, a distribution built from data, an object with private state, large arrays, pandas
    data."""
    try:
        return _text_of(value, 0, [0])
    except _NotComparable:
        label = _ADDRESS.sub("", _safe_repr(value))
        label = label if len(label) <= 80 else label[:77] + "..."
        return f"{label} (not comparable #{secrets.token_hex(4)})"


_BY_REPR = (enum.Enum, pathlib.PurePath, dt.date, dt.time, dt.timedelta, decimal.Decimal,
            fractions.Fraction, np.dtype, complex)
#: Attribute text longer than this is shown by its digest; more values than this are not compared.
_LONGEST, _MOST_VALUES = 400, 100_000


def _text_of(value: Any, depth: int, seen: list[int]) -> str:
    seen[0] += 1
    if depth > 4 or seen[0] > _MOST_VALUES:
        raise _NotComparable
    if isinstance(value, types.FunctionType | type) or type(value).__name__ == "_ArrayFunctionDispatcher":
        # A function or class its module holds under its name (decorated there or not: the same
        # object in every process that imports it); a lambda, a closure a factory made, a local
        # class is not found by name and can compute anything.
        if not _found_by_name(value):
            raise _NotComparable
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, np.ufunc):
        return f"numpy.{value.__name__}"
    if isinstance(value, types.BuiltinFunctionType):  # (builtin methods too)
        owner = getattr(value, "__self__", None)
        if owner is not None and not isinstance(owner, types.ModuleType):
            raise _NotComparable  # (a bound builtin method: its object's state is not shown)
        return f"{getattr(value, '__module__', None) or 'builtins'}.{value.__qualname__}"
    if isinstance(value, types.MethodType):
        if _is_estimator(value.__self__):
            raise _NotComparable  # (a fitted estimator's method: its fitted state is not shown)
        return f"{_text_of(value.__func__, depth + 1, seen)} of {_text_of(value.__self__, depth + 1, seen)}"
    if isinstance(value, functools.partial):
        args = [json.dumps(_plain(a, depth + 1, seen), sort_keys=True) for a in value.args]
        args += [f"{k}={json.dumps(_plain(v, depth + 1, seen), sort_keys=True)}"
                 for k, v in sorted(value.keywords.items())]
        return f"functools.partial({_text_of(value.func, depth + 1, seen)}{''.join(', ' + a for a in args)})"
    if isinstance(value, np.random.RandomState | np.random.Generator | np.random.BitGenerator):
        raise _NotComparable
    frozen = _frozen_distribution(value)
    if frozen is not None:
        return frozen
    if isinstance(value, _BY_REPR):
        return repr(value)
    attributes = getattr(value, "__dict__", None)
    if not isinstance(attributes, dict) or _is_distribution(value) or not attributes \
            or type(value).__module__.split(".")[0] == "pandas" \
            or any(type(k) is not str or k.startswith("_") for k in attributes):
        raise _NotComparable  # (its state is not all in public attributes)
    parts = ", ".join(f"{k}={json.dumps(_plain(v, depth + 1, seen), sort_keys=True)}"
                      for k, v in sorted(attributes.items()))
    if len(parts) > _LONGEST:  # (a large vocabulary: a digest keeps the text short and exact)
        parts = "#" + xxhash.xxh3_128_hexdigest(parts.encode())
    cls = type(value)
    if "<locals>" in cls.__qualname__:
        raise _NotComparable
    return f"{cls.__module__}.{cls.__qualname__}({parts})"


def _plain(value: Any, depth: int, seen: list[int]) -> Any:
    """An attribute or argument as JSON that shows all of it (sets sorted), or :class:`_NotComparable`."""
    seen[0] += 1
    if depth > 4 or seen[0] > _MOST_VALUES:
        raise _NotComparable
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float | np.generic):
        return _param_json(value)
    if isinstance(value, set | frozenset):
        return sorted((_plain(v, depth + 1, seen) for v in value), key=_json_order)
    if isinstance(value, dict):
        return {str(k): _plain(v, depth + 1, seen) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, depth + 1, seen) for v in value]
    if isinstance(value, np.ndarray):
        if value.size > 1000 or value.dtype.hasobject:
            raise _NotComparable
        return _param_json(value)
    if _is_estimator(value):
        return _estimator_json(value)
    return _text_of(value, depth + 1, seen)


def _found_by_name(value: Any) -> bool:
    """Whether ``value`` is what its module holds under its qualified name."""
    module = sys.modules.get(getattr(value, "__module__", None) or "")
    found: Any = module
    for part in str(getattr(value, "__qualname__", "<")).split("."):
        if part.startswith("<") or found is None:
            return False
        found = getattr(found, part, None)
    return found is value


def _json_order(value: Any) -> str:
    """The order of a set's elements: by their JSON text (the same in every process)."""
    return json.dumps(value, sort_keys=True, default=str)


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 - a repr that raises: the class names it
        return f"<{type(value).__qualname__}>"


def _is_distribution(value: Any) -> bool:
    return type(value).__module__.startswith("scipy.stats.")


def _frozen_distribution(value: Any) -> str | None:
    """A frozen distribution of one of scipy's own generators (``uniform_gen``, ``loguniform``),
    which its parameters describe whole; None for anything else (one built from data keeps its
    data out of its parameters)."""
    try:
        dist: Any = getattr(value, "dist", None)
        args, kwds = getattr(value, "args", None), getattr(value, "kwds", None)
    except Exception:  # noqa: BLE001 - a __getattr__ that raises KeyError
        return None
    name = getattr(dist, "name", None)
    if not isinstance(name, str) or not isinstance(args, tuple) or not isinstance(kwds, dict) \
            or type(dist).__module__ not in _SCIPY_DISTRIBUTIONS or not type(dist).__name__.endswith("_gen"):
        return None
    try:
        shapes, *where = dist._parse_args(*args, **kwds)  # (shapes, loc[, scale]) as scipy reads them
    except Exception:  # noqa: BLE001 - parameters scipy itself refuses: shown as given
        shapes, where = args, []
    parts = [json.dumps(_number(a)) for a in shapes]
    parts += [f"{k}={json.dumps(_number(v))}" for k, v in zip(("loc", "scale"), where, strict=False)]
    return f"{name}({', '.join(parts)})"


def _number(value: Any) -> Any:
    """A distribution parameter as scipy computes with it: ``100`` and ``1e2`` alike."""
    found = _param_json(value)
    return float(found) if isinstance(found, int) and not isinstance(found, bool) else found


def _estimator_json(value: Any) -> dict[str, Any]:
    """``{"LogisticRegression": {"C": 0.01, ...}}``: the class (a traced estimator's base class, at
    every depth) and its shallow parameters, nested estimators likewise."""
    try:
        params = value.get_params(deep=False)
    except TypeError:
        params = {}
    return {_class_name(value): {str(k): _param_json(v) for k, v in sorted(params.items())}}


def _is_estimator(value: Any) -> bool:
    try:
        return not isinstance(value, type) and callable(getattr(value, "get_params", None))
    except Exception:  # noqa: BLE001 - a __getattr__ that raises KeyError (a dict-backed config)
        return False


def _class_name(value: Any) -> str:
    cls = getattr(type(value), "_mlcontext_base", type(value))  # a traced step is its base class
    return str(cls.__qualname__)


def _traced_fit_metadata(obj: Any) -> dict[str, Any]:
    # A fit traced by mlcontext (mc.traced) also knows its lineage, sample count and scores.
    info = getattr(obj, "__dict__", {}).get("_mlcontext_info")
    if info is None:
        return {}
    return {"fit_lineage": info["fit_lineage"].hash, "n_samples": info["n_samples"],
            "input_columns": info["input_columns"] or [],
            "scores": [dict(s) for s in info["scores"]]}


def _json_safe(value: Any, text: Callable[[Any], str] = repr) -> Any:
    try:
        json.dumps(value, allow_nan=True)
        return value
    except (TypeError, ValueError):
        return text(value)

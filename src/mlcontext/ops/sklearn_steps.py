"""Estimator steps: scikit-learn ``fit``, ``transform``, ``predict``, ``score`` ... as lineage items.

:func:`traced` returns an estimator whose *leaf* estimators are instances of a traced subclass of
their own class (made once per class, with the same ``__init__``, so ``clone``, ``get_params``,
``set_params``, grid parameters and tags behave exactly as before). Composites that only
orchestrate (``Pipeline``, ``FeatureUnion``, ``GridSearchCV`` and the other searches) keep their
class and get traced leaves; every other estimator, ``ColumnTransformer`` included, is a leaf
whose ``fit`` is one item.

On traced inputs (frames, series, arrays) a leaf's ``fit`` is the item ``sklearn.fit`` keyed by the
estimator's class, its ``get_params()`` (nested estimators by class and params, functions by code)
and the input lineage; it runs through the dispatcher's executor, so the reuse cache returns a fit
it has seen before (a scaler fitted on the same fold for every grid candidate is fitted once) and
the fitted state is copied into the estimator. ``transform``/``predict``/``score``... are items
whose inputs are the fit and the data, while the estimator holds what the fit left: one edited
since (``m.coef_ = ...``, ``set_params``, a ``kw_args`` changed in place) computes its calls on its
current state, never reused (:mod:`.sklearn_state`). On plain inputs nothing is traced: the class
behaves as its base. Fits whose result is not determined by their lineage (``random_state=None``
where the estimator takes one, a ``RandomState`` object, ``warm_start=True``) are recorded but never
reused. No library is patched.

Fitted leaves keep their metadata — class, params, input columns, sample count, fit lineage and the
scores computed with them — for :func:`model_info` (application context).

Uses of data are reported to one hook (:func:`set_use_hook`, installed by the tracking layer, which
knows runs and datasets while this layer does not): ``("fit", estimator, data items)`` when a traced
leaf is fitted on traced data, ``("evaluate", estimator, data items)`` when it predicts or scores on
it (``EVALUATING``; ``transform`` is preprocessing, not an evaluation). A fitted leaf also keeps the
data items it was evaluated on, for the ``evaluate`` edges of a stored model (:func:`uses_of`).
"""

from __future__ import annotations

import copy
import copyreg
import importlib
import types
import uuid
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ..errors import FingerprintError, LineageError, UsageError
from ..fingerprint import hash_function
from ..lineage.item import Item, make
from ..lineage.literals import Literals, Node
from ..lineage.operations import register_operation
from ..lineage.patch import OUTPUT
from .dispatch import STATE, Uncanonical, execute_uncached, run, unwrap
from .pandas_frame import FrameArgs, TracedFrame, TracedSeries, wrap
from .sklearn_state import STATE_KEY, freeze_fitted, holds, private, refreeze, take, thaw, usable
from .traced import TracedArray

__all__ = ["traced", "model_info", "Fitted", "FIT", "FIT_TRANSFORM", "METHODS", "METHOD_OPCODES",
           "EVALUATING", "freeze_estimator", "set_use_hook", "uses_of", "fit_data"]

FIT = "sklearn.fit"
FIT_TRANSFORM = "sklearn.fit_transform"
METHODS = ("transform", "predict", "predict_proba", "predict_log_proba", "decision_function",
           "score", "inverse_transform")
#: The opcodes of those methods: their item's input 0 is the fit applied, the data comes after it.
METHOD_OPCODES = frozenset(f"sklearn.{name}" for name in METHODS)
#: Methods whose call on data is an evaluation of the estimator on that data.
EVALUATING = ("predict", "predict_proba", "predict_log_proba", "decision_function", "score")
_MARK = "sklearn.estimator"  # literal form of a nested estimator: (_MARK, class path, params)
_TRACED = (TracedFrame, TracedSeries, TracedArray)


class Fitted(NamedTuple):
    """The value of a fit item: the fitted estimator and, for ``fit_transform``, the transformed data."""

    estimator: Any
    output: Any


# -- classes ---------------------------------------------------------------------------------------

_CLASSES: dict[type, type] = {}  # base class -> its traced subclass
_BY_PATH: dict[str, type] = {}  # class path seen while tracing -> base class (recompute finds it)


def class_path(cls: type) -> str:
    """``sklearn.preprocessing.StandardScaler``: the public module path where it resolves."""
    module = cls.__module__
    parts = module.split(".")
    for k in range(1, len(parts) + 1):
        candidate = ".".join(p for p in parts[:k] if not p.startswith("_")) or parts[0]
        try:
            if getattr(importlib.import_module(candidate), cls.__name__, None) is cls:
                return f"{candidate}.{cls.__name__}"
        except ImportError:
            continue
    return f"{module}.{cls.__qualname__}"


def _resolve(path: str) -> type:
    cls = _BY_PATH.get(path)
    if cls is not None:
        return cls
    from sklearn.base import BaseEstimator

    module, _, name = path.rpartition(".")
    # Only scikit-learn's own classes are looked up by name: a log never imports anything else.
    if module.split(".")[0] == "sklearn":
        found = getattr(importlib.import_module(module), name, None)
        if isinstance(found, type) and issubclass(found, BaseEstimator):
            return found
    raise LineageError(f"estimator class {path} is not known in this process; import and use it "
                       "through mc.traced first")


def _traced_class(cls: type) -> type:
    sub = _CLASSES.get(cls)
    if sub is None:
        ns: dict[str, Any] = {"__module__": __name__, "__qualname__": f"Traced{cls.__name__}",
                              "_mlcontext_base": cls, "__reduce__": _reduce, "__copy__": _copy,
                              "__deepcopy__": _deepcopy,
                              "fit": _fit_method, "fit_transform": _fit_transform_method}
        for name in METHODS:
            if hasattr(cls, name):
                ns[name] = _traced_method(cls, name)
        if not hasattr(cls, "transform"):
            del ns["fit_transform"]
        if hasattr(cls, "partial_fit"):
            ns["partial_fit"] = _partial_fit_method
        sub = _CLASSES[cls] = type(f"Traced{cls.__name__}", (cls,), ns)
        # scikit-learn's set_output wraps the transform methods a subclass defines, turning what they
        # return into a plain DataFrame: a traced result lost its lineage there. The base class's own
        # methods, which the traced operations call, already apply the configuration.
        for name in ("transform", "fit_transform"):
            if name in ns:
                setattr(sub, name, ns[name])
        _BY_PATH[class_path(cls)] = cls
    return sub


def _reduce(self: Any) -> tuple:
    """Pickle as the plain estimator: its base class and its state without mlcontext's lineage.

    What users save (``mc.artifact``, ``joblib.dump(search.best_estimator_)``) must load where
    mlcontext is not installed (issue 10 item 9); lineage is kept in the store, not in their pickle.
    ``copyreg._reconstructor`` is the standard library's ``object.__new__(cls)`` (what pickle itself
    uses for protocols 0 and 1; ``__newobj__`` would insist on the traced class). In-process copies keep the
    traced class (``__copy__``/``__deepcopy__``); processes a pickle reaches (joblib workers) get the
    plain estimator, which fits untraced there.
    """
    state = self.__getstate__()
    base = self._mlcontext_base
    if isinstance(state, dict):
        state = {k: v for k, v in state.items() if not k.startswith("_mlcontext_")}
        if base.__module__.startswith("sklearn.") and "_sklearn_version" not in state:
            import sklearn  # scikit-learn records its version for its own classes only

            state["_sklearn_version"] = sklearn.__version__
    # What object.__reduce_ex__ gives a plain instance; typeshed leaves copyreg's helper out.
    reconstructor = copyreg._reconstructor  # type: ignore[attr-defined]
    return (reconstructor, (self._mlcontext_base, object, None), state)


def _copy(self: Any) -> Any:
    new = object.__new__(type(self))
    new.__dict__.update(self.__dict__)
    return new


def _deepcopy(self: Any, memo: dict) -> Any:
    new = object.__new__(type(self))
    memo[id(self)] = new
    state = copy.deepcopy(self.__dict__, memo)
    refreeze(state)  # the copy's fitted arrays are its own, read-only as the original's
    new.__dict__.update(state)
    return new


def _rebuild_traced(base: type, state: dict) -> Any:
    # Pickles written before the estimator was saved plain still load (into the traced class).
    obj: Any = object.__new__(_traced_class(base))  # an estimator of any class
    obj.__setstate__(state)
    return obj


def _is_composite(est: Any) -> bool:
    from sklearn.model_selection._search import BaseSearchCV
    from sklearn.pipeline import FeatureUnion, Pipeline

    return isinstance(est, Pipeline | FeatureUnion | BaseSearchCV)


def traced(estimator: Any) -> Any:
    """The estimator with its leaf estimators traced (a new object; ``estimator`` is unchanged).

    ``fit``, ``predict``, ``transform``, ``score`` ... of the traced estimator are traced operations:
    their results carry lineage, and a fit on traced data records what :func:`model_info` reports.
    Pipelines, column transformers and searches are traced step by step.

    Parameters
    ----------
    estimator : scikit-learn estimator
        An estimator (``Ridge()``), a pipeline, a column transformer or a search; fitted or not.

    Returns
    -------
    estimator
        A copy of ``estimator`` (same class for users: ``isinstance`` holds) whose methods are traced;
        a fitted one keeps its fitted state. Its predictions carry lineage once it is fitted through
        mlcontext (on traced data); a model fitted elsewhere (loaded with ``mc.load_artifact``)
        predicts as before, with plain results: its fit has no lineage to start from.

    Raises
    ------
    UsageError
        ``estimator`` is not a scikit-learn estimator (a number, ``None``, a class instead of an
        instance).

    Examples
    --------
    >>> import numpy as np, mlcontext as mc
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.linear_model import Ridge
    >>> model = mc.traced(make_pipeline(StandardScaler(), Ridge(alpha=0.5)))
    >>> X = mc.array(np.arange(12.0).reshape(6, 2), name="X")
    >>> y = mc.array(np.arange(6.0), name="y")
    >>> pred = model.fit(X, y).predict(X)
    >>> pred.lineage.opcode, pred.lineage.inputs[0].opcode
    ('sklearn.predict', 'sklearn.fit')
    >>> mc.model_info(model)["steps"]["ridge"]["params"]["alpha"]
    0.5
    """
    from sklearn.base import BaseEstimator

    if not isinstance(estimator, BaseEstimator):
        raise UsageError(f"mc.traced takes a scikit-learn estimator (an object with fit/get_params, e.g. "
                         f"StandardScaler()), not {type(estimator).__name__} {estimator!r:.60}")
    # Copies, not clones: a clone is unfitted, and a fitted model given to mc.traced (one loaded by
    # mc.load_artifact) raised NotFittedError at its first predict.
    params = estimator.get_params(deep=False)
    if _is_composite(estimator):
        changed = {k: _traced_param(v) for k, v in params.items()}
        result = _copy_of(estimator, type(estimator), params).set_params(
            **{k: v for k, v in changed.items() if v is not params[k]})
        best = vars(result).get("best_estimator_")
        if best is not None:
            # A fitted search predicts with its refit, a fitted attribute no parameter reaches: a
            # loaded search wrapped by mc.traced predicted untraced, plain arrays (a newcomer's).
            result.best_estimator_ = traced(best)
        return result
    # (an estimator traced before keeps its fit's lineage: its attributes are copied with the rest)
    return _copy_of(estimator, _traced_class(getattr(estimator, "_mlcontext_base", type(estimator))), params)


def _copy_of(estimator: Any, cls: type, params: dict[str, Any]) -> Any:
    """A copy of ``estimator`` of class ``cls`` whose parameters are the objects it was given.

    Its fitted state is copied, but a parameter is what scikit-learn holds too: the caller's own
    object. A ``kw_args`` dict the caller changes after the fit changes what the traced
    ``FunctionTransformer`` computes, as it does for the plain one; a ``RandomState`` given as
    ``random_state`` is advanced by every fit, as scikit-learn documents (copying them made two fits
    identical and left the caller's generator untouched, a newcomer's finding). Nested estimators
    are copied (``estimator`` is left unchanged), generators inside them still shared.
    """
    memo: dict[int, Any] = {id(v): v for v in params.values() if not _holds_estimator(v)}
    for v in params.values():
        if hasattr(v, "get_params") and not isinstance(v, type):  # a nested estimator's generators
            memo.update((id(g), g) for g in v.get_params(deep=True).values()
                        if isinstance(g, np.random.RandomState | np.random.Generator))
    state = copy.deepcopy(vars(estimator), memo)
    refreeze(state)
    new: Any = object.__new__(cls)
    new.__dict__.update(state)
    return new


def _holds_estimator(value: Any, depth: int = 0) -> bool:
    from sklearn.base import BaseEstimator

    if isinstance(value, BaseEstimator):
        return True
    if isinstance(value, list | tuple) and depth < 4:
        return any(_holds_estimator(v, depth + 1) for v in value)
    return False


def _traced_param(value: Any) -> Any:
    from sklearn.base import BaseEstimator

    if isinstance(value, BaseEstimator):
        return traced(value)
    if isinstance(value, list) and any(isinstance(v, tuple) for v in value):  # steps, transformer_list
        return [tuple(traced(x) if isinstance(x, BaseEstimator) else x for x in v)
                if isinstance(v, tuple) else v for v in value]
    return value


# -- literals of estimator params --------------------------------------------------------------------

class _EstimatorArgs(FrameArgs):
    """Pandas-call literals plus nested estimators, written as ``(_MARK, class path, params)``."""

    __slots__ = ()

    def canon(self, x: Any) -> tuple[Node, Any]:
        from sklearn.base import BaseEstimator

        if isinstance(x, BaseEstimator):
            cls = getattr(x, "_mlcontext_base", type(x))
            _BY_PATH.setdefault(class_path(cls), cls)
            node, _ = self.canon_kwargs(_identity_params(x))
            return ("T", (("s", _MARK), ("s", class_path(cls)), node)), x
        if isinstance(x, np.random.RandomState | np.random.Generator):
            raise Uncanonical("a random generator object")
        return super().canon(x)


# The key under which an estimator's ``set_output`` configuration joins its params in a literal: it is
# no param (``get_params`` leaves it out), yet it decides what the estimator returns (a traced
# ColumnTransformer rebuilt without it gave columns 0, 1 where scikit-learn gave n__mean_radius, and
# two fits differing only in it would have shared a cache entry).
OUTPUT_CONFIG = "__sklearn_output__"


def _identity_params(estimator: Any) -> dict[str, Any]:
    """``estimator``'s params, with the output configuration it transforms under when it is not
    scikit-learn's default: its own ``set_output``, else the global ``transform_output`` setting
    (``sklearn.config_context(transform_output="pandas")``: a reviewer's cached array was served
    where pandas output was configured). Sorted by name, as the literal of a dict is."""
    params = estimator.get_params(deep=False)
    config = _output_config(estimator)
    if config:
        params = dict(sorted({**params, OUTPUT_CONFIG: config}.items()))
    return params


def _output_config(estimator: Any) -> dict[str, str]:
    """The output configuration ``estimator`` transforms under, when it is not the default.
    (Read before every traced call on traced data: kept to a dict lookup where there is none.)"""
    own = getattr(estimator, "__dict__", {}).get("_sklearn_output_config")
    config = {k: v for k, v in sorted(own.items()) if isinstance(v, str)} if own else {}
    if "transform" not in config and _configurable(type(estimator)):
        chosen = _GET_CONFIG[0]().get("transform_output", "default")
        if chosen != "default":
            config["transform"] = chosen
    return config


def _configurable(cls: type) -> bool:
    """Whether ``cls`` has ``set_output`` (and so transforms under the global configuration)."""
    known = _CONFIGURABLE.get(cls)
    if known is None:
        if not _GET_CONFIG:
            from sklearn import get_config

            _GET_CONFIG.append(get_config)
        known = _CONFIGURABLE[cls] = hasattr(cls, "set_output")
    return known


_CONFIGURABLE: dict[type, bool] = {}
_GET_CONFIG: list[Callable[[], dict[str, Any]]] = []  # sklearn.get_config, once it is imported


def _param_key(value: Any) -> Any:
    """A parameter's literal form as a fit item's key holds it, comparable with ``==``: plain values
    as they are, functions by their identity (which covers the globals they read), anything else by
    its literal; None when it has none (a generator, an object such as ``KFold(5)``)."""
    plain = _plain_key(value, 0)
    if plain is not None:
        return plain
    if isinstance(value, np.random.RandomState | np.random.Generator):
        return None  # (a generator's draws advance it: no predict reads it, sklearn seeds at fit)
    try:
        if isinstance(value, types.FunctionType):
            return ("fn", hash_function(value))
        col = _EstimatorArgs()
        node, _ = col.canon(value)
    except Uncanonical:
        return None
    except FingerprintError:  # (a function that cannot be identified: its identity may change)
        return object()  # equal to nothing: the estimator's calls are never reused
    return node, tuple(i.hash for i in col.items)


_PLAIN = (int, float, str, bool, type(None))


def _plain_key(value: Any, depth: int) -> Any:
    """A dict, list or tuple of plain scalars (a ``kw_args``) as a tuple compared with ``==``, in
    order and by type (NaN as a string, so that it equals itself); None for anything else."""
    t = type(value)
    if t in _PLAIN:
        return (t, "nan" if value != value else value)
    if depth > 8 or t not in (dict, list, tuple):
        return None
    items = value.items() if t is dict else enumerate(value)
    parts = []
    for k, v in items:
        key = _plain_key(v, depth + 1)
        if key is None or (t is dict and type(k) is not str):
            return None
        parts.append((k, key))
    return (t, tuple(parts))


def _new_estimator(cls: type, params: dict[str, Any]) -> Any:
    """An estimator of ``cls`` from literal ``params`` (nested estimators rebuilt), configured by
    :data:`OUTPUT_CONFIG` when the literal holds it."""
    params = dict(params)
    config = params.pop(OUTPUT_CONFIG, None)
    estimator = cls(**{k: _rebuild(v) for k, v in params.items()})
    if config:
        estimator.set_output(**config)
    return estimator


def _rebuild(value: Any) -> Any:
    """Turn ``(_MARK, path, params)`` literals back into estimators (inside containers too)."""
    if isinstance(value, tuple) and len(value) == 3 and value[0] == _MARK and isinstance(value[2], dict):
        return _new_estimator(_resolve(value[1]), value[2])
    if isinstance(value, list | tuple):
        return type(value)(_rebuild(v) for v in value)
    if isinstance(value, dict):
        return {k: _rebuild(v) for k, v in value.items()}
    return value


def _reusable(params: dict) -> bool:
    # An unseeded estimator draws from NumPy's global generator; warm starts depend on the last fit.
    # scikit-learn 1.9's TargetEncoder holds "deprecated" where random_state was None: unseeded too.
    return not (("random_state" in params and params["random_state"] in (None, "deprecated"))
                or params.get("warm_start") is True)


# -- the operations ----------------------------------------------------------------------------------

def _new(path: str, params: dict) -> Any:
    return _new_estimator(_resolve(path), params)


def _op_fit(X: Any, y: Any, path: str, params: dict, nonce: Any = None, /, **fit_params: Any) -> Fitted:
    return Fitted(_new(path, params).fit(X, y, **fit_params), None)


def _op_fit_transform(X: Any, y: Any, path: str, params: dict, nonce: Any = None, /,
                      **fit_params: Any) -> Fitted:
    est = _new(path, params)
    return Fitted(est, est.fit_transform(X, y, **fit_params))


def _op_method(name: str) -> Callable[..., Any]:
    def run(estimator: Any, /, *args: Any, **kwargs: Any) -> Any:
        if isinstance(estimator, Fitted):  # the value of a fit item (recompute): maybe the cache's
            estimator = usable(estimator.estimator)
        base = getattr(estimator, "_mlcontext_base", None)
        method = getattr(base, name) if base is not None else getattr(type(estimator), name)
        return method(estimator, *args, **kwargs)  # the base class's method: never traced again
    return run


register_operation(FIT, _op_fit)
register_operation(FIT_TRANSFORM, _op_fit_transform)
for _name in METHODS:
    register_operation(f"sklearn.{_name}", _op_method(_name))


# -- uses of data, told to the tracking layer ----------------------------------------------------------

UseHook = Callable[[str, Any, tuple[Item, ...]], None]
# Data each fitted leaf was evaluated on; kept beside the estimator, not in its pickled state, so a
# stored model's bytes do not depend on what it was evaluated on.
_EVALUATED: weakref.WeakKeyDictionary[Any, list[Item]] = weakref.WeakKeyDictionary()


def set_use_hook(hook: UseHook | None) -> UseHook | None:
    """Call ``hook(use, estimator, data_items)`` on every traced fit (``"fit"``) and evaluation
    (``"evaluate"``); ``None`` removes it. Returns the previous hook."""
    old, STATE.use_hook = STATE.use_hook, hook
    return old


def _note_use(use: str, estimator: Any, items: tuple[Item, ...]) -> None:
    try:
        if use == "evaluate":  # (each item once: a scoring loop predicts thousands of times)
            seen = _EVALUATED.setdefault(estimator, [])
            seen.extend(i for i in items if i not in seen)
        elif use == "fit":
            _EVALUATED.pop(estimator, None)  # a new fit: earlier evaluations were of another model
    except TypeError:  # an estimator class that is unhashable or refuses weak references
        pass
    hook = STATE.use_hook
    if hook is not None and items:
        hook(use, estimator, items)


def uses_of(estimator: Any) -> tuple[list[Item], list[Item]]:
    """``(fit items, evaluated data items)`` of a fitted traced estimator, through composites
    (``Pipeline`` steps, a search's ``best_estimator_``); empty lists for an untraced estimator."""
    fits: list[Item] = []
    evaluated: list[Item] = []
    if not hasattr(estimator, "get_params"):
        return fits, evaluated
    for leaf in _leaves(estimator):
        state = getattr(leaf, "__dict__", {})
        if state.get("_mlcontext_fit") is not None:
            fits.append(state["_mlcontext_fit"])
        try:
            evaluated.extend(_EVALUATED.get(leaf, ()))
        except TypeError:
            pass
    return fits, evaluated


def _leaves(estimator: Any) -> list[Any]:
    best = getattr(estimator, "__dict__", {}).get("best_estimator_")
    if best is not None:
        return _leaves(best)
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list):
        return [leaf for _, step in steps if step not in (None, "passthrough") for leaf in _leaves(step)]
    return [estimator]


def _has_lineage(*values: Any) -> bool:
    return any(isinstance(v, _TRACED) for v in values)


def _fit_item(self: Any, opcode: str, X: Any, y: Any, fit_params: dict) -> tuple[Item, tuple, dict]:
    params = _identity_params(self)
    base = self._mlcontext_base
    nonce = None if _reusable(params) else uuid.uuid4().hex
    col = _EstimatorArgs()
    lit, args, kwargs = col.call((X, y, class_path(base), params, nonce), fit_params)
    # (the cached fit may keep a plain array it is given, which the cache then freezes: see _owned)
    X_, y_, kwargs = _owned((args[0], args[1], kwargs), (X, y, fit_params))
    return make(opcode, tuple(col.items), lit), (X_, y_, *args[2:]), kwargs


def _run(opcode: str, item: Item, args: tuple, kwargs: dict) -> Any:
    from ..lineage.operations import OPERATIONS

    op = OPERATIONS[opcode]
    if Literals(item.literals).arg(4) != ("n", None):  # a nonce: not reusable, never probe a cache
        return execute_uncached(op, item, args, kwargs)
    return run(op, item, args, kwargs)


def _adopt(self: Any, fitted: Any, item: Item, X: Any) -> None:
    """Copy a fitted estimator's state into ``self`` (the cached one is never changed).

    Arrays are shared read-only (the cache froze them); containers (an MLP's list of weight
    matrices, a dict of per-class state) are copied, the frozen arrays in them shared; object arrays
    of sub-estimators are the estimator's own copies (see :mod:`.sklearn_state`)."""
    params = self.get_params(deep=False)
    for k, v in vars(fitted).items():
        if k not in params:
            self.__dict__[k] = private(v)
    _record_fit(self, item, X, params)


def _record_fit(self: Any, item: Item, X: Any, params: dict[str, Any] | None = None) -> None:
    """Make ``item`` the fit ``self``'s state came from (its later calls are keyed by it, while the
    state stays what the fit left: :func:`~.sklearn_state.take`). ``params``: its
    ``get_params(deep=False)``, when the caller has them."""
    params = self.get_params(deep=False) if params is None else params
    self.__dict__["_mlcontext_fit"] = item
    self.__dict__["_mlcontext_info"] = _info(self, item, X, params)
    take(self, params, _param_key, _output_config(self))
    _note_use("fit", self, fit_data(item))


def _unique_fit(base: type, inputs: tuple[Item, ...], kind: str) -> Item:
    """A fit item no other call can share (its literal holds a fresh uuid): state that its inputs
    and parameters do not determine, so nothing may ever be reused for it."""
    lit = ("T", (("T", (("s", class_path(base)), ("s", f"{kind}:{uuid.uuid4().hex}"))), ("D", ())))
    return make(FIT, inputs, lit)


def fit_data(fit: Item) -> tuple[Item, ...]:
    """The data items a fit read (``fit_transform``'s estimator is output 0 of its item)."""
    item = fit.inputs[0] if fit.opcode == OUTPUT else fit
    return tuple(i for i in item.inputs if i.opcode != "python.function")


def _fit_method(self: Any, X: Any, y: Any = None, **fit_params: Any) -> Any:
    base = self._mlcontext_base
    if not _has_lineage(X, y, *fit_params.values()):
        _forget_fit(self)
        return base.fit(self, X, y, **fit_params)
    if _continues(self):
        return _fit_in_place(self, X, y, fit_params, "warm_start")
    try:
        item, args, kwargs = _fit_item(self, FIT, X, y, fit_params)
    except Uncanonical:
        return _fit_in_place(self, X, y, fit_params, "unique")
    _adopt(self, _run(FIT, item, args, kwargs).estimator, item, X)
    return self


def _fit_transform_method(self: Any, X: Any, y: Any = None, **fit_params: Any) -> Any:
    base = self._mlcontext_base
    if not _has_lineage(X, y, *fit_params.values()):
        _forget_fit(self)
        return base.fit_transform(self, X, y, **fit_params)
    if _continues(self):
        return _fit_in_place(self, X, y, fit_params, "warm_start", transform=True)
    try:
        item, args, kwargs = _fit_item(self, FIT_TRANSFORM, X, y, fit_params)
    except Uncanonical:
        # Params without a literal form (``cv=KFold(5)``): an opaque fit, computed by scikit-learn's
        # own fit_transform. Not fit().transform(): that differs where fit_transform cross-fits
        # (TargetEncoder encodes each training row by the other folds' targets; fit().transform()
        # leaks each row's own target into its encoding, a newcomer's finding).
        return _fit_in_place(self, X, y, fit_params, "unique", transform=True)
    fitted = _run(FIT_TRANSFORM, item, args, kwargs)
    _adopt(self, fitted.estimator, make(OUTPUT, (item,), ("k", 0)), X)
    return wrap(fitted.output, make(OUTPUT, (item,), ("k", 1)))


def _forget_fit(self: Any) -> None:
    """Before a fit on plain data: the estimator has no fit lineage any more, and a warm start
    updates the previous fit's state in place, on writable copies of its own."""
    state = self.__dict__
    if state.pop("_mlcontext_fit", None) is not None and _continues(self):
        thaw(self, set(self.get_params(deep=False)))
    state.pop(STATE_KEY, None)


def _continues(self: Any) -> bool:
    """Whether a fit continues from the estimator's fitted state (``warm_start=True`` on a fitted
    estimator): its result depends on that state, which no fit literal holds."""
    state = self.__dict__
    return state.get("warm_start") is True and any(
        k.endswith("_") and not k.startswith("__") for k in state if k != "warm_start")


def _partial_fit_method(self: Any, X: Any, *args: Any, **kwargs: Any) -> Any:
    """``partial_fit`` updates the fitted state in place: on state of its own (a fit adopted from
    the cache shares its arrays, read-only, with every estimator that adopted it; scikit-learn's
    compiled SGD writes into them regardless of the flag), and under a fit item no other call can
    share, since the state no longer is the cached fit's (a later ``predict`` must not be served
    from the cache by the old fit's lineage)."""
    base = self._mlcontext_base
    previous = self.__dict__.get("_mlcontext_fit")
    if previous is not None:  # (state never traced is the estimator's own, writable)
        thaw(self, set(self.get_params(deep=False)))
    found: list[Item] = []
    plain = unwrap((X, args, kwargs), found)
    if previous is None and not found:
        return base.partial_fit(self, plain[0], *plain[1], **plain[2])
    plain = _owned(plain, (X, args, kwargs))
    result = base.partial_fit(self, plain[0], *plain[1], **plain[2])
    inputs = ((previous,) if previous is not None else ()) + tuple(dict.fromkeys(found))
    _record_fit(self, _unique_fit(base, inputs, "partial_fit"), X)
    return result


def _fit_in_place(self: Any, X: Any, y: Any, fit_params: dict, kind: str, transform: bool = False) -> Any:
    """Fit ``self`` itself on the plain values, under a fit item no other fit can share.

    ``kind`` ``"unique"``: params without a literal form (a ``RandomState``, ``cv=KFold(5)``, an
    unknown nested value), computed on the estimator itself (a ``RandomState`` parameter is advanced
    as scikit-learn advances it). ``"warm_start"``: a warm start continues from the previous fit's
    state (on writable copies of it), which is an input of the new fit.
    """
    base = self._mlcontext_base
    previous = None
    if kind == "warm_start":
        previous = self.__dict__.get("_mlcontext_fit")
        thaw(self, set(self.get_params(deep=False)))
    found: list[Item] = []
    plain = _owned(unwrap((X, y, fit_params), found), (X, y, fit_params))
    method = base.fit_transform if transform else base.fit
    output = method(self, plain[0], plain[1], **plain[2])
    inputs = ((previous,) if previous is not None else ()) + tuple(dict.fromkeys(found))
    fit = _unique_fit(base, inputs, kind)
    _record_fit(self, fit, X)
    return wrap(output, make(OUTPUT, (fit,), ("k", 1))) if transform else self


def _owned(plain: tuple, given: tuple) -> tuple:
    """``plain`` (unwrapped ``given``: positional values and a dict of keywords) with each NumPy
    array the caller passed as a plain array copied: a fit may keep it (``KNeighborsRegressor._y``
    is ``y``), and a fitted array is frozen, then compared by identity; the caller's array must
    stay theirs and writable. (A traced value's memory is mlcontext's: never written.)"""
    def own(p: Any, g: Any) -> Any:
        return p.copy(order="K") if type(g) is np.ndarray else p

    *values, keywords = plain
    *originals, given_kw = given
    out = [tuple(own(p, g) for p, g in zip(v, o, strict=True)) if type(o) is tuple else own(v, o)
           for v, o in zip(values, originals, strict=True)]
    return (*out, {k: own(v, given_kw[k]) for k, v in keywords.items()})


def _traced_method(cls: type, name: str) -> Callable[..., Any]:
    base_method = getattr(cls, name)

    def method(self: Any, X: Any, *args: Any, **kwargs: Any) -> Any:
        fit = self.__dict__.get("_mlcontext_fit")
        if fit is None:  # fitted elsewhere (or not at all): no lineage to extend; plain values in,
            # as scikit-learn validates them (a traced frame would lose its column names)
            if name in EVALUATING:
                # Still an evaluation of the traced data: a loaded model, traced as the docs say,
                # scoring a registered test split counts for testuse (a newcomer's scoring run that
                # then failed was never counted).
                found: list[Item] = []
                unwrap((X, args, kwargs), found)
                _note_use("evaluate", self, tuple(dict.fromkeys(found)))
            return base_method(self, _plain(X), *map(_plain, args),
                               **{k: _plain(v) for k, v in kwargs.items()})
        if not _has_lineage(X, *args, *kwargs.values()):
            return base_method(self, X, *args, **kwargs)
        opcode = f"sklearn.{name}"
        current = _current(self)
        if not current:  # edited since the fit: computed on the state it holds now, never reused
            fit = _unique_fit(self._mlcontext_base, (fit,), "edited")
        col = FrameArgs()
        try:  # input 0 is the fit, the data follows
            lit, plain_args, plain_kwargs = col.call((X, *args), kwargs, leading=(fit,))
        except Uncanonical:
            return base_method(self, _plain(X), *map(_plain, args), **kwargs)
        item = make(opcode, tuple(col.items), lit)
        from ..lineage.operations import OPERATIONS

        result = (run if current else execute_uncached)(
            OPERATIONS[opcode], item, (self, *plain_args), plain_kwargs)
        if name in EVALUATING:
            _note_use("evaluate", self, tuple(col.items[1:]))
        if name == "score":
            _note_score(self, result, X)
            return result
        return wrap(result, item)

    method.__name__ = name
    method.__qualname__ = f"Traced{cls.__name__}.{name}"
    method.__doc__ = getattr(base_method, "__doc__", None)
    return method


def _current(self: Any) -> bool:
    """Whether ``self`` still holds the state its fit item produced: parameters, fitted attributes
    and output configuration (see :mod:`.sklearn_state`). If not, its calls are keyed by a fit of
    its own that nothing is reused for: ``m.coef_ = ...``, ``set_params(n_neighbors=1)`` or a
    ``kw_args`` changed after the fit were served the unedited model's results (newcomers')."""
    record = self.__dict__.get(STATE_KEY)
    return record is not None and holds(self, record, _param_key, _output_config(self))


def _plain(x: Any) -> Any:
    return x._value if isinstance(x, _TRACED) else x


# -- metadata (application context) --------------------------------------------------------------------

def _info(self: Any, item: Item, X: Any, params: dict[str, Any]) -> dict[str, Any]:
    value = _plain(X)
    columns = [str(c) for c in value.columns] if hasattr(value, "columns") else None
    return {
        "class": class_path(self._mlcontext_base),
        "params": {k: _describe_param(v) for k, v in params.items()},
        "input_columns": columns,
        "n_samples": int(np.shape(value)[0]) if np.ndim(value) else None,
        "n_features": int(np.shape(value)[1]) if np.ndim(value) > 1 else None,
        "fit_lineage": item,
        "scores": [],
    }


def _describe_param(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, list | tuple):
        return [_describe_param(x) for x in v]
    return repr(v)


def _note_score(self: Any, value: Any, X: Any) -> None:
    info = self.__dict__.get("_mlcontext_info")
    if info is not None:
        data = X.lineage.hash if isinstance(X, _TRACED) else None
        info["scores"].append({"name": "score", "value": float(value), "data_lineage": data})


def model_info(estimator: Any) -> dict[str, Any]:
    """Metadata of a fitted traced estimator: class, params, input columns, fit lineage, scores.

    Pipelines give their steps' metadata under ``"steps"``; searches their best estimator's, with
    ``best_params`` and ``best_score``.

    Parameters
    ----------
    estimator : scikit-learn estimator
        An estimator made by :func:`traced` and fitted on traced data (``mc.array``, ``mc.frame``),
        or a pipeline or search of such estimators.

    Returns
    -------
    dict
        ``class`` (its import path), ``params`` (``get_params()``), ``input_columns`` (the fitted
        frame's column names; ``None`` for arrays), ``n_samples``, ``n_features``, ``fit_lineage``
        (the lineage hash of the fit) and ``scores`` (each ``score`` call: ``name``, ``value``,
        ``data_lineage``). A pipeline: ``class`` and ``steps`` (step name -> that step's dict); a
        search: ``class``, ``best_params``, ``best_score`` and ``best_estimator``.

    Raises
    ------
    UsageError
        ``estimator`` is not a scikit-learn estimator (a number, ``None``).
    LineageError
        ``estimator`` was not fitted as a traced estimator on traced data.

    Examples
    --------
    >>> import numpy as np, mlcontext as mc
    >>> from sklearn.linear_model import Ridge
    >>> X = mc.array(np.arange(12.0).reshape(6, 2), name="X")
    >>> y = mc.array(np.arange(6.0), name="y")
    >>> model = mc.traced(Ridge(alpha=0.5)).fit(X, y)
    >>> info = mc.model_info(model)
    >>> info["class"], info["params"]["alpha"], info["n_samples"], info["n_features"]
    ('sklearn.linear_model.Ridge', 0.5, 6, 2)
    >>> info["input_columns"], info["scores"], len(info["fit_lineage"])
    (None, [], 32)
    """
    from sklearn.base import BaseEstimator
    from sklearn.model_selection._search import BaseSearchCV
    from sklearn.pipeline import Pipeline

    if not isinstance(estimator, BaseEstimator):
        raise UsageError(f"mc.model_info takes a scikit-learn estimator made by mc.traced(...) and fitted "
                         f"on traced data, not {type(estimator).__name__} {estimator!r:.60}")

    if isinstance(estimator, BaseSearchCV):
        out = {"class": class_path(type(estimator)), "best_params": dict(estimator.best_params_),
               "best_score": float(estimator.best_score_)}
        if hasattr(estimator, "best_estimator_"):
            out["best_estimator"] = model_info(estimator.best_estimator_)
        return out
    if isinstance(estimator, Pipeline):
        return {"class": class_path(Pipeline),
                "steps": {name: model_info(step) for name, step in estimator.steps
                          if step not in (None, "passthrough")}}
    info = getattr(estimator, "__dict__", {}).get("_mlcontext_info")
    if info is None:
        raise LineageError(f"{type(estimator).__name__} was not fitted as a traced estimator on traced "
                           "data; use mc.traced(estimator) and mc.frame/mc.array inputs")
    out = dict(info)
    out["fit_lineage"] = info["fit_lineage"].hash
    out["scores"] = list(info["scores"])
    return out


# -- the reuse cache may hold fitted estimators ---------------------------------------------------------

def freeze_estimator(value: Fitted) -> tuple[Any, int] | None:
    """Cache entry of a fit result: the estimator itself (estimators adopting it copy its state).

    Its fitted arrays are frozen, those in containers and sparse matrices too: they are shared by
    every estimator that adopts this fit (a parameter array is the caller's: never frozen)."""
    est = value.estimator
    params = set(est.get_params(deep=False)) if hasattr(est, "get_params") else set()
    size = 256 + freeze_fitted(est, params)
    out = value.output
    size += int(getattr(out, "nbytes", 0) or 0)
    if isinstance(out, np.ndarray):
        out = out.view()
        out.flags.writeable = False
        value = Fitted(est, out)
    return value, size

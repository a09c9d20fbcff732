"""The fitted state of a traced estimator: shared read-only with the cache, and checked at every call.

A traced ``predict``/``transform``/``score`` on traced data is keyed by the fit item its estimator's
state came from. That key is right only while the estimator still holds what the fit produced:
users edit fitted models (``m.coef_ = pruned``, ``m.intercept_ = 0``, ``sc.mean_ = zeros``,
``set_params(n_neighbors=1)``, a ``kw_args`` dict or a global read by a ``FunctionTransformer``'s
function changed in place, ``set_output`` after fit), and the cache then served the unedited model's
results (newcomers' findings, session 15). So a traced fit leaves a :class:`FitState` in the
estimator, and each call compares the estimator with it first (:func:`holds`):

* every attribute, parameters included, must be the very object the fit left (``is``), and no
  attribute added or deleted;
* fitted arrays are read-only (shared with the cache, or frozen here when the fit was not cached),
  so an in-place write raises; the check is that they are still read-only. Arrays inside lists,
  tuples, dicts and sets of the fitted state and inside fitted sub-estimators (a forest's trees, a
  column transformer's transformers) are too, and those containers and sub-estimators must still
  hold the same objects (``m.coefs_[0] = w``, ``m.estimators_.pop()``,
  ``ct.named_transformers_["num"].mean_ = m``);
* parameters that can change without being rebound (a dict, a list, a function and the globals it
  reads, a nested estimator, an array) must still have the literal form they had;
* the output configuration (``set_output``, ``sklearn.config_context(transform_output=...)``) must
  be the same.

On the common path this costs an identity check per attribute (a few microseconds for a linear
model, tens for a forest of a hundred trees). When the state differs, the call is made on the
current state and is never reused (see ``sklearn_steps``). What is not seen: writes inside a
compiled object (``rf.estimators_[0].tree_``, ``knn._tree``), whose memory NumPy's flag does not
protect, and parameters of sub-estimators changed in place (their rebinding is seen).

One exception to read-only: object arrays of sub-estimators (a gradient boosting's ``estimators_``)
are the estimator's own writable copies, since scikit-learn's compiled ``predict_stages`` takes them
as a writable buffer (it raised "buffer source array is read-only", a newcomer's finding); they are
compared element by element instead.
"""

from __future__ import annotations

import copy
import operator
import sys
from collections.abc import Callable, Iterator
from itertools import repeat
from typing import Any

import numpy as np

from .dispatch import shares_memory

__all__ = ["FitState", "take", "holds", "private", "thaw", "freeze_fitted", "refreeze", "usable",
           "STATE_KEY"]

STATE_KEY = "_mlcontext_state"
_OURS = "_mlcontext_"
# scikit-learn's callback bookkeeping (1.9): set on an estimator around its fit, some by the parent
# (a Pipeline fitting its steps sets ``_parent_callback_ctx`` on the step and deletes it after), and
# the callbacks themselves, which observe a fit and change no prediction. Not part of the state.
_CALLBACKS = frozenset({"_parent_callback_ctx", "_callback_fit_ctx", "_skl_callbacks",
                        "_skl_callbacks_to_teardown", "_propagated_callbacks", "_callback_ctx"})
_GONE = object()
_DEPTH = 8
# Values that cannot change without being rebound: the identity check covers them.
_FIXED = frozenset({int, float, str, bool, complex, bytes, type(None)})

ParamKey = Callable[[Any], Any]


class FitState:
    """What a traced fit left in an estimator (see the module's docstring)."""

    __slots__ = ("size", "names", "values", "nodes", "arrays", "params", "config")

    def __init__(self, entries: tuple, nodes: tuple, arrays: tuple, params: tuple, config: Any) -> None:
        self.size = 0  # the number of attributes, all included (set by take): the fast check
        #: The names and values of every attribute but mlcontext's own.
        self.names = tuple(k for k, _ in entries)
        self.values = tuple(v for _, v in entries)
        #: (container, what it held, how to compare): lists, dicts, sets, object arrays, sparse
        #: matrices and sub-estimators' attributes whose contents were recorded (see _node).
        self.nodes = nodes
        #: Arrays made read-only: each must still be.
        self.arrays = arrays
        #: (name, key) of the parameters that can change in place; key None: no literal form.
        self.params = params
        self.config = config


def take(estimator: Any, params: dict[str, Any], param_key: ParamKey, config: Any) -> FitState:
    """Record the state a traced fit left in ``estimator`` (freezing its fitted arrays) and keep
    the record in it under :data:`STATE_KEY`.

    ``params`` are its ``get_params(deep=False)``; ``param_key(value)`` the comparable literal
    form of a parameter (None without one); ``config`` its output configuration. A fitted array
    sharing memory with a parameter is the caller's memory
    (``LinearDiscriminantAnalysis(priors=p).priors_`` is ``p``): it is copied before it is frozen,
    so the caller's array stays writable. (Plain arrays passed to the fit are copied before it.)
    """
    state = estimator.__dict__
    state.pop(STATE_KEY, None)
    nodes: list = []
    arrays: list = []
    seen = _owned_by_caller(params.values())
    for name, value in list(state.items()):
        if name.startswith(_OURS) or name in params or name in _CALLBACKS:
            continue
        value = state[name] = _own(value, list(params.values()))
        _walk(value, nodes, arrays, seen, 0)
    for a in arrays:
        a.flags.writeable = False
    keys = tuple((name, param_key(v)) for name, v in params.items() if not _fixed(v))
    entries = tuple((k, v) for k, v in state.items() if _recorded(k))
    record = FitState(entries, tuple(nodes), tuple(arrays), keys, config)
    state[STATE_KEY] = record
    record.size = len(state)
    return record


def holds(estimator: Any, record: FitState, param_key: ParamKey, config: Any) -> bool:
    """Whether ``estimator`` still holds the state ``record`` describes (see the module)."""
    state = estimator.__dict__
    if len(state) != record.size and sum(map(_recorded, state)) != len(record.names):
        return False
    if not all(map(operator.is_, map(state.get, record.names, repeat(_GONE)), record.values)):
        return False
    for a in record.arrays:
        if a.flags.writeable:
            return False
    for container, held, same in record.nodes:
        if not same(container, held):
            return False
    for name, key in record.params:
        if key is not None and param_key(state[name]) != key:
            return False
    return config == record.config


def _own(value: Any, guard: list) -> Any:
    """A fitted attribute as the estimator may keep it frozen: a copy of an array in the caller's
    memory (a parameter's, a plain argument's), a writable copy of a read-only object array of
    sub-estimators (see the module); else itself."""
    if type(value) is not np.ndarray:
        return value
    if value.dtype.hasobject:
        return value.copy() if not value.flags.writeable and _holds_estimators(value) else value
    if value.flags.writeable and guard and shares_memory(value, guard):
        return value.copy(order="K")
    return value


def _owned_by_caller(params: Any) -> set[int]:
    """Ids of parameter values and of the arrays inside them: a fitted attribute may be one of them
    (``estimator_`` is the ``estimator`` parameter itself), and the caller's objects are never
    frozen or recorded as fitted state (parameters are compared by their literal form)."""
    seen = set()
    for v in params:
        seen.add(id(v))
        seen.update(id(a) for a in _arrays_in(v))
    return seen


def _recorded(name: str) -> bool:
    return not name.startswith(_OURS) and name not in _CALLBACKS


def _fixed(value: Any) -> bool:
    t = type(value)
    if t in _FIXED or isinstance(value, np.generic):
        return True
    return t is tuple and all(_fixed(v) for v in value)


# How the contents of a container are recorded, and compared with what it holds now: by identity.
def _same_items(container: Any, held: tuple) -> bool:  # a list, a set, a sparse matrix's arrays
    return len(container) == len(held) and all(map(operator.is_, container, held))


def _same_dict(container: dict, held: tuple) -> bool:
    keys, values = held
    return len(container) == len(keys) and all(map(operator.is_, container, keys)) \
        and all(map(operator.is_, container.values(), values))


def _same_objects(container: np.ndarray, held: tuple) -> bool:
    return container.shape == held[0] and _same_items(container.ravel().tolist(), held[1])


def _same_sparse(container: Any, held: tuple) -> bool:
    return _same_items(_sparse_parts(container), held)


def _node(container: Any) -> tuple:
    """``(container, what it holds, how to compare)`` for :func:`holds`."""
    t = type(container)
    if t is dict:
        return container, (tuple(container), tuple(container.values())), _same_dict
    if isinstance(container, np.ndarray):
        return container, (container.shape, tuple(container.ravel().tolist())), _same_objects
    if _is_sparse(container):
        return container, _sparse_parts(container), _same_sparse
    return container, tuple(container), _same_items  # a list or a set


def _walk(value: Any, nodes: list, arrays: list, seen: set[int], depth: int) -> None:
    """Collect the arrays to freeze and the containers to record inside a fitted attribute."""
    if depth > _DEPTH or id(value) in seen:
        return
    t = type(value)
    if isinstance(value, np.ndarray):
        seen.add(id(value))
        if value.dtype.hasobject and value.flags.writeable and _holds_estimators(value):
            nodes.append(_node(value))
            for v in value.flat:
                _walk(v, nodes, arrays, seen, depth + 1)
        else:
            arrays.append(value)
            if value.dtype.hasobject and _holds_containers(value):
                # An object array of arrays (KBinsDiscretizer's ``bin_edges_``): the outer array's flag
                # does not protect what it holds, and ``kb.bin_edges_[0][1] = 10`` was served the
                # unedited model's transform (a reviewer's finding). Its arrays are frozen too.
                for v in value.flat:
                    _walk(v, nodes, arrays, seen, depth + 1)
        return
    if t is list or t is dict or t is set or t is tuple:
        seen.add(id(value))
        if t is not tuple:
            nodes.append(_node(value))
        for v in (value.values() if t is dict else value):
            _walk(v, nodes, arrays, seen, depth + 1)
        return
    if _is_sparse(value):
        seen.add(id(value))
        nodes.append(_node(value))
        arrays.extend(_sparse_parts(value))
    elif _is_estimator(value) and "tree_" not in value.__dict__:
        # A fitted sub-estimator (a column transformer's transformer, a voting's classifier). Not a
        # decision tree: its state is its compiled ``tree_``, which no flag protects, and a forest's
        # hundreds of trees would cost a hundred microseconds a call; they are compared by identity.
        seen.add(id(value))
        inner = value.__dict__
        nodes.append(_node(inner))
        for k, v in inner.items():
            if _recorded(k):
                _walk(v, nodes, arrays, seen, depth + 1)


def _is_estimator(value: Any) -> bool:
    return hasattr(value, "get_params") and not isinstance(value, type) \
        and type(getattr(value, "__dict__", None)) is dict


def _holds_estimators(value: np.ndarray) -> bool:
    return value.size > 0 and _is_estimator(value.flat[0])


def _holds_containers(value: np.ndarray) -> bool:
    """Whether an object array holds arrays or containers (judged by its first element: an array of
    strings or numbers is not walked, which would cost a Python step per element at every fit)."""
    return value.size > 0 and type(value.flat[0]) in _CONTAINERS


_CONTAINERS = (np.ndarray, list, dict, set, tuple)


def _is_sparse(value: Any) -> bool:
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(value) and hasattr(value, "indptr")


def _sparse_parts(value: Any) -> tuple:
    return (value.data, value.indices, value.indptr)


def _arrays_in(value: Any, depth: int = 0) -> Iterator[np.ndarray]:
    """The plain (not object) arrays inside lists, tuples, dicts, sets, object arrays of
    sub-estimators or of arrays, and sub-estimators of ``value``."""
    if depth > _DEPTH:
        return
    t = type(value)
    if t is np.ndarray:
        if not value.dtype.hasobject:
            yield value
        elif _holds_estimators(value) or _holds_containers(value):
            for v in value.flat:
                yield from _arrays_in(v, depth + 1)
    elif t is list or t is tuple or t is set:
        for v in value:
            yield from _arrays_in(v, depth + 1)
    elif t is dict:
        for v in value.values():
            yield from _arrays_in(v, depth + 1)
    elif _is_estimator(value):
        yield from _arrays_in(value.__dict__, depth + 1)


def private(value: Any) -> Any:
    """The value of a fitted attribute of a cached fit as an estimator adopting it holds it.

    Plain arrays (and object arrays of plain values) are shared: the cache froze them. Containers
    and sub-estimators are copied (a list can be appended to, a sub-estimator's attribute set), the
    frozen arrays inside them still shared; object arrays of sub-estimators are copied and writable
    (see the module). Other objects (a compiled tree, a loss) are shared as they are."""
    if isinstance(value, np.ndarray) and not (value.dtype.hasobject and _holds_estimators(value)):
        return value
    if isinstance(value, np.ndarray) or type(value) in (list, dict, tuple, set) or _is_estimator(value):
        memo: dict[int, Any] = {id(a): a for a in _arrays_in(value) if not a.flags.writeable}
        return copy.deepcopy(value, memo)
    return value


def thaw(estimator: Any, params: dict[str, Any] | set[str]) -> None:
    """Give ``estimator`` private, writable copies of its fitted arrays and containers, for code
    that updates them in place (``partial_fit``, a warm start)."""
    state = estimator.__dict__
    for name, value in list(state.items()):
        if name in params or name.startswith(_OURS):
            continue
        if isinstance(value, np.ndarray | list | dict | tuple | set) or _is_sparse(value) \
                or _is_estimator(value):
            state[name] = copy.deepcopy(value)  # (a read-only array's copy is writable)
    state.pop(STATE_KEY, None)


def freeze_fitted(estimator: Any, params: set[str]) -> int:
    """Freeze the fitted state of an estimator the cache keeps (arrays, those inside containers and
    sparse matrices' arrays); its size in bytes. An array that is also a parameter's memory (the
    caller's) is copied first."""
    state = estimator.__dict__
    guard = [v for k, v in state.items() if k in params]
    size = 0
    nodes: list = []
    arrays: list = []
    seen = _owned_by_caller(guard)
    for name, value in list(state.items()):
        if name in params:
            continue
        value = state[name] = _own(value, guard)
        _walk(value, nodes, arrays, seen, 0)
    for container, _, _ in nodes:
        if isinstance(container, np.ndarray):  # (the estimators' own copies are made by private())
            arrays.append(container)
    for a in arrays:
        a.flags.writeable = False
        size += int(a.nbytes)
    return size


def refreeze(state: dict[str, Any]) -> None:
    """After a deep copy of an estimator's attributes: its copied record's arrays are writable
    copies; they are the copy's own now, and frozen as the original's were."""
    record = state.get(STATE_KEY)
    if isinstance(record, FitState):
        for a in record.arrays:
            a.flags.writeable = False


def usable(estimator: Any) -> Any:
    """``estimator`` itself, or a shallow copy whose read-only object arrays of sub-estimators are
    writable copies (for calling a method of a cached fit: see the module)."""
    frozen = {k: v for k, v in vars(estimator).items() if isinstance(v, np.ndarray)
              and v.dtype.hasobject and not v.flags.writeable and _holds_estimators(v)}
    if not frozen:
        return estimator
    new = copy.copy(estimator)
    for k, v in frozen.items():
        setattr(new, k, v.copy())
    return new

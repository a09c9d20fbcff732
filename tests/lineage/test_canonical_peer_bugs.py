"""Argument canonicalisation against the key collisions and misses peers shipped.

Each test is a small input of the kind a peer's cache key got wrong, through mlcontext's one
canonicalisation (``ops.dispatch.Args``) and its hot paths: equal items must mean equal results, and
calls that can give different results must have different items.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import mlcontext as mc
from mlcontext.lineage.literals import dumps_literal
from mlcontext.ops.dispatch import Args

X = np.arange(12.0).reshape(4, 3)


def _lit(args: tuple, kwargs: dict) -> str:
    return dumps_literal(Args().call(args, kwargs)[0])


def test_keywords_and_a_positional_dict_are_different_calls() -> None:
    # dask/dask#8632 (fixed by #8655): tokenize(5, foo="bar") == tokenize(5, {"foo": "bar"}).
    assert _lit((5,), {"foo": "bar"}) != _lit((5, {"foo": "bar"}), {})
    f = mc.frame(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}))
    by_dict, named = f.agg({"a": "sum"}), f.agg(a=("a", "sum"))  # a Series vs a one-row frame
    assert by_dict.lineage != named.lineage
    assert type(by_dict.to_pandas()) is not type(named.to_pandas())


def test_values_stay_with_their_keys_in_nested_containers() -> None:
    # dask/dask#12603: Dict tokens sorted apart from their keys, so swapping values collided.
    leaf = {"pred_leaf": True, "pred_contrib": False}
    shap = {"pred_leaf": False, "pred_contrib": True}
    assert _lit(([leaf],), {}) != _lit(([shap],), {})
    assert _lit((), {"opts": leaf}) != _lit((), {"opts": shap})


def test_lists_tuples_and_dicts_of_the_same_elements_differ() -> None:
    # dask/dask#6844: list, set, dict and range with the same elements could tokenize alike.
    x = mc.array(X)
    fancy, pair = x[[0, 1]], x[(0, 1)]  # two rows vs one element: NumPy reads them differently
    assert fancy.lineage != pair.lineage
    assert np.asarray(fancy).shape == (2, 3) and np.asarray(pair).shape == ()
    assert _lit(([1, 2],), {}) != _lit(((1, 2),), {}) != _lit(({"1": 2},), {})


def test_numpy_scalars_are_told_apart_by_value_and_dtype() -> None:
    # joblib/joblib#55: two different NumPy float scalars hashed alike, the second call got the first's
    # cached result.
    x = mc.array(X)
    chi = np.finfo(float).eps ** (1.0 / 3)
    a, b = x * np.float64(chi), x * np.float64(1e99 * chi)
    assert a.lineage != b.lineage
    assert not np.array_equal(np.asarray(a), np.asarray(b))
    # A float32 scalar is another argument than the float64 of the same value (n + np.float32 of an
    # int16 array gives float32, with np.float64 float64): the items differ.
    n = mc.array(np.arange(3, dtype=np.int16))
    assert (n + np.float32(0.5)).lineage != (n + np.float64(0.5)).lineage
    assert (n + np.float32(0.5)).dtype != (n + np.float64(0.5)).dtype


def test_ints_floats_and_bools_are_different_arguments() -> None:
    # joblib/joblib#1532: 1 and 1.0 are different cache keys, deliberately: results can differ.
    n = mc.array(np.arange(4))
    i, f, b = n + 1, n + 1.0, n + True
    assert len({i.lineage.hash, f.lineage.hash, b.lineage.hash}) == 3
    assert np.asarray(i).dtype != np.asarray(f).dtype


def test_the_same_scalar_object_twice_is_the_same_as_two_equal_scalars() -> None:
    # joblib/joblib#393: pickle memoisation made {'a': v, 'b': v} hash unlike {'a': v, 'b': copy of v}.
    num = np.int64(10)
    assert _lit((), {"key0": num, "key1": num}) == _lit((), {"key0": num, "key1": np.int64(10)})
    x = mc.array(X)
    v = np.float64(2.0)
    assert np.clip(x, v, v).lineage == np.clip(x, v, np.float64(2.0)).lineage


def test_keyword_order_counts_only_where_the_call_reads_it() -> None:
    # intake/intake#455: with ordered kwargs, cat(a=1, b=2) and cat(b=2, a=1) tokenized differently.
    # NumPy does not read keyword order: one item; pandas' assign and agg do: two.
    x = mc.array(X)
    assert np.sum(x, axis=0, keepdims=True).lineage == np.sum(x, keepdims=True, axis=0).lineage
    assert x.sum(axis=0, keepdims=True).lineage == x.sum(keepdims=True, axis=0).lineage
    f = mc.frame(pd.DataFrame({"a": [1.0, 2.0]}))
    ab, ba = f.assign(p=1, q=2), f.assign(q=2, p=1)
    assert ab.lineage != ba.lineage
    assert list(ab.to_pandas().columns) != list(ba.to_pandas().columns)

"""The dispatcher's hot paths write the literals of common calls directly; they must give byte for byte
the item the general canonicalisation (:class:`mlcontext.ops.dispatch.Args`) gives for the same call.

The hot paths are ``fast_ufunc`` (ufuncs called with traced arrays and Python scalars, and the
operators of ``TracedArray``, which call it straight from their table), the index path of
``method_call`` (``x[i]``, ``x[a:b, None]``, ``x.reshape(n)`` ...) and the ``f(x)`` paths of ``_run``
(one traced argument, no keywords or only plain-scalar ones). Each call below is made on traced
arrays (so the hot path runs if it applies) and compared with the item built from the same
``(opcode, args, kwargs)`` by ``Args``: same literal tree (type-exact: ``1`` is not ``1.0`` is not
``True``), same JSON text, same inputs, same hash. Calls no hot path takes (a ``dtype=`` keyword,
complex scalars) are in the table too, so a hot path that starts taking them is checked as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import mlcontext as mc
from mlcontext.lineage.digest import node_digest
from mlcontext.lineage.literals import dumps_literal
from mlcontext.ops.dispatch import Args
from mlcontext.ops.traced import _ones, _shortcut

X = np.arange(12.0).reshape(4, 3)
N = np.arange(12, dtype=np.int64).reshape(4, 3)

# (name, the call on traced arrays x (float) / y (float) / n (int),
#  the same call as (opcode, args, kwargs) for Args)
Call = tuple[str, Callable[..., Any], Callable[..., tuple[str, tuple, dict]]]


def _scalars() -> list[tuple[str, Any]]:
    return [("int", 2), ("neg_int", -3), ("big_int", 2**62), ("float", 1.5), ("zero", 0.0),
            ("neg_zero", -0.0), ("nan", float("nan")), ("inf", float("inf")), ("bool", True),
            ("f64", np.float64(2.5)), ("f32", np.float32(0.25)), ("i64", np.int64(7)),
            ("i8", np.int8(-1)), ("u16", np.uint16(3)), ("complex", 1 + 2j)]


def _pow_ufunc(exponent: Any) -> str | None:
    """The opcode of the unary ufunc this NumPy's ``X ** exponent`` runs instead of np.power."""
    fast = _shortcut(X, exponent, False)
    return None if fast is None else "numpy.ones_like" if fast is _ones else f"numpy.{fast.__name__}"


_MIRRORED = {"lt": "greater", "eq": "equal"}  # the reflected comparison Python calls


def _operator_calls() -> list[Call]:
    calls: list[Call] = []
    ops = {"add": (np.add, lambda a, b: a + b), "sub": (np.subtract, lambda a, b: a - b),
           "mul": (np.multiply, lambda a, b: a * b), "div": (np.true_divide, lambda a, b: a / b),
           "pow": (np.power, lambda a, b: a ** b), "lt": (np.less, lambda a, b: a < b),
           "eq": (np.equal, lambda a, b: a == b), "floordiv": (np.floor_divide, lambda a, b: a // b)}
    for oname, (uf, fn) in ops.items():
        opcode = f"numpy.{uf.__name__}"
        for sname, s in _scalars():
            if sname == "complex" and oname in ("lt", "floordiv"):
                continue  # (not defined for complex numbers)
            # x ** s is what NumPy's ndarray.__pow__ runs for it: a unary ufunc for some exponents, by
            # NumPy version (docs/lineage.md; the rule itself is checked against NumPy in
            # tests/reuse/test_values_newcomer_s15.py)
            unary = _pow_ufunc(s) if oname == "pow" else None
            expected = ((lambda x, y, n, u=unary: (u, (x,), {})) if unary else
                        (lambda x, y, n, s=s, opcode=opcode: (opcode, (x, s), {})))
            calls.append((f"x {oname} {sname}", lambda x, y, n, fn=fn, s=s: fn(x, s), expected))
            if oname in _MIRRORED and type(s) in (int, float, bool, complex):
                # Python asks x itself (x > s for s < x): the mirrored ufunc with x first.
                mirrored = f"numpy.{_MIRRORED[oname]}"
                calls.append((f"{sname} {oname} x", lambda x, y, n, fn=fn, s=s: fn(s, x),
                              lambda x, y, n, s=s, opcode=mirrored: (opcode, (x, s), {})))
                continue
            if oname in _MIRRORED:
                continue  # (a NumPy scalar compares as a 0-d array: not a call with a scalar)
            calls.append((f"{sname} {oname} x", lambda x, y, n, fn=fn, s=s: fn(s, x),
                          lambda x, y, n, s=s, opcode=opcode: (opcode, (s, x), {})))
        calls.append((f"x {oname} y", lambda x, y, n, fn=fn: fn(x, y),
                      lambda x, y, n, opcode=opcode: (opcode, (x, y), {})))
        calls.append((f"x {oname} x", lambda x, y, n, fn=fn: fn(x, x),
                      lambda x, y, n, opcode=opcode: (opcode, (x, x), {})))
    for oname, uf, fn in [("and", np.bitwise_and, lambda a, b: a & b),
                          ("lshift", np.left_shift, lambda a, b: a << b)]:
        opcode = f"numpy.{uf.__name__}"
        calls.append((f"n {oname} 1", lambda x, y, n, fn=fn: fn(n, 1),
                      lambda x, y, n, opcode=opcode: (opcode, (n, 1), {})))
        calls.append((f"True {oname} n", lambda x, y, n, fn=fn: fn(True, n),
                      lambda x, y, n, opcode=opcode: (opcode, (True, n), {})))
    for oname, uf, fn in [("neg", np.negative, lambda a: -a), ("abs", np.absolute, abs),
                          ("pos", np.positive, lambda a: +a)]:
        calls.append((f"{oname} x", lambda x, y, n, fn=fn: fn(x),
                      lambda x, y, n, uf=uf: (f"numpy.{uf.__name__}", (x,), {})))
    calls.append(("~n", lambda x, y, n: ~n, lambda x, y, n: ("numpy.invert", (n,), {})))
    calls.append(("x @ y.T", lambda x, y, n: x @ np.asarray(y).T,
                  lambda x, y, n: ("numpy.matmul", (x, np.asarray(y).T), {})))
    return calls


def _ufunc_calls() -> list[Call]:
    calls: list[Call] = [
        ("np.sqrt(x)", lambda x, y, n: np.sqrt(x), lambda x, y, n: ("numpy.sqrt", (x,), {})),
        ("np.exp(x)", lambda x, y, n: np.exp(x), lambda x, y, n: ("numpy.exp", (x,), {})),
        ("np.maximum(x, 0.0)", lambda x, y, n: np.maximum(x, 0.0),
         lambda x, y, n: ("numpy.maximum", (x, 0.0), {})),
        ("np.maximum(0, x)", lambda x, y, n: np.maximum(0, x),
         lambda x, y, n: ("numpy.maximum", (0, x), {})),
        ("np.add(x, y)", lambda x, y, n: np.add(x, y), lambda x, y, n: ("numpy.add", (x, y), {})),
        ("np.add(x, plain)", lambda x, y, n: np.add(x, X),
         lambda x, y, n: ("numpy.add", (x, X), {})),
        ("np.add(x, 1, dtype)", lambda x, y, n: np.add(x, 1, dtype=np.float32),
         lambda x, y, n: ("numpy.add", (x, 1), {"dtype": np.float32})),
        ("np.add.reduce(x, axis=0)", lambda x, y, n: np.add.reduce(x, axis=0),
         lambda x, y, n: ("numpy.add.reduce", (x,), {"axis": 0})),
        ("np.clip(x, 1, 5)", lambda x, y, n: np.clip(x, 1, 5),
         lambda x, y, n: ("numpy.clip", (x, 1, 5), {})),
    ]
    for sname, s in _scalars():
        calls.append((f"np.multiply(x, {sname})", lambda x, y, n, s=s: np.multiply(x, s),
                      lambda x, y, n, s=s: ("numpy.multiply", (x, s), {})))
    return calls


def _index_calls() -> list[Call]:
    keys: list[tuple[str, Any]] = [
        ("int", 1), ("neg", -1), ("slice", slice(1, 3)), ("open", slice(None, 2)),
        ("step", slice(None, None, -1)), ("none", None), ("ellipsis", Ellipsis),
        ("row col", (1, 2)), ("all col", (slice(None), 1)), ("all range", (slice(None), slice(0, 2))),
        ("newaxis", (None, slice(None))), ("ellipsis col", (Ellipsis, 0)), ("bool", True),
        ("np int", np.int64(2)), ("int list", [0, 2]), ("index array", np.array([0, 3])),
        ("mask", np.array([True, False, True, False])), ("mixed", ([0, 1], slice(None))),
        ("nested tuple", ((0, 1), 1)),
    ]
    calls: list[Call] = []
    for kname, key in keys:
        calls.append((f"x[{kname}]", lambda x, y, n, key=key: x[key],
                      lambda x, y, n, key=key: ("numpy.ndarray.__getitem__", (x, key), {})))
    return calls


def _method_calls() -> list[Call]:
    return [
        ("x.reshape(12)", lambda x, y, n: x.reshape(12),
         lambda x, y, n: ("numpy.ndarray.reshape", (x, 12), {})),
        ("x.reshape((3, 4))", lambda x, y, n: x.reshape((3, 4)),
         lambda x, y, n: ("numpy.ndarray.reshape", (x, (3, 4)), {})),
        ("x.reshape(3, 4)", lambda x, y, n: x.reshape(3, 4),
         lambda x, y, n: ("numpy.ndarray.reshape", (x, 3, 4), {})),
        ("x.reshape(-1, 1)", lambda x, y, n: x.reshape(-1, 1),
         lambda x, y, n: ("numpy.ndarray.reshape", (x, -1, 1), {})),
        ("x.sum(0)", lambda x, y, n: x.sum(0), lambda x, y, n: ("numpy.ndarray.sum", (x, 0), {})),
        ("x.sum()", lambda x, y, n: x.sum(), lambda x, y, n: ("numpy.ndarray.sum", (x,), {})),
        ("x.ravel()", lambda x, y, n: x.ravel(), lambda x, y, n: ("numpy.ndarray.ravel", (x,), {})),
        ("x.copy()", lambda x, y, n: x.copy(), lambda x, y, n: ("numpy.ndarray.copy", (x,), {})),
        ("x.take(2)", lambda x, y, n: x.take(2), lambda x, y, n: ("numpy.ndarray.take", (x, 2), {})),
        ("x.astype(np.float32)", lambda x, y, n: x.astype(np.float32),
         lambda x, y, n: ("numpy.ndarray.astype", (x, np.float32), {})),
        ("x.astype('f4')", lambda x, y, n: x.astype("f4"),
         lambda x, y, n: ("numpy.ndarray.astype", (x, "f4"), {})),
        ("x.sum(axis=0)", lambda x, y, n: x.sum(axis=0),
         lambda x, y, n: ("numpy.ndarray.sum", (x,), {"axis": 0})),
        ("x.mean(axis=1, keepdims=True)", lambda x, y, n: x.mean(axis=1, keepdims=True),
         lambda x, y, n: ("numpy.ndarray.mean", (x,), {"axis": 1, "keepdims": True})),
        ("x.std(ddof=1)", lambda x, y, n: x.std(ddof=1),
         lambda x, y, n: ("numpy.ndarray.std", (x,), {"ddof": 1})),
        ("x.max(axis=(0, 1))", lambda x, y, n: x.max(axis=(0, 1)),
         lambda x, y, n: ("numpy.ndarray.max", (x,), {"axis": (0, 1)})),
        ("x.clip(0.5, 3)", lambda x, y, n: x.clip(0.5, 3),
         lambda x, y, n: ("numpy.ndarray.clip", (x, 0.5, 3), {})),
        ("x.clip(min=-0.0)", lambda x, y, n: x.clip(min=-0.0),
         lambda x, y, n: ("numpy.ndarray.clip", (x,), {"min": -0.0})),
        ("x.astype(dtype='f4', copy=False)", lambda x, y, n: x.astype(dtype="f4", copy=False),
         lambda x, y, n: ("numpy.ndarray.astype", (x,), {"dtype": "f4", "copy": False})),
        ("x.sum(axis=None)", lambda x, y, n: x.sum(axis=None),
         lambda x, y, n: ("numpy.ndarray.sum", (x,), {"axis": None})),
        ("x.sum(axis=np.int64(0))", lambda x, y, n: x.sum(axis=np.int64(0)),
         lambda x, y, n: ("numpy.ndarray.sum", (x,), {"axis": np.int64(0)})),
        ("x.prod(axis=0, dtype=np.float64)", lambda x, y, n: x.prod(axis=0, dtype=np.float64),
         lambda x, y, n: ("numpy.ndarray.prod", (x,), {"axis": 0, "dtype": np.float64})),
        ("x.var(ddof=np.float64(1.0))", lambda x, y, n: x.var(ddof=np.float64(1.0)),
         lambda x, y, n: ("numpy.ndarray.var", (x,), {"ddof": np.float64(1.0)})),
    ]


def _function_calls() -> list[Call]:
    return [
        ("np.transpose(x)", lambda x, y, n: np.transpose(x),
         lambda x, y, n: ("numpy.transpose", (x,), {})),
        ("x.T", lambda x, y, n: x.T, lambda x, y, n: ("numpy.transpose", (x,), {})),
        ("np.sum(x)", lambda x, y, n: np.sum(x), lambda x, y, n: ("numpy.sum", (x,), {})),
        ("np.sum(x, axis=0)", lambda x, y, n: np.sum(x, axis=0),
         lambda x, y, n: ("numpy.sum", (x,), {"axis": 0})),
        ("np.mean(x, axis=-1, dtype=np.float64)", lambda x, y, n: np.mean(x, axis=-1, dtype=np.float64),
         lambda x, y, n: ("numpy.mean", (x,), {"axis": -1, "dtype": np.float64})),
        ("np.linalg.norm(x)", lambda x, y, n: np.linalg.norm(x),
         lambda x, y, n: ("numpy.linalg.norm", (x,), {})),
        ("np.dot(x, y.T)", lambda x, y, n: np.dot(x, y.T),
         lambda x, y, n: ("numpy.dot", (x, y.T), {})),
        ("np.hstack([x, y])", lambda x, y, n: np.hstack([x, y]),
         lambda x, y, n: ("numpy.hstack", ([x, y],), {})),
        ("np.cumsum(n)", lambda x, y, n: np.cumsum(n), lambda x, y, n: ("numpy.cumsum", (n,), {})),
        ("np.round(x, decimals=1)", lambda x, y, n: np.round(x, decimals=1),
         lambda x, y, n: ("numpy.round", (x,), {"decimals": 1})),
        ("np.cumsum(x, axis=1)", lambda x, y, n: np.cumsum(x, axis=1),
         lambda x, y, n: ("numpy.cumsum", (x,), {"axis": 1})),
        ("np.add.reduce(x, axis=1, keepdims=True)", lambda x, y, n: np.add.reduce(x, axis=1, keepdims=True),
         lambda x, y, n: ("numpy.add.reduce", (x,), {"axis": 1, "keepdims": True})),
    ]


CALLS = _operator_calls() + _ufunc_calls() + _index_calls() + _method_calls() + _function_calls()


def _slow_item(opcode: str, args: tuple, kwargs: dict) -> tuple[Any, tuple, bytes]:
    """``(literals, inputs, digest)`` of the call as the general canonicalisation encodes it (no
    hash-consing involved: the digest is computed from the tree itself)."""
    col = Args()
    lit, _, _ = col.call(args, kwargs)
    inputs = tuple(col.items)
    return lit, inputs, node_digest(opcode, [i.digest for i in inputs], lit)


@pytest.mark.parametrize("name, call, spec", CALLS, ids=[c[0] for c in CALLS])
def test_fast_path_item_equals_slow_path_item(name: str, call: Callable[..., Any],
                                               spec: Callable[..., tuple[str, tuple, dict]]) -> None:
    x, y, n = mc.array(X), mc.array(X[::-1].copy()), mc.array(N)
    with np.errstate(all="ignore"):  # (x / 0.0, x ** 2**62 ...: the values do not matter here)
        result = call(x, y, n)  # first, so no item the slow path makes can be returned by hash-consing
    item = result.lineage
    opcode, args, kwargs = spec(x, y, n)
    lit, inputs, digest = _slow_item(opcode, args, kwargs)
    assert item.opcode == opcode
    # Type-exact: repr tells 1 from 1.0 from True and tuples from lists (tuple equality does not).
    assert repr(item.literals) == repr(lit)
    assert dumps_literal(item.literals) == dumps_literal(lit)
    assert [i.digest for i in item.inputs] == [i.digest for i in inputs]
    assert item.digest == digest


def test_the_table_reaches_every_fast_path() -> None:
    """Each hot path is taken by at least one call of the table: counted by replacing the
    general canonicalisation with one that records its calls (hot paths never call it)."""
    from mlcontext.ops import dispatch

    seen: list[str] = []
    original = dispatch.Args.call

    def recording(self: Args, args: tuple, kwargs: dict, leading: tuple = ()) -> Any:
        seen.append("slow")
        return original(self, args, kwargs, leading)

    fast = {"x add float", "float add x", "x add y", "x add x", "neg x", "np.sqrt(x)",
            "np.maximum(x, 0.0)", "x[int]", "x[all range]", "x.reshape(12)", "x.ravel()",
            "np.transpose(x)", "x.T", "x.sum(axis=0)", "x.mean(axis=1, keepdims=True)",
            "np.sum(x, axis=0)"}
    by_name = {c[0]: c for c in CALLS}
    x, y, n = mc.array(X), mc.array(X + 1), mc.array(N)
    dispatch.Args.call = recording  # type: ignore[method-assign]
    try:
        for name in sorted(fast):
            seen.clear()
            by_name[name][1](x, y, n)
            assert seen == [], f"{name} did not take a hot path"
        seen.clear()
        by_name["np.mean(x, axis=-1, dtype=np.float64)"][1](x, y, n)  # (a dtype keyword)
        assert seen == ["slow"]
    finally:
        dispatch.Args.call = original  # type: ignore[method-assign]

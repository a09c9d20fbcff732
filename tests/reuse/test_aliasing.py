"""Two evaluations of one lineage never share a buffer that plain NumPy would not share
(``mlcontext.reuse.aliasing``; twelfth session, found by a newcomer).

``center(X).T @ center(X)`` computes the centred matrix twice without reuse: two buffers, NumPy's
general product. With reuse the second is a hit; handing out the same buffer made NumPy take its
``syrk`` path for ``A.T @ A``, which rounds otherwise: 1.4e-13 off under ``mc.reuse("exact")``, which
promises bit for bit. These tests compare with plain NumPy bit for bit.

The kind is NumPy's own: numpy/numpy#6932 made ``A.T @ A`` on one buffer take ``syrk`` (timed there
against ``A.T.copy() @ A``), and numpy/numpy#31776 found ``A @ A.T`` on one buffer giving other results
than ``A @ A.T.copy()`` (a broken SSYRK kernel): whether two operands share a buffer decides the path.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlcontext as mc
from mlcontext.reuse.aliasing import HandOut

RNG = np.random.default_rng(11)
XN = RNG.normal(size=(600, 21))


def center(x):
    return x - x.mean(axis=0)


def _same_bits(got, want) -> bool:
    got, want = np.asarray(got), np.asarray(want)

    def raw(a):
        return np.ascontiguousarray(a).reshape(-1).view(np.uint8)

    return got.dtype == want.dtype and got.shape == want.shape and np.array_equal(raw(got), raw(want))


def _same_under_reuse(f, data: np.ndarray, policy: str, rounds: int) -> None:
    """``f(data)`` on traced data, ``rounds`` times under ``policy`` (everything cached at once), bit for
    bit what ``f`` gives on plain data; ``f`` returns an array or a sequence of them."""
    want = f(data)
    want = list(want) if isinstance(want, list | tuple) else [want]
    with mc.reuse(policy, min_compute_s=0.0, eager_s_per_byte=0.0):
        mc.reuse_clear()
        X = mc.array(data, name="X")
        for _ in range(rounds):
            got = f(X)
            got = list(got) if isinstance(got, list | tuple) else [got]
            for g, w in zip(got, want, strict=True):
                assert _same_bits(g, w)


def _twice(x):
    scale = (center(x) ** 2).sum(axis=0)  # earlier evaluations: the centred matrix is cached
    return scale, center(x).T @ center(x)


@pytest.mark.parametrize("policy", ["exact", "full", "hybrid"])
def test_product_of_two_evaluations_is_the_general_product(policy):
    """The newcomer's input: two separate (equal) centred matrices multiplied."""
    want = _twice(XN)
    assert not np.array_equal(center(XN).T @ center(XN), (lambda a: a.T @ a)(center(XN))), \
        "NumPy itself must round A.T @ A and A.T @ B differently here, or this test shows nothing"
    with mc.reuse(policy, min_compute_s=0.0, eager_s_per_byte=0.0):
        mc.reuse_clear()
        for _ in range(3):  # the third round serves everything from the cache
            got = _twice(mc.array(XN, name="X"))
            assert _same_bits(got[0], want[0])
            assert _same_bits(got[1], want[1])


@pytest.mark.parametrize("policy", ["exact", "full"])
@pytest.mark.parametrize("first", ["one", "two"])
def test_gram_of_one_evaluation_and_product_of_two_are_kept_apart(policy, first):
    """``Z.T @ Z`` (NumPy: syrk) and ``center(X).T @ center(X)`` (gemm) have one lineage; whichever
    is cached first, the other is not served from it under the bit-exact policies."""
    def one(x):
        z = center(x)
        return z.T @ z

    def two(x):
        return center(x).T @ center(x)

    want = {"one": one(XN), "two": two(XN)}
    order = ["one", "two"] if first == "one" else ["two", "one"]
    with mc.reuse(policy, min_compute_s=0.0, eager_s_per_byte=0.0):
        mc.reuse_clear()
        X = mc.array(XN, name="X")
        for _ in range(2):
            for name in order:
                assert _same_bits({"one": one, "two": two}[name](X), want[name]), name


@pytest.mark.parametrize("form", ["A @ B.T", "dot", "inner", "tensordot", "multi_dot", "ndarray.dot"])
def test_other_products_of_two_evaluations(form):
    products = {
        "A @ B.T": lambda a, b: a @ b.T,
        "dot": lambda a, b: np.dot(a.T, b),
        "inner": lambda a, b: np.inner(a.T, b.T),
        "tensordot": lambda a, b: np.tensordot(a, b, axes=([0], [0])),
        "multi_dot": lambda a, b: np.linalg.multi_dot([a.T, b, np.ones((21, 3))]),
        "ndarray.dot": lambda a, b: a.T.dot(b),
    }
    f = products[form]
    want = f(center(XN), center(XN))
    with mc.reuse("exact", min_compute_s=0.0, eager_s_per_byte=0.0):
        mc.reuse_clear()
        X = mc.array(XN, name="X")
        for _ in range(3):
            held = center(X)
            assert _same_bits(f(held, center(X)), want)


def test_a_hit_nothing_holds_is_the_cached_array_itself():
    """Aliases cost only where two evaluations meet: a loop meeting a cached value once per pass
    gets the cached array (checks the reference count the executor expects). White-box: the
    traced arrays' values (``_value``) are compared with what the cache holds."""
    with mc.reuse("exact", min_compute_s=0.0, eager_s_per_byte=0.0):
        mc.reuse_clear()
        X = mc.array(XN, name="X")
        first = center(X)._value
        cached_id = id(first)
        del first
        gc.collect()
        again = center(X)._value
        assert again.base is None and id(again) == cached_id
        alias = center(X)._value  # `again` still holds the cached array: this one is an alias
        assert type(alias.base) is HandOut and alias.base.cached is again
        assert np.shares_memory(alias, again) and not alias.flags.writeable
        assert _same_bits(alias, center(XN))


def test_an_alias_keeps_the_cached_memory_alive():
    with mc.reuse("exact", min_compute_s=0.0, eager_s_per_byte=0.0):
        mc.reuse_clear()
        X = mc.array(XN, name="X")
        first = center(X)
        second = center(X)  # an alias
        mc.reuse_clear()  # the cache lets go of the value
        del first
        gc.collect()
        assert _same_bits(second, center(XN))
        assert _same_bits(second.T @ center(X), center(XN).T @ center(XN))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.lists(st.sampled_from(["one", "two", "held", "sum"]), min_size=1, max_size=6),
       rows=st.integers(200, 700), cols=st.integers(12, 30), seed=st.integers(0, 2**16),
       policy=st.sampled_from(["exact", "full"]))
def test_reuse_never_changes_products_of_repeated_evaluations(plan, rows, cols, seed, policy):
    """Property: any sequence of Grams of one evaluation, products of two, and products with a held
    earlier evaluation equals plain NumPy bit for bit under the bit-exact policies."""
    x = np.random.default_rng(seed).normal(size=(rows, cols))

    def run(X):
        out, held = [], center(X)
        for step in plan:
            if step == "one":
                z = center(X)
                out.append(z.T @ z)
            elif step == "two":
                out.append(center(X).T @ center(X))
            elif step == "held":
                out.append(held.T @ center(X))
            else:
                out.append(center(X).sum(axis=0))
        return out

    _same_under_reuse(run, x, policy, rounds=2)


@pytest.mark.parametrize("outputs", ["eigh", "svd", "qr"])
def test_outputs_of_a_multi_output_call_are_evaluations_too(outputs):
    """A cached tuple of outputs (``np.linalg.eigh``'s) is handed out part by part as one array is:
    ``eigh(C)[1].T @ eigh(C)[1]`` multiplies two evaluations (a reviewer's sibling of the finding)."""
    c = XN.T @ XN
    take = {"eigh": lambda m: np.linalg.eigh(m)[1], "svd": lambda m: np.linalg.svd(m)[0],
            "qr": lambda m: np.linalg.qr(m)[0]}[outputs]

    def f(m):
        first = take(m)
        return first.T @ take(m)

    want = f(c)
    with mc.reuse("exact", min_compute_s=0.0, eager_s_per_byte=0.0):
        mc.reuse_clear()
        C = mc.array(c, name="C")
        for _ in range(3):
            assert _same_bits(f(C), want)


def test_a_multi_output_hit_nothing_holds_is_the_cached_tuple():
    with mc.reuse("exact", min_compute_s=0.0, eager_s_per_byte=0.0):
        mc.reuse_clear()
        C = mc.array(XN.T @ XN, name="C")
        first = np.linalg.eigh(C)[1]._value
        cached_id = id(first)
        del first
        gc.collect()
        again = np.linalg.eigh(C)[1]._value
        assert again.base is None and id(again) == cached_id
        alias = np.linalg.eigh(C)[1]._value
        assert type(alias.base) is HandOut and alias.base.cached is again


SPELLINGS = {
    "multi_dot": lambda a, b: np.linalg.multi_dot([a.T, b]),
    "einsum(optimize)": lambda a, b: np.einsum("ij,ik->jk", a, b, optimize=True),
    "linalg.matmul": lambda a, b: np.linalg.matmul(a.T, b),
    "linalg.tensordot": lambda a, b: np.linalg.tensordot(a, b, axes=([0], [0])),
}


@pytest.mark.parametrize("spelling", list(SPELLINGS))
@pytest.mark.parametrize("policy", ["exact", "full"])
def test_every_spelling_of_a_gram_keeps_the_two_kinds_apart(spelling, policy):
    """A reviewer's finding: the one-evaluation check read only the first two arguments (a list for
    ``multi_dot``, the subscripts for ``einsum``), and ``np.linalg.matmul``/``tensordot`` were not
    traced: the two-evaluation form was served the cached Gram's bits (1.25e-12 off)."""
    f = SPELLINGS[spelling]

    def one(x):
        z = center(x)
        return f(z, z)

    def two(x):
        return f(center(x), center(x))

    want = {"one": one(XN), "two": two(XN)}
    with mc.reuse(policy, min_compute_s=0.0, eager_s_per_byte=0.0):
        mc.reuse_clear()
        X = mc.array(XN, name="X")
        for _ in range(2):
            assert _same_bits(one(X), want["one"])
            assert _same_bits(two(X), want["two"])


@pytest.mark.parametrize("policy", ["exact", "full", "hybrid"])
def test_the_copy_of_a_second_evaluation_keeps_the_views_layout(policy):
    """A reviewer's finding: the copy made of a strided view (a row of one evaluation, a column of the
    other) was contiguous, so ``np.dot`` took the unit-stride kernel plain NumPy had not (8.9e-16)."""
    def f(x):
        a, b = center(x), center(x)
        return np.dot(a[0], b[:, 0]), np.einsum("i,i->", a[1], b[:, 1]), np.inner(a[2], b[:, 2])

    _same_under_reuse(f, np.random.default_rng(5).normal(size=(301, 301)), policy, rounds=3)

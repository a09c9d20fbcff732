"""A write into a view of a traced array reaches the array it views, as in NumPy, under every reuse
policy, and the lineage log replays it.

A newcomer's differential fuzzer found ``a[0][1] = 5``, ``a.T[0] = 5``, ``np.add(x, 1, out=a[2:])`` and
``for row in a: row[:] = 0`` changing only the view: NumPy's ``a`` changed, mlcontext's did not, with no
warning, and the log replayed the wrong value too.
"""

from __future__ import annotations

import numpy as np
import pytest

import mlcontext as mc
from mlcontext.errors import UsageError

POLICIES = ["none", "full", "partial", "multilevel", "exact", "hybrid"]


def _base() -> np.ndarray:
    return np.arange(8.0).reshape(4, 2)[::-1].copy()



CASES = {
    "chained index": lambda a: a[0].__setitem__(1, 5),
    "row then element": lambda a: (lambda row: row.__setitem__(1, 6))(a[2]),
    "transpose property": lambda a: a.T.__setitem__(0, 5),
    "column view": lambda a: a[:, 0].__setitem__(slice(None), 0),
    "reshape": lambda a: a.reshape(-1).__setitem__(0, 42),
    "ravel": lambda a: a.ravel().__setitem__(3, 42),
    "np.ravel": lambda a: np.ravel(a).__setitem__(5, 41),
    "out= a slice": lambda a: np.add(a[:2], 1, out=a[2:]),
    "reduction out= a row": lambda a: np.sum(a[:2], axis=0, out=a[3]),
    "swapaxes": lambda a: np.swapaxes(a, 0, 1).__setitem__((0, 1), 9),
    "moveaxis": lambda a: np.moveaxis(a, 0, 1).__setitem__((1, 2), 8),
    "newaxis": lambda a: a[..., None].__setitem__(Ellipsis, 3),
    "expand_dims": lambda a: np.expand_dims(a, 0).__setitem__((0, 1, 1), 2),
    "rows of a loop": lambda a: [r.__setitem__(slice(None), i) for i, r in enumerate(a)],
    "chain of three": lambda a: a[1:][0].__setitem__(1, 7),
    "transpose method": lambda a: a.transpose(1, 0)[1].__setitem__(2, -1),
    "in-place operator on a view": lambda a: a[1:3].__iadd__(10),
    "copyto": lambda a: np.copyto(a[1], np.array([8.0, 9.0])),
    "fill": lambda a: a[3].fill(4),
    "sort in place": lambda a: a[:, 1].sort(),
    "np.put": lambda a: np.put(a[2], [0], [33.0]),
    "numpy integer index": lambda a: a[np.int64(1)].__setitem__(0, 21),
    "split": lambda a: np.split(a, 2)[1].__setitem__((0, 0), 31),
    "array_split along columns": lambda a: np.array_split(a, 2, axis=1)[1].__setitem__(slice(None), 4),
    "hsplit": lambda a: np.hsplit(a, 2)[0].__setitem__(1, 3),
    "flip": lambda a: np.flip(a)[0].__setitem__(0, 64),
    "fliplr": lambda a: np.fliplr(a)[1].__setitem__(0, 65),
    "rot90": lambda a: np.rot90(a)[0].__setitem__(slice(None), 66),
    "reshape in F order (a copy)": lambda a: a.ravel("F").__setitem__(1, -1),
    "reshape of a reshape": lambda a: a.reshape(-1).reshape(2, 4).__setitem__((1, 1), 5),
    "slices of slices in a loop": lambda a: [(a := a[1:]).__setitem__(0, 9) for _ in range(3)],
    "moveaxis with lists": lambda a: np.moveaxis(a, [0, 1], [1, 0]).__setitem__((0, 3), 2),
    "reshape that NumPy copies": lambda a: a.T.reshape(-1).__setitem__(0, 77),  # no write-back
    "fancy index is a copy": lambda a: a[[0, 1]].__setitem__(0, 55),  # no write-back either
}


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("case", CASES)
def test_a_write_into_a_view_reaches_its_base(case, policy):
    expected = _base()
    CASES[case](expected)
    with mc.reuse(policy, min_compute_s=0, eager_s_per_byte=0):
        mc.reuse_clear()
        for _ in range(2):  # the second time through the cache's hits
            a = mc.array(_base(), name="a")
            CASES[case](a)
            assert np.array_equal(np.asarray(a), expected)
    replayed = mc.recompute(mc.lineage.dumps(a), inputs={"a": _base()})
    assert np.array_equal(replayed, expected)


def _siblings(a):
    tr, te = a[:2], a[2:]
    mu = tr.mean(0)
    tr -= mu
    te -= mu


def _stale(a):
    v = a[0]
    a[0, 1] = 50
    v[:] = v * 1  # NumPy's v sees the 50 (a reviewer's case: the old values were written back)


def _nested(a):
    outer = a[1:]
    inner = outer[1:]
    inner[0] = -5
    outer[0] = outer[1] + 1  # outer sees inner's write


def _out_into_earlier_view(a):
    v = a[1]
    np.add(a[0], 1, out=a[0])
    np.add(v, 1, out=v)


SIBLINGS = {"train and test scaling": _siblings, "a view read and written after its base was": _stale,
            "views of views": _nested, "out= into a view taken earlier": _out_into_earlier_view,
            "split parts": lambda a: [p.__setitem__(slice(None), i) for i, p in enumerate(np.split(a, 2))],
            "columns kept in a list": lambda a: [c.__imul__(2) for c in [a[:, j] for j in range(2)]],
            "rows kept in a list": lambda a: [r.__itruediv__(r.sum() + 1) for r in list(a)],
            "sort two halves": lambda a: (a[:2].sort(axis=0), a[2:].sort(axis=0)),
            "transposes of transposes": lambda a: (a.T.T.__setitem__((0, 0), -5), a.T.__setitem__((1, 1), 7)),
            **({"reshape with copy=True": lambda a: np.reshape(a, (8,), copy=True).__setitem__(0, -1)}
               if np.lib.NumpyVersion(np.__version__) >= "2.1.0" else {}),  # (copy= came in 2.1)
            "a view of a reshaped copy": lambda a: a.T.reshape(4, 2).reshape(-1).__setitem__(0, -5),
            "split at decreasing indices": lambda a: np.split(a.reshape(-1), [6, 2])[2].__setitem__(
                slice(None), -1),
            "split past the end": lambda a: np.split(a.reshape(-1), [10, 7])[2].__setitem__(0, -1)}


@pytest.mark.parametrize("policy", ["none", "hybrid", "exact"])
@pytest.mark.parametrize("case", SIBLINGS)
def test_views_see_every_write_as_numpys_do(case, policy):
    """Two reviewers' cases: sibling views written one after the other, a view written after its base
    was, views of views; all NumPy's values (a first version refused them or lost writes)."""
    expected = _base()
    result_plain = SIBLINGS[case](expected)
    with mc.reuse(policy, min_compute_s=0, eager_s_per_byte=0):
        mc.reuse_clear()
        a = mc.array(_base(), name="a")
        SIBLINGS[case](a)
    assert np.array_equal(np.asarray(a), expected)
    del result_plain
    assert np.array_equal(mc.recompute(mc.lineage.dumps(a), inputs={"a": _base()}), expected)


def test_a_view_taken_before_a_write_shows_it():
    a = mc.array(np.arange(6.0).reshape(2, 3), name="a")
    v, w = a[0], a[:, 1]
    a[0, 1] = 50
    assert np.asarray(v).tolist() == [0.0, 50.0, 2.0] and np.asarray(w).tolist() == [50.0, 4.0]


def test_a_long_chain_of_reshapes_keeps_one_level():
    """A reviewer's gradient loop `w = w.reshape(-1, 1); w -= ...` made a chain of 300 views and ended
    in a RecursionError; reshapes of reshapes fold into one view of the first array."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 5)), rng.normal(size=50)
    w_plain = np.zeros(5)
    w = mc.array(np.zeros(5), name="w")
    tX, ty = mc.array(X, name="X"), mc.array(y, name="y")
    for _ in range(300):
        w_plain = w_plain.reshape(-1, 1)
        w_plain -= 0.1 * X.T @ (X @ w_plain - y[:, None]) / 50
        w = w.reshape(-1, 1)
        w -= 0.1 * tX.T @ (tX @ w - ty[:, None]) / 50
    np.testing.assert_allclose(np.asarray(w), w_plain, rtol=1e-12)


def test_shape_set_on_a_view_and_on_a_transposed_array():
    a = mc.array(np.arange(6.0).reshape(2, 3), name="a")
    v = a[1]
    v.shape = (3, 1)
    v[0, 0] = -1
    assert np.asarray(a).tolist() == [[0.0, 1.0, 2.0], [-1.0, 4.0, 5.0]]
    with pytest.raises(AttributeError, match="Incompatible shape"):  # as NumPy: it would be a copy
        a.T.shape = (6,)


def test_writes_into_views_that_are_not_written_back_are_refused():
    a = mc.array(np.arange(6.0), name="a")
    with pytest.raises(UsageError, match="another dtype"):
        a.view(np.int64)[1] = 0
    with pytest.raises(UsageError, match="diagonal"):
        np.diagonal(mc.array(np.eye(3), name="e"))[0] = 5  # (read-only in NumPy as well)


def test_a_shuffle_of_a_view_reaches_its_base():
    plain = np.arange(10.0)
    np.random.default_rng(3).shuffle(plain[2:7])
    a = mc.array(np.arange(10.0), name="a")
    mc.random.default_rng(3).shuffle(a[2:7])
    assert np.array_equal(np.asarray(a), plain)


def test_a_view_sees_its_own_write_and_later_views_see_the_base():
    a = mc.array(np.zeros((3, 3)), name="a")
    row = a[1]
    row[2] = 7.0
    assert np.asarray(row).tolist() == [0.0, 0.0, 7.0]
    assert np.asarray(a[:, 2]).tolist() == [0.0, 7.0, 0.0]


def test_parts_of_a_complex_array_refuse_writes_instead_of_losing_them():
    c = mc.array(np.array([1 + 2j, 3 + 4j]), name="c")
    with pytest.raises(UsageError, match="imaginary part of a complex array"):
        c.imag[0] = 1.0
    r = mc.array(np.array([1.0, 2.0]), name="r")
    with pytest.raises(UsageError, match="read-only"):
        r.imag[0] = 1.0
    r.real[1] = 5.0  # the real part of a real array is the array itself
    assert np.asarray(r).tolist() == [1.0, 5.0]


def test_a_scalar_taken_by_index_is_no_view():
    a = mc.array(np.arange(4.0).reshape(2, 2), name="a")
    s = a[0, 1]
    assert getattr(s, "_view", None) is None


def test_an_array_sliced_many_times_keeps_only_its_live_views():
    """Views taken and dropped are swept from their parent's list (a loop taking X[i] a million times
    must not keep a million dead references)."""
    a = mc.array(np.arange(20.0).reshape(10, 2), name="a")
    kept = a[0]
    for _ in range(5000):
        a[3]
    assert len(a._viewers) < 200
    a[0, 0] = 7.0
    assert np.asarray(kept).tolist() == [7.0, 1.0]


def test_an_element_of_an_object_array_is_the_element_itself() -> None:
    """Indexing a traced object array down to one element raised AttributeError in views.note (the
    element is no traced array: a str, an int, None); a reviewer's finding, fifteenth session."""
    plain = np.array(["x", 3, None], dtype=object)
    t = mc.array(plain)
    assert [t[0], t[1], t[2]] == [plain[0], plain[1], plain[2]]
    assert t.reshape(3, 1)[0, 0] == "x" and np.asarray(t[1:]).tolist() == [3, None]

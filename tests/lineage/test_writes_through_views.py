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


def _stale_view(a):
    v = a[2:]
    a[2, 0] = 100  # the base is written after the view was taken: NumPy's view sees it
    v[0, 1] = -5


def _two_views(a):
    v, w = a[1], a[:, 1]
    v[0] = 11
    w[3] = 12


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
    "stale view": _stale_view,
    "two views": _two_views,
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


def test_a_view_sees_its_own_write_and_later_views_see_the_base():
    a = mc.array(np.zeros((3, 3)), name="a")
    row = a[1]
    row[2] = 7.0
    assert np.asarray(row).tolist() == [0.0, 0.0, 7.0]
    assert np.asarray(a[:, 2]).tolist() == [0.0, 7.0, 0.0]


def test_parts_of_a_complex_array_refuse_writes_instead_of_losing_them():
    c = mc.array(np.array([1 + 2j, 3 + 4j]), name="c")
    with pytest.raises(UsageError, match="real or imaginary part"):
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

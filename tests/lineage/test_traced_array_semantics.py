"""Traced-array semantics beyond plain expressions: in-place writes, out=, unhandled functions,
multi-output items, foreign duck arrays."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mlcontext as mc
from mlcontext.errors import LineageError, UnhandledOperationWarning


def test_setitem_makes_a_new_version_never_a_stale_hash() -> None:
    base = np.arange(6.0).reshape(2, 3)
    x = mc.array(base, name="x")
    before = x.lineage
    view = x[0]  # taken before the write: shows it, as NumPy's view does, with a lineage that says so
    x[0, 1] = 100.0
    assert x.lineage != before and x.lineage.opcode == "numpy.ndarray.__setitem__"
    expected = base.copy()
    expected[0, 1] = 100.0
    assert np.array_equal(np.asarray(x), expected)
    assert np.array_equal(np.asarray(view), expected[0])
    assert np.array_equal(mc.recompute(mc.lineage.dumps(x), inputs={"x": base}), expected)
    assert np.array_equal(mc.recompute(mc.lineage.dumps(view), inputs={"x": base}), expected[0])


def test_setitem_with_traced_value_and_boolean_mask() -> None:
    x = mc.array(np.arange(5.0), name="x")
    y = mc.array(np.full(5, -1.0), name="y")
    x[x > 2] = y[x > 2]
    assert x.lineage.inputs[0].opcode == "lineage.data"
    assert np.array_equal(np.asarray(x), [0, 1, 2, -1, -1])
    again = mc.recompute(mc.lineage.dumps(x), inputs={"x": np.arange(5.0), "y": np.full(5, -1.0)})
    assert np.array_equal(again, [0, 1, 2, -1, -1])


def test_inplace_operators_and_out() -> None:
    x = mc.array(np.ones(3), name="x")
    x += 2
    x *= x
    assert np.array_equal(np.asarray(x), [9.0, 9.0, 9.0])
    out = mc.array(np.zeros(3), name="o")
    r = np.add(x, 1, out=out)
    assert r is out and np.array_equal(np.asarray(out), [10.0] * 3)
    plain_out = np.zeros(3)
    np.multiply(x, 2, out=plain_out)
    assert np.array_equal(plain_out, [18.0] * 3)
    masked = mc.array(np.full(3, 7.0), name="m")
    np.subtract(x, 1, out=masked, where=np.array([True, False, True]))
    assert np.array_equal(np.asarray(masked), [8.0, 7.0, 8.0])
    text = mc.lineage.dumps(masked)
    again = mc.recompute(text, inputs={"x": np.ones(3), "m": np.full(3, 7.0)})
    assert np.array_equal(again, [8.0, 7.0, 8.0])


def test_ufunc_at_sort_fill_copyto() -> None:
    x = mc.array(np.zeros(4), name="x")
    np.add.at(x, [0, 0, 2], 1.0)
    assert np.array_equal(np.asarray(x), [2, 0, 1, 0])
    x.sort()
    assert np.array_equal(np.asarray(x), [0, 0, 1, 2])
    np.copyto(x, np.arange(4.0))
    assert np.array_equal(np.asarray(x), [0, 1, 2, 3])
    np.fill_diagonal(y := mc.array(np.zeros((2, 2)), name="y"), 5.0)
    assert np.array_equal(np.asarray(y), [[5, 0], [0, 5]])
    again = mc.recompute(mc.lineage.dumps(x), inputs={"x": np.zeros(4)})
    assert np.array_equal(again, [0, 1, 2, 3])


def test_plain_value_is_read_only() -> None:
    x = mc.array(np.arange(3.0))
    with pytest.raises(ValueError):
        np.asarray(x)[0] = 5
    assert np.asarray(x, copy=True).flags.writeable  # an explicit copy is the user's


def test_multi_output_functions_give_each_output_its_own_item() -> None:
    m = mc.array(np.array([[2.0, 1.0], [1.0, 3.0]]), name="m")
    w, v = np.linalg.eigh(m)
    assert w.lineage.opcode == v.lineage.opcode == "lineage.output"
    assert w.lineage.inputs[0] is v.lineage.inputs[0]
    assert w.lineage != v.lineage
    parts = np.split(mc.array(np.arange(6.0), name="a"), 3)
    assert len({p.lineage.hash for p in parts}) == 3
    both = mc.lineage.dumps([w, v])
    rw, rv = mc.recompute(both, inputs={"m": np.asarray(m)})
    assert np.array_equal(rw, np.asarray(w)) and np.array_equal(rv, np.asarray(v))


def test_unhandled_function_warns_once_and_is_opaque() -> None:
    from mlcontext.ops import dispatch

    dispatch.STATE.warned.discard("numpy.packbits")
    x = mc.array(np.array([1, 0, 1, 1], dtype=np.uint8), name="x")
    with pytest.warns(UnhandledOperationWarning, match="numpy.packbits"):
        r = np.packbits(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r2 = np.packbits(x)  # no second warning
    assert np.array_equal(np.asarray(r), np.packbits(np.asarray(x)))
    assert r.lineage.opcode == "lineage.opaque" and r.lineage.inputs == (x.lineage,)
    assert r.lineage == r2.lineage
    text = mc.lineage.dumps(r + 1)
    with pytest.raises(LineageError, match="numpy.packbits"):
        mc.lineage.recompute(text, inputs={"x": np.asarray(x)})  # no store to look in
    from mlcontext.fingerprint import hash_array

    store = {hash_array(np.asarray(r)): np.asarray(r)}
    again = mc.recompute(text, resolver=store.get)
    assert np.array_equal(again, np.asarray(r) + 1)


def test_where_without_out_is_opaque_not_wrong() -> None:
    from mlcontext.ops import dispatch

    dispatch.STATE.warned.discard("numpy.add")
    x = mc.array(np.ones(3))
    with pytest.warns(UnhandledOperationWarning), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "'where' used without 'out'", UserWarning)
        r = np.add(x, 1, where=np.array([True, False, True]))
    assert r.lineage.opcode == "lineage.opaque"


def test_foreign_duck_arrays_get_not_implemented() -> None:
    class Duck:
        def __array_ufunc__(self, *args, **kwargs):
            return "duck"

        def __radd__(self, other):
            return "duck-radd"

    x = mc.array(np.ones(2))
    assert x + Duck() == "duck-radd"
    assert np.add(x, Duck()) == "duck"


def test_python_protocols_give_plain_values() -> None:
    x = mc.array(np.array([1.5, 2.5]))
    assert float(x[0]) == 1.5 and int(x[1]) == 2 and bool(x[0] > 1)
    assert len(x) == 2 and [float(v) for v in x] == [1.5, 2.5]
    assert x.shape == (2,) and x.dtype == np.float64 and x.ndim == 1 and x.size == 2
    assert list(range(10))[mc.array(np.int64(3))] == 3


def test_traced_array_pickles_with_lineage() -> None:
    import pickle

    x = mc.array(np.arange(3.0), name="x")
    y = np.cumsum(x) * 2
    z = pickle.loads(pickle.dumps(y))
    assert z.lineage == y.lineage and np.array_equal(np.asarray(z), np.asarray(y))


def test_random_generator_is_exact_and_recorded() -> None:
    rng = mc.random.default_rng(123)
    ref = np.random.default_rng(123)
    a = rng.normal(size=3)
    b = rng.integers(0, 10, size=4)
    c = rng.random()
    p = rng.permutation(5)
    x = mc.array(np.arange(5.0), name="x")
    rng.shuffle(x)
    assert np.array_equal(np.asarray(a), ref.normal(size=3))
    assert np.array_equal(np.asarray(b), ref.integers(0, 10, size=4))
    assert float(c) == ref.random()
    assert np.array_equal(np.asarray(p), ref.permutation(5))
    shuffled = np.arange(5.0)
    ref.shuffle(shuffled)
    assert np.array_equal(np.asarray(x), shuffled)
    text = mc.lineage.dumps([a, b, c, p, x])
    again = mc.recompute(text, inputs={"x": np.arange(5.0)})
    for got, want in zip(again, (a, b, c, p, x), strict=True):
        assert np.array_equal(got, np.asarray(want))


def test_unseeded_generator_records_its_entropy() -> None:
    rng = mc.random.default_rng()
    draw = rng.standard_normal(4)
    assert np.array_equal(mc.recompute(mc.lineage.dumps(draw)), np.asarray(draw))
    other = mc.random.default_rng().standard_normal(4)
    assert other.lineage != draw.lineage


def test_same_seed_same_item_different_state_different_item() -> None:
    a = mc.random.default_rng(5).normal(size=2)
    b = mc.random.default_rng(5).normal(size=2)
    rng = mc.random.default_rng(5)
    rng.normal(size=2)
    c = rng.normal(size=2)
    assert a.lineage == b.lineage
    assert c.lineage != a.lineage


def test_asarray_wraps_without_copying_and_freezes_the_input() -> None:
    data = np.arange(12.0).reshape(3, 4).copy()  # owns its memory
    x = mc.asarray(data, name="data")
    assert np.shares_memory(np.asarray(x), data) and not data.flags.writeable
    assert x.lineage == mc.array(np.arange(12.0).reshape(3, 4), name="data").lineage  # same leaf
    with pytest.raises(ValueError, match="read-only"):
        data[0, 0] = 1.0  # the lineage can never go stale
    base = np.zeros((4, 4))
    view = base[:, :2]
    v = mc.asarray(view)  # a view could be written through its base: copied instead
    assert not np.shares_memory(np.asarray(v), base) and base.flags.writeable
    assert np.array_equal(np.asarray(mc.asarray([1, 2])), [1, 2])
    assert mc.asarray(x) is x
    f32 = mc.asarray(np.ones(3), dtype=np.float32)  # another dtype: converted, a copy
    assert f32.dtype == np.float32


def test_output_only_functions_do_not_warn(tmp_path) -> None:
    """np.save and friends return nothing traced: no lineage to be imprecise about, no warning
    (pytest turns warnings into errors)."""
    import io

    x = mc.array(np.arange(6.0).reshape(2, 3))
    buffer = io.BytesIO()
    np.save(buffer, x)
    np.savetxt(tmp_path / "x.txt", x)
    assert np.array_equal(np.load(io.BytesIO(buffer.getvalue())), np.arange(6.0).reshape(2, 3))


def test_flat_reads_the_elements_in_c_order_and_refuses_writes() -> None:
    plain = np.arange(6.0).reshape(2, 3).T  # Fortran-ordered: flat is still C order
    x = mc.array(plain, name="x")
    assert list(x.flat) == list(plain.flat)
    assert x.flat[4] == plain.flat[4]
    with pytest.raises(ValueError, match="read-only"):
        x.flat[0] = 5.0  # would change the value under its lineage
    assert np.array_equal(np.asarray(x), plain)
    total = x.sum()  # a 0-d value, held as a NumPy scalar
    with pytest.raises(ValueError, match="read-only"):
        total.flat[0] = 7.0  # was silently lost
    assert float(total) == plain.sum()


def test_dlpack_exports_a_copy_that_the_importer_may_write() -> None:
    plain = np.arange(6.0).reshape(2, 3)
    x = mc.array(plain, name="x")
    out = np.from_dlpack(x)
    assert np.array_equal(out, plain) and not np.shares_memory(out, np.asarray(x))
    assert np.from_dlpack(x.sum()) == plain.sum()  # a 0-d value (a NumPy scalar inside)
    for no_copy in (False, np.False_, 0):
        with pytest.raises(BufferError, match="copy"):
            x.__dlpack__(copy=no_copy)


def test_torch_as_tensor_and_tensor_take_a_traced_array() -> None:
    torch = pytest.importorskip("torch")
    plain = np.arange(6.0).reshape(2, 3)
    x = mc.array(plain, name="x")
    for convert in (torch.as_tensor, torch.tensor):
        t = convert(x)  # raised "len() of unsized object" (torch walked it as nested sequences)
        assert t.dtype == torch.float64 and t.tolist() == plain.tolist()
        t += 1  # torch's copy: the traced value and the user's array stay as they were
    assert np.array_equal(np.asarray(x), np.arange(6.0).reshape(2, 3))
    assert float(torch.as_tensor(x.sum())) == 15.0

"""Column fingerprints (``mlcontext.fingerprint.column_digest``) are exact for both string storages.

Arrow-backed columns (pandas' default ``str`` dtype when pyarrow is installed, ``string[pyarrow]``,
``ArrowDtype``) are hashed from their buffers: the digest must not depend on chunking, slice offsets,
offset width or the bytes Arrow leaves undefined under nulls, and must change with any value, null or
order. A python-storage ``str``/``string`` column must get the digest of its Arrow-backed twin (which
storage pandas picks depends on whether pyarrow is installed). Object columns are hashed through a
joined string: equal digests exactly when the values are equal, separators inside values included.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pandas_data import make_trips, make_zones

import mlcontext as mc
from mlcontext.fingerprint import column_digest, hash_frame

try:
    import pyarrow as pa
except ImportError:  # the object and python-storage tests still run
    pa = None
arrow = pytest.mark.skipif(pa is None, reason="pyarrow is not installed")

# Few distinct characters (the separator among them) so that generated lists often share values.
TEXT = st.text(alphabet=["a", "b", "\x1f", "é", "\U0001f600"], max_size=4)
STRINGS = st.lists(st.none() | TEXT, max_size=30)

ARROW_STR = pd.StringDtype("pyarrow", na_value=np.nan) if pa else None  # "str" with pyarrow
PYTHON_STR = pd.StringDtype("python", na_value=np.nan)


def chunked(values: list[Any], type_: Any, cuts: list[int], pad: int) -> Any:
    """``values`` as an Arrow ChunkedArray cut at ``cuts``, each chunk a slice of a padded array."""
    filler = pa.array([values[0] if values else None] * pad, type_) if pad else None
    chunks, bounds = [], [0, *sorted(c % (len(values) + 1) for c in cuts), len(values)]
    for start, stop in zip(bounds, bounds[1:], strict=False):
        part = pa.array(values[start:stop], type_)
        if filler is not None:  # the chunk sits at offset `pad` of a larger array
            part = pa.concat_arrays([filler, part, filler]).slice(pad, stop - start)
        chunks.append(part)
    return pa.chunked_array(chunks, type_)


def arrow_str(values: list[Any], cuts: list[int] = (), pad: int = 0) -> Any:
    """An ArrowStringArray of dtype ``str`` (pandas keeps large_string chunks and their offsets)."""
    array = pd.arrays.ArrowStringArray(chunked(values, pa.large_string(), list(cuts), pad), dtype=ARROW_STR)
    assert [c.offset for c in array._pa_array.chunks if len(c)] == [pad] * len(
        [c for c in array._pa_array.chunks if len(c)])
    return array


def ext(values: list[Any], type_: Any, cuts: list[int] = (), pad: int = 0) -> Any:
    return pd.arrays.ArrowExtensionArray(chunked(values, type_, list(cuts), pad))


@arrow
def test_default_str_dtype_is_arrow_backed_with_pyarrow() -> None:
    array = pd.Series(["a", None], dtype="str").array
    assert type(array).__name__ == "ArrowStringArray"
    assert array.dtype == ARROW_STR


@arrow
@settings(max_examples=150, deadline=None)
@given(values=STRINGS, cuts=st.lists(st.integers(0, 40), max_size=4), pad=st.integers(0, 9))
def test_arrow_strings_do_not_depend_on_chunks_slices_or_offset_width(values: list[Any], cuts: list[int],
                                                                      pad: int) -> None:
    reference = column_digest(arrow_str(values))
    assert column_digest(arrow_str(values, cuts, pad)) == reference
    series = pd.Series(values, dtype="str")  # pandas' own constructor, slicing and concat
    assert column_digest(series.array) == reference
    k = min(pad, len(values))
    assert column_digest(series.iloc[k:].array) == column_digest(pd.array(values[k:], dtype="str"))
    assert column_digest(pd.concat([series.iloc[:k], series.iloc[k:]]).array) == reference
    for type_ in (pa.string(), pa.large_string(), pa.binary(), pa.string_view()):
        binary = pa.types.is_binary(type_)
        data = [v.encode() if binary and v is not None else v for v in values]
        assert column_digest(ext(data, type_, cuts, pad)) == column_digest(ext(data, type_))


@settings(max_examples=200, deadline=None)
@given(a=STRINGS, b=STRINGS, cuts=st.lists(st.integers(0, 40), max_size=3), pad=st.integers(0, 5))
def test_equal_digests_exactly_for_equal_values(a: list[Any], b: list[Any], cuts: list[int],
                                                pad: int) -> None:
    """Both storages: same values (nulls in place) <=> same digest. Nulls are NaN in ``str``."""
    same = a == b
    if pa is not None:
        assert (column_digest(arrow_str(a)) == column_digest(arrow_str(b, cuts, pad))) == same
        assert (column_digest(ext(a, pa.string())) == column_digest(ext(b, pa.string(), cuts, pad))) == same
    python_a, python_b = pd.array(a, dtype=PYTHON_STR), pd.array(b, dtype=PYTHON_STR)
    assert (column_digest(python_a) == column_digest(python_b)) == same
    objects_a, objects_b = np.array(a + [0], dtype=object)[:-1], np.array(b + [0], dtype=object)[:-1]
    assert (column_digest(objects_a) == column_digest(objects_b)) == same


@arrow
@settings(max_examples=100, deadline=None)
@given(values=STRINGS)
def test_python_and_arrow_storage_never_share_a_digest(values: list[Any]) -> None:
    """pandas treats them as different dtypes (``.equals`` is False), and both show as ``str``."""
    for na in (np.nan, pd.NA):
        python, arrow_backed = (pd.array(values, dtype=pd.StringDtype(storage, na_value=na))
                                for storage in ("python", "pyarrow"))
        assert str(python.dtype) == str(arrow_backed.dtype)
        assert column_digest(python) != column_digest(arrow_backed)


@arrow
def test_reuse_does_not_hand_one_storage_the_other() -> None:
    trips = make_trips(50)
    with mc.reuse("full"):
        for storage in ("pyarrow", "python"):
            frame = trips.astype({"payment": pd.StringDtype(storage, na_value=np.nan)})
            plain = frame[frame.duration >= 0].payment.str.upper()
            t = mc.frame(frame, name="trips")
            pd.testing.assert_series_equal(t[t.duration >= 0].payment.str.upper().to_pandas(), plain)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.none() | TEXT, min_size=1, max_size=20), data=st.data())
def test_any_change_of_value_null_or_order_changes_the_digest(values: list[Any], data: Any) -> None:
    i = data.draw(st.integers(0, len(values) - 1))
    changed = list(values)
    how = data.draw(st.sampled_from(["value", "null", "order"]))
    if how == "value":
        changed[i] = data.draw(TEXT.filter(lambda v: v != values[i]))
    elif how == "null":
        changed[i] = None if values[i] is not None else ""
    else:
        j = data.draw(st.integers(0, len(values) - 1))
        changed[i], changed[j] = changed[j], changed[i]
    assume(changed != values)
    if pa is not None:
        cuts = data.draw(st.lists(st.integers(0, 20), max_size=3))
        assert column_digest(arrow_str(values)) != column_digest(arrow_str(changed, cuts, 3))
        assert column_digest(ext(values, pa.large_string())) != column_digest(ext(changed, pa.large_string()))
    assert column_digest(pd.array(values, dtype=PYTHON_STR)) != column_digest(
        pd.array(changed, dtype=PYTHON_STR))


@pytest.mark.parametrize(("a", "b"), [(["a\x1fb", "c"], ["a", "b\x1fc"]), (["\x1f"], ["", ""]),
                                      (["a\x1f", None], ["a", "\x1f"])])
def test_separator_inside_values_does_not_merge_them(a: list[Any], b: list[Any]) -> None:
    assert "\x1f".join(v or "" for v in a) == "\x1f".join(v or "" for v in b)
    makers = [lambda v: np.array(v, dtype=object), lambda v: pd.array(v, dtype=PYTHON_STR)]
    if pa is not None:
        makers += [arrow_str, lambda v: ext(v, pa.string())]
    for make in makers:
        assert column_digest(make(a)) != column_digest(make(b))


PRIMITIVES = [  # empty without pyarrow: the parametrized test is then skipped
    (pa.int64(), st.integers(-(2**63), 2**63 - 1)),
    (pa.uint8(), st.integers(0, 255)),
    (pa.float64(), st.floats(allow_nan=False).map(lambda x: x + 0.0)),  # no -0.0: Arrow equals 0.0
    (pa.bool_(), st.booleans()),
    (pa.timestamp("us", tz="UTC"), st.integers(-(2**50), 2**50)),
    (pa.decimal128(12, 3), st.decimals(-(10**8), 10**8, places=3)),
    (pa.binary(3), st.binary(min_size=3, max_size=3)),
] if pa else []


@pytest.mark.parametrize(("type_", "element"), PRIMITIVES, ids=[str(t) for t, _ in PRIMITIVES])
def test_arrow_primitives_are_exact_and_chunking_independent(type_: Any, element: Any) -> None:
    @settings(max_examples=60, deadline=None)
    @given(a=st.lists(st.none() | element, max_size=25), b=st.lists(st.none() | element, max_size=25),
           cuts=st.lists(st.integers(0, 30), max_size=3), pad=st.integers(0, 11))
    def check(a: list[Any], b: list[Any], cuts: list[int], pad: int) -> None:
        digest = column_digest(ext(a, type_))
        assert column_digest(ext(a, type_, cuts, pad)) == digest
        same = pa.array(a, type_).equals(pa.array(b, type_))
        assert (column_digest(ext(b, type_, cuts, pad)) == digest) == same

    check()


@arrow
def test_bytes_under_nulls_are_not_hashed() -> None:
    """Arrow leaves a null's slot undefined: a variable-size null may even span bytes."""
    for type_, width in ((pa.string(), np.int32), (pa.large_string(), np.int64)):
        clean = pa.array(["ab", None, "c"], type_)
        offsets = pa.py_buffer(np.array([0, 2, 7, 8], width).tobytes())
        garbage = pa.Array.from_buffers(type_, 3, [clean.buffers()[0], offsets, pa.py_buffer(b"abXXXXXc")],
                                        null_count=1)
        assert garbage.to_pylist() == clean.to_pylist()
        wraps = [pd.arrays.ArrowExtensionArray]
        if type_ == pa.large_string():
            wraps.append(lambda a: pd.arrays.ArrowStringArray(a, dtype=ARROW_STR))
        for wrap in wraps:
            dirty = wrap(pa.chunked_array([garbage]))
            assert dirty._pa_array.chunk(0).buffers()[2].size == 8  # the garbage is still there
            assert column_digest(dirty) == column_digest(wrap(pa.chunked_array([clean])))
            assert column_digest(wrap(pa.chunked_array([garbage.slice(1)]))) == column_digest(
                wrap(pa.chunked_array([clean.slice(1)])))

    for type_, junk in ((pa.int64(), np.array([1, 12345, 3], np.int64).tobytes()),
                        (pa.bool_(), np.packbits([1, 1, 0], bitorder="little").tobytes())):
        clean = pa.array([True, None, False] if type_ == pa.bool_() else [1, None, 3], type_)
        dirty = pa.Array.from_buffers(type_, 3, [clean.buffers()[0], pa.py_buffer(junk)], null_count=1)
        assert dirty.to_pylist() == clean.to_pylist() and not dirty.buffers()[1].equals(clean.buffers()[1])
        assert column_digest(pd.arrays.ArrowExtensionArray(pa.chunked_array([dirty]))) == column_digest(
            pd.arrays.ArrowExtensionArray(pa.chunked_array([clean])))


@pytest.mark.parametrize(("type_", "a", "b"), [
    (pa.large_string(), [None, ""], ["", None]), (pa.string(), [None, "", "a"], ["", None, "a"]),
    (pa.int64(), [None, 0], [0, None]), (pa.bool_(), [None, False], [False, None]),
    (pa.float64(), [0.0, None, 1.0], [None, 0.0, 1.0]),
] if pa else [])
def test_where_the_nulls_are_is_hashed(type_: Any, a: list[Any], b: list[Any]) -> None:
    """Same length, values and null count: only the validity bits tell these apart."""
    assert column_digest(ext(a, type_)) != column_digest(ext(b, type_))
    assert column_digest(ext(a, type_, [1], 3)) == column_digest(ext(a, type_))
    if type_ == pa.large_string():
        assert column_digest(arrow_str(a)) != column_digest(arrow_str(b))


@arrow
def test_dtype_stays_in_the_digest() -> None:
    values = ["a", None, "b"]
    digests = {column_digest(pd.array(values, dtype=d)) for d in ("str", "string[pyarrow]")}
    digests |= {column_digest(ext(values, t)) for t in (pa.string(), pa.large_string())}
    assert len(digests) == 4
    assert column_digest(ext([1, 2], pa.int64())) != column_digest(ext([1, 2], pa.int32()))
    assert column_digest(ext([1, 2], pa.int64())) != column_digest(np.array([1, 2], np.int64))


@arrow
def test_types_without_a_buffer_path_are_still_exact() -> None:
    lists = [[1, 2], None, [3]]
    assert column_digest(ext(lists, pa.list_(pa.int64()))) != column_digest(
        ext([[1], None, [2, 3]], pa.list_(pa.int64())))
    words = ext(["a", "b", "a"], pa.dictionary(pa.int8(), pa.string()))
    assert column_digest(words) != column_digest(ext(["a", "a", "b"], pa.dictionary(pa.int8(), pa.string())))


@pytest.mark.parametrize("storage", [pytest.param("pyarrow", marks=arrow), "python"])
def test_traced_frames_with_either_string_storage_equal_plain_pandas(storage: str) -> None:
    dtype = pd.StringDtype(storage, na_value=np.nan)
    trips = make_trips(200, seed=5).astype({"payment": dtype})
    zones = make_zones().astype({"borough": dtype, "name": dtype})
    trips["label"] = pd.array(np.where(trips.fare > 10, "high\x1f", "low"), dtype=dtype)

    def pipeline(t: Any, z: Any) -> Any:
        t = t[t.duration >= 0].dropna(subset=["payment"])
        t = t.assign(payment=t.payment.str.strip().str.lower())
        t = t.merge(z, on="zone", how="left")
        return t.groupby(["borough", "payment"]).agg(n=("fare", "count"), fare=("fare", "mean"))

    plain = pipeline(trips, zones)
    t = mc.frame(trips, name="trips")
    assert t.payment.to_pandas().dtype == dtype
    assert t.fingerprint == hash_frame(trips) == hash_frame(trips.copy())
    traced = pipeline(t, mc.frame(zones, name="zones"))
    pd.testing.assert_frame_equal(traced.to_pandas(), plain)
    assert traced.fingerprint == hash_frame(traced.to_pandas())
    again = mc.lineage.recompute(mc.lineage.dumps(traced), inputs={"trips": trips, "zones": zones})
    pd.testing.assert_frame_equal(again, plain)

    changed = trips.copy()
    changed.loc[changed.index[7], "label"] = "low" if changed.label.iloc[7] != "low" else "high\x1f"
    assert hash_frame(changed) != hash_frame(trips)


@arrow
def test_read_parquet_with_pyarrow(tmp_path: Any) -> None:
    trips = make_trips()
    trips.to_parquet(tmp_path / "trips.parquet")
    t = mc.read_parquet(tmp_path / "trips.parquet")
    plain = pd.read_parquet(tmp_path / "trips.parquet")
    pd.testing.assert_frame_equal(t.to_pandas(), plain)
    assert t.lineage.opcode == "pandas.read_parquet"
    assert mc.frame(plain).fingerprint == mc.frame(trips).fingerprint  # same dtypes and values back


def test_read_parquet_without_an_engine_says_what_to_install(tmp_path: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for engine in ("pyarrow", "fastparquet"):
        monkeypatch.setitem(sys.modules, engine, None)  # `import pyarrow` raises ImportError
    with pytest.raises(ImportError, match=r"pip install pyarrow"):
        mc.read_parquet(tmp_path / "x.parquet")

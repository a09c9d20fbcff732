"""Known bugs of peer caches, of the kinds issue 10 is about (stale or foreign hits, unstable keys),
each turned into a small input of our own. The peer issue is named in each test."""

from __future__ import annotations

import pickle
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest

import mlcontext as mc
from mlcontext.errors import FingerprintError
from mlcontext.fingerprint import hash_array, hash_frame, hash_function, hash_value


def _cell(source: str, scope: dict | None = None, filename: str = "<cell>") -> dict:
    scope = scope if scope is not None else {"__name__": "__main__", "np": np, "mc": mc}
    exec(compile(textwrap.dedent(source), filename, "exec"), scope)  # noqa: S102 - test input
    return scope


def test_subroutine_change_invalidates_the_caller() -> None:
    # joblib/joblib#1621 and #1287: Memory.cache compares only the cached function's own code, so a
    # changed helper it calls keeps serving the old result.
    cell = _cell("""
        def a(x):
            return x
        @mc.step
        def b(x):
            return a(1.0) + x
    """)
    X = mc.array(np.arange(3.0))
    first = np.asarray(cell["b"](X)).copy()
    _cell("def a(x):\n    return x + 1\n", cell)
    np.testing.assert_array_equal(np.asarray(cell["b"](X)), first + 1)


def test_a_changed_default_argument_invalidates() -> None:
    # marimo-team/marimo#7977 (mo.cache ignored default values) and taylorhakes/python-redis-cache#39
    # (unpassed defaults left out of the key).
    cell = _cell("""
        @mc.step
        def get(a, version=1):
            return a * version
    """)
    X = mc.array(np.arange(3.0))
    cell["get"](X)
    _cell("@mc.step\ndef get(a, version=2):\n    return a * version\n", cell)
    np.testing.assert_array_equal(np.asarray(cell["get"](X)), np.arange(3.0) * 2)


def test_a_global_defined_after_the_function_is_read_at_call_time() -> None:
    # streamlit/streamlit#2798: the function's hash was computed at decoration, when globals defined
    # later did not exist yet; only their names were hashed, so later values were served stale.
    cell = _cell("""
        @mc.step
        def scale(a):
            return a * FACTOR
        FACTOR = 2.0
    """)
    X = mc.array(np.arange(3.0))
    cell["scale"](X)
    cell["FACTOR"] = 5.0
    np.testing.assert_array_equal(np.asarray(cell["scale"](X)), np.arange(3.0) * 5.0)


def test_objects_are_never_identified_by_their_repr() -> None:
    # dask/dask#829: custom objects were tokenized by repr, so two arrays printing alike (numpy
    # summarises large arrays) got one token; pydata/xarray#3515 hit the same through str().
    a = np.zeros((1000, 1000))
    b = a.copy()
    b[500, 500] = 1.0
    assert repr(a) == repr(b)
    assert hash_array(a) != hash_array(b)
    assert hash_frame(pd.DataFrame(a[:, :3])) != hash_frame(pd.DataFrame(b[:, 499:502]))

    class Wrapper:
        def __init__(self, array):
            self.array = array

        def __repr__(self) -> str:
            return repr(self.array)

    with pytest.raises(FingerprintError):
        hash_value(Wrapper(a))
    with pytest.raises(FingerprintError):  # column labels too: no repr fallback
        hash_frame(pd.DataFrame({Wrapper(a): [1]}))


def test_padding_bytes_of_record_arrays_are_not_hashed() -> None:
    # Point72/ccflow#273: structured arrays were tokenized from their raw buffer, padding included,
    # so equal values from np.empty got different tokens.
    dt = np.dtype({"names": ["a", "b"], "formats": ["<i1", "<f8"], "offsets": [0, 8], "itemsize": 16})
    garbage = np.empty(2, dt)
    garbage.view(np.uint8)[:] = 0xAB
    garbage["a"], garbage["b"] = [1, 2], [0.5, 0.25]
    clean = np.zeros(2, dt)
    clean["a"], clean["b"] = [1, 2], [0.5, 0.25]
    assert garbage.tobytes() != clean.tobytes()
    assert hash_array(garbage) == hash_array(clean)
    nested = np.dtype([("p", dt), ("q", "<i4")])
    x, y = np.empty(1, nested), np.zeros(1, nested)
    x.view(np.uint8)[:] = 0xCD
    for r in (x, y):
        r["p"]["a"], r["p"]["b"], r["q"] = 3, 1.5, 7
    assert hash_array(x) == hash_array(y)


def test_digests_survive_pickling_and_memory_layout(tmp_path) -> None:
    # dask/dask#10808: memory-mapped arrays tokenized by file metadata, not by value, and tokens
    # changed across a pickle round trip.
    a = np.arange(12.0).reshape(3, 4)
    path = tmp_path / "a.npy"
    np.save(path, a)
    mapped = np.load(path, mmap_mode="r")
    assert hash_array(mapped) == hash_array(a) == hash_array(pickle.loads(pickle.dumps(a)))
    assert hash_array(np.asfortranarray(a)) == hash_array(a)
    assert hash_array(a.T) == hash_array(np.ascontiguousarray(a.T))
    frame = pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})
    assert hash_frame(pickle.loads(pickle.dumps(frame))) == hash_frame(frame)


def test_moving_a_function_keeps_its_identity() -> None:
    # joblib/joblib#1302 (and #680): editing code above a cached function changed its line number,
    # which joblib took for a code change. Identity is the code, not where it stands.
    src = "def f(x):\n    return x + 1\n"
    first = _cell(src, filename="<cell 1>")["f"]
    moved = _cell("\n\n\n# a comment\n" + src, filename="<cell 7>")["f"]
    assert hash_function(first) == hash_function(moved)
    other = _cell("def f(x):\n    return x + 2\n")["f"]
    assert hash_function(first) != hash_function(other)


def test_record_arrays_round_trip_through_the_artifact_store(store) -> None:
    # The same kind seen from the store: a record dtype saved by its ``str`` ('|V16') came back
    # without its fields; padding is stored as zeros so the stored bytes hash to the array's digest.
    dt = np.dtype({"names": ["a", "b"], "formats": ["<i1", "<f8"], "offsets": [0, 8], "itemsize": 16})
    a = np.empty(3, [("p", dt), ("q", ">i4")])
    a.view(np.uint8)[:] = 0xEE
    a["p"]["a"], a["p"]["b"], a["q"] = [1, 2, 3], [0.5, 1.5, 2.5], [7, 8, 9]
    with mc.run("records") as run:
        ref = mc.artifact("records", a)
    back = mc.load_artifact(run.id, "records")
    assert back.dtype == a.dtype
    for field in ("a", "b"):
        np.testing.assert_array_equal(back["p"][field], a["p"][field])
    np.testing.assert_array_equal(back["q"], a["q"])
    assert ref.meta["content_hash"] == hash_array(a)  # stored as .npy, identified by its digest


def test_string_dtype_arrays_are_hashed_by_their_strings() -> None:
    # numpy/numpy#29226: hashing a StringDType array's buffer gives one hash for different long
    # strings (the buffer holds lengths and pointers into an arena). mlcontext raised a raw
    # ValueError from the buffer instead (a newcomer's mc.array and @mc.step argument).
    S = np.dtypes.StringDType
    long_a = np.array(["This string is extremely long"], dtype=S())
    long_b = np.array(["This string is different long"], dtype=S())
    assert hash_array(long_a) != hash_array(long_b)
    assert hash_array(long_a) == hash_array(np.array(["This string is extremely long"], dtype=S()))
    plain = np.array(["ab", "cd"], dtype=S())
    hashes = {hash_array(plain), hash_array(plain.astype(S(na_object=None))), hash_array(plain.astype("U2")),
              hash_array(plain.astype(object))}
    assert len(hashes) == 4  # na_object changes what operations give, and U2 and object are other dtypes
    assert hash_value(S()) != hash_value(S(na_object=None))
    for na in ("a\\b", "a\"b'c", "", None, float("nan")):  # (a reviewer's: quotes and backslashes)
        kind = S(na_object=na)
        assert repr(mc.lineage.literals.parse_dtype(repr(kind))) == repr(kind)  # (the literal's text)
    with_na = np.array(["a", None], dtype=S(na_object=None))
    assert hash_array(with_na) != hash_array(np.array(["a", "None"], dtype=S(na_object=None)))

    np.strings.upper(plain)  # (a body's first call that imports is never cached: docs/reuse.md)

    @mc.step
    def upper(v):
        return np.strings.upper(v)

    with mc.reuse("multilevel", min_compute_s=0, eager_s_per_byte=0):  # (cached on first sight)
        first = upper(plain)
        hits = mc.reuse_stats().step_hits
        again = upper(plain.copy())
        assert mc.reuse_stats().step_hits == hits + 1  # a StringDType result was never cached
        other = upper(np.array(["ab", "ce"], dtype=S()))
        assert mc.reuse_stats().step_hits == hits + 1
    assert first.tolist() == again.tolist() == ["AB", "CD"] and other.tolist() == ["AB", "CE"]
    traced = mc.array(plain)
    assert np.asarray(traced).tolist() == ["ab", "cd"] and traced.dtype == S()


def test_dtypes_of_other_packages_are_told_apart_by_their_type() -> None:
    # GreenWaves-Technologies/bfloat16#9: a user dtype has no buffer format ("cannot include dtype 'E'
    # in a buffer"); and ml_dtypes' float8_e4m3fn and int4 are both '<V1' to NumPy: one byte, two
    # different numbers, which a hash of dtype.str and bytes took for one value.
    ml_dtypes = pytest.importorskip("ml_dtypes")
    bits = np.array([0x38, 0x40, 0x07], dtype=np.uint8)
    views = [bits.view(ml_dtypes.float8_e4m3fn), bits.view(ml_dtypes.int4), bits.view(ml_dtypes.uint4),
             bits.view("V1"), bits]
    assert len({hash_array(v) for v in views}) == len(views)
    assert hash_value(views[0].dtype) != hash_value(views[1].dtype)
    half = np.array([1.5, 2.25, -3.0], dtype=ml_dtypes.bfloat16)
    with mc.reuse("hybrid", min_compute_s=0, eager_s_per_byte=0):
        for v in views[:3]:
            np.testing.assert_array_equal(np.asarray(mc.array(v).astype(np.float32)), v.astype(np.float32))
        doubled = mc.array(half) * 2
        assert doubled.dtype == half.dtype
        np.testing.assert_array_equal(np.asarray(doubled), half * 2)


@pytest.mark.parametrize("make", [lambda: np.random.default_rng(0), lambda: mc.random.default_rng(0),
                                  lambda: np.random.RandomState(0), lambda: np.random.PCG64(0)])
def test_a_generator_read_by_a_step_is_refused_with_advice_to_seed_one_inside(make) -> None:
    # A newcomer held mc.random.default_rng(0) in a step's closure, as the docs steer step users to
    # mc.random, and was told to "register it with mlcontext.fingerprint.register": registering would
    # make every draw look alike. The advice now is to create it inside from a seed.
    generator = make()

    @mc.step
    def noisy(x):
        return x + 0 * len(repr(generator))

    with mc.reuse("multilevel"), pytest.warns(mc.UnidentifiedWarning, match="random generator") as seen:
        noisy(np.ones(2))
    text = str(seen[0].message)
    assert "inside the step from a seed" in text and "register" not in text


@pytest.mark.parametrize("call", ["upper", "lower", "str_len", "isalpha", "replace", "zfill", "add"])
def test_numpy_string_functions_on_traced_string_arrays_are_traced(call) -> None:
    # A newcomer's np.strings.upper / str_len on traced StringDType arrays warned as unhandled.
    functions = {"upper": np.strings.upper, "lower": np.strings.lower, "str_len": np.strings.str_len,
                 "isalpha": np.strings.isalpha, "replace": lambda x: np.strings.replace(x, "a", "z"),
                 "zfill": lambda x: np.strings.zfill(x, 5), "add": lambda x: np.strings.add(x, x)}
    plain = np.array(["ab", "Cd", " e1"], dtype=np.dtypes.StringDType())
    try:
        expected = functions[call](plain)
    except TypeError as exc:  # (NumPy 2.0's zfill refuses StringDType itself)
        pytest.skip(f"NumPy {np.__version__} cannot: {exc}")
    if call in ("upper", "lower", "replace", "zfill") and not hasattr(np.strings.upper, "_implementation"):
        pytest.skip(f"NumPy {np.__version__}'s np.strings functions do not dispatch on array types")
    with warnings.catch_warnings():
        warnings.simplefilter("error", mc.UnhandledOperationWarning)
        traced = functions[call](mc.array(plain, name="s"))
    np.testing.assert_array_equal(np.asarray(traced), expected)
    again = mc.lineage.recompute(mc.lineage.dumps(traced), inputs={"s": plain}, trusted=True)
    np.testing.assert_array_equal(np.asarray(again), expected)

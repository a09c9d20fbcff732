"""Issue 13 item 11: errors a user can cause are MLContextErrors; a malformed entry of the persistent
cache is a miss, never an error of the ``@mc.step`` call.

Peers with the kind: mlflow/mlflow#12870 (metric values of an unexpected kind fail deep in the store
with an unclear error) and #22827 (out-of-range metric values silently changed), joblib/joblib#952
(an output that does not pickle is swallowed without a word), joblib/joblib#287 (a damaged cache
entry makes the cached call raise instead of recomputing).
"""

from __future__ import annotations

import io
import json
from fractions import Fraction

import numpy as np
import pytest

import mlcontext as mc
from mlcontext.fingerprint import persistent_key
from mlcontext.reuse import get_cache
from mlcontext.store import cache_index as index
from mlcontext.tracking.persistent_cache import StoreTier


@pytest.mark.parametrize("value", [10**400, -(10**400), Fraction(10**400, 3)])
def test_a_metric_beyond_a_float_is_a_param_error(store, value) -> None:
    with mc.run("big") as run:
        with pytest.raises(mc.ParamError, match="does not fit a 64-bit float") as caught:
            mc.log("loss", value)
        assert isinstance(caught.value, ValueError)
        mc.log("loss", 1.0)  # the run goes on
    assert [p.value for p in store.metadata.metric_points(run.id, "loss")] == [1.0]


class _Raises:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __reduce__(self):
        raise self.error


class _StateRaises:
    def __getstate__(self):
        raise KeyError("state")


@pytest.mark.parametrize("obj", [_Raises(RuntimeError("no")), _Raises(ValueError("no")),
                                 _Raises(KeyError("no")), _Raises(NotImplementedError()),
                                 _StateRaises()], ids=lambda o: type(getattr(o, "error", o)).__name__)
def test_an_artifact_that_cannot_be_pickled_is_a_store_error(store, obj) -> None:
    with mc.run("art"):
        with pytest.raises(mc.StoreError, match="cannot store a .* as an artifact"):
            mc.artifact("model", obj)
        mc.artifact("ok", b"bytes")  # the run goes on


@mc.step(name="tests.issue13.scaled")
def scaled(X):
    return np.tanh(X) * 2.0, {"n": int(X.shape[0])}


X = np.random.default_rng(11).normal(size=(120, 6))


def _step_entry(tier: StoreTier) -> tuple[str, bytes]:
    mc.reuse_clear()  # computed (and persisted) here, not served from an earlier test's memory
    with mc.reuse(persist=True, tier=tier, min_compute_s=0.0, persist_min_s=0.0, disk_bytes_per_s=1e18,
                  eager_s_per_byte=0.0), mc.reuse_events() as events:
        scaled(mc.array(X))
    (key,) = [persistent_key(bytes.fromhex(e.key)) for e in events if e.kind == "step_computed"]
    data, _ = tier.get(key)
    return key, data


def _header(data: bytes) -> tuple[dict, bytes]:
    n = int.from_bytes(data[1:9], "little")
    return json.loads(data[9:9 + n]), data[9 + n:]


def _with_header(header: object, rest: bytes) -> bytes:
    text = json.dumps(header).encode()
    return b"S" + len(text).to_bytes(8, "little") + text + rest


def _npz(*arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, *arrays)
    return buf.getvalue()


MUTATIONS = {
    "index out of range": lambda h, r: _with_header({**h, "tree": ["array", 99]}, r),
    "unknown node": lambda h, r: _with_header({**h, "tree": ["lambda", 0]}, r),
    "node not a list": lambda h, r: _with_header({**h, "tree": 7}, r),
    "dict items malformed": lambda h, r: _with_header({**h, "tree": ["dict", [1, 2]]}, r),
    "tree missing": lambda h, r: _with_header({"log": h["log"]}, r),
    "header a list": lambda h, r: _with_header([1, 2], r),
    "log garbage": lambda h, r: _with_header({**h, "log": "{not a log"}, r),
    "log a number": lambda h, r: _with_header({**h, "log": 5}, r),
    "traced item index": lambda h, r: _with_header({**h, "tree": ["traced", 0, 42]}, r),
    "npz truncated": lambda h, r: _with_header(h, r[: len(r) // 2]),
    "npz object array": lambda h, r: _with_header(h, _npz(np.array([{}], dtype=object))),
    "length beyond data": lambda h, r: b"S" + (10**12).to_bytes(8, "little") + b"{}",
    "empty": lambda h, r: b"",
    "tag only": lambda h, r: b"S",
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_malformed_step_entry_counts_as_a_miss(store, mutation) -> None:
    tier = StoreTier(store)
    key, data = _step_entry(tier)
    header, rest = _header(data)
    bad = MUTATIONS[mutation](header, rest)
    index.delete_entry(store.metadata, key)
    tier.put(key, bad, 1.0, len(bad))  # signed by this writer: trusted, and still malformed
    mc.reuse_clear()
    with mc.reuse(persist=False, tier=tier, min_compute_s=0.0):
        get_cache().refresh_tier()
        with mc.reuse_events() as events:
            out, info = scaled(mc.array(X))
    assert [e.kind for e in events if e.name == "tests.issue13.scaled"] == ["step_computed"]
    assert mc.reuse_stats().corrupted >= 1
    assert np.array_equal(np.asarray(out), np.tanh(X) * 2.0) and info == {"n": 120}
    assert key not in index.all_keys(store.metadata)  # removed from the index for every process

"""Recorded data never runs its writer's code in a reader (issue 13 item 3).

The attacker is anyone who can write to a shared store: they can put any bytes under any artifact and
any kind/format in its row. Each crafted artifact below would create a marker file if unpickled; no CLI
command and no load without trust may create it. Data formats (``.npy`` without pickles, Arrow, JSON,
skops with scikit-learn's own types) load without trust.
"""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import mlcontext as mc
from mlcontext.cli import cli
from mlcontext.errors import ArtifactCorruptedError, DataFormatError, UntrustedArtifactError
from mlcontext.store import Store
from mlcontext.store.context import ContextStore
from mlcontext.tracking.formats import decode, encode, no_unpickling


class Marker:
    """Unpickling this writes a file: the proof that the writer's code ran in the reader."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (Path.write_text, (Path(self.path), "pwned"))


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "marker"


def crafted_pickle(marker: Path) -> bytes:
    return pickle.dumps(Marker(marker), protocol=5)


def plant(store: Store, run_id: str, name: str, data: bytes, *, kind: str, meta: dict) -> str:
    """What a store writer can do: any bytes, any kind and metadata, attached to any run."""
    digest = store.artifacts.put(data)
    store.metadata.add_artifact(run_id, name, digest, size=len(data), kind=kind, meta=meta)
    return digest


def plant_legacy_dataset(store: Store, name: str, payload: bytes, content_hash: str) -> None:
    """A dataset version as mlcontext before this change stored frames: a pickle of kind "frame"."""
    digest = store.artifacts.put(payload)
    store.metadata.add_artifact(None, "dataset", digest, size=len(payload), kind="frame", meta={})
    ContextStore(store.metadata).add_version("sec", name, content_hash=content_hash, artifact_hash=digest,
                                             role=None, rows=2, run_id=None, user="mallory",
                                             profile=mc.profile(pd.DataFrame({"x": [1.0, 2.0]})).to_dict())


# -- load_artifact -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, meta", [("pickle", {}), ("model", {"format": "pickle"}),
                                        ("frame", {}), ("pickle", {"format": "frame"})])
def test_a_crafted_pickle_loads_only_when_trusted(store, marker, kind, meta):
    # joblib #977, nanoGPT #661: unpickling a model runs its __reduce__.
    with mc.run("victim", project="sec") as run:
        pass
    plant(store, run.id, "model.pkl", crafted_pickle(marker), kind=kind, meta=meta)
    with pytest.raises(UntrustedArtifactError, match="trusted=True"):
        mc.load_artifact(run.id, "model.pkl")
    with pytest.raises(UntrustedArtifactError):
        mc.load_artifact(run.id, "model.pkl", trusted=False)
    assert not marker.exists()
    mc.load_artifact(run.id, "model.pkl", trusted=True)  # the test can fail: trusted, it does run
    assert marker.read_text() == "pwned"


def test_pickles_this_process_wrote_read_back_without_trust(store):
    value = {1, 2, 3}  # no data format holds a set: a pickle
    with mc.run("mine", project="sec") as run:
        ref = mc.artifact("s", value)
    assert ref.meta["format"] == "pickle"
    assert mc.load_artifact(run.id, "s") == value


def test_a_pickle_wearing_a_data_format_is_refused_as_corrupt(store, marker):
    # numpy CVE-2019-6446 / joblib #1582: an object array in an .npy holds a pickle.
    buffer = io.BytesIO()
    np.save(buffer, np.array([Marker(marker), 1], dtype=object), allow_pickle=True)
    with mc.run("victim", project="sec") as run:
        pass
    plant(store, run.id, "w.npy", buffer.getvalue(), kind="array", meta={"format": "npy"})
    plant(store, run.id, "w.json", crafted_pickle(marker), kind="json", meta={"format": "json"})
    plant(store, run.id, "df", crafted_pickle(marker), kind="frame", meta={"format": "arrow"})
    for name in ("w.npy", "w.json", "df"):
        with pytest.raises(ArtifactCorruptedError):
            mc.load_artifact(run.id, name, trusted=True)  # trust does not make data formats unpickle
    assert not marker.exists()


def test_nothing_unpickles_inside_the_cli_guard_even_when_trusted(marker):
    with no_unpickling(), pytest.raises(UntrustedArtifactError, match="command line never unpickles"):
        decode(crafted_pickle(marker), "pickle", {}, trusted=True)
    assert not marker.exists()


# -- legacy stores: pickled dataset versions ------------------------------------------------------

def test_a_legacy_pickled_dataset_is_refused_with_what_to_do_and_loads_when_trusted(store, marker):
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    plant_legacy_dataset(store, "old", pickle.dumps(frame), "a" * 32)
    version = mc.dataset_version("old@1", project="sec")
    with pytest.raises(UntrustedArtifactError, match=r"stored as a pickle.*load\(trusted=True\)"):
        version.load()
    pd.testing.assert_frame_equal(version.load(trusted=True), frame)


def test_new_dataset_versions_are_arrow_not_pickles(store):
    frame = pd.DataFrame({"x": [1.5, 2.5], 1: ["a", "b"], "1": [True, False]})
    version = mc.dataset(frame, name="fresh", project="sec")
    data = store.artifacts.get(version.artifact_hash)
    assert data[:6] == b"ARROW1" and b"\x80\x05" not in data[:2]
    pd.testing.assert_frame_equal(version.load(trusted=False), frame)
    assert mc.diff("fresh@1", "fresh@1", project="sec").rows == (2, 2)


# -- no CLI command ever unpickles ----------------------------------------------------------------

@pytest.fixture
def poisoned(tmp_path, marker, monkeypatch):
    """A store whose datasets and artifacts are all crafted pickles; returns the runs' ids."""
    home = tmp_path / "home"
    monkeypatch.setenv("MLCONTEXT_HOME", str(home))
    store = Store.open(home=home)
    try:
        with mc.run("a", project="sec", store=store) as a:
            pass
        with mc.run("b", project="sec", store=store) as b:
            pass
        payload = crafted_pickle(marker)
        for run in (a, b):
            plant(store, run.id, "model", payload, kind="pickle", meta={"format": "pickle"})
        plant_legacy_dataset(store, "trips", payload + b" ", "b" * 32)  # not the model's bytes
        plant_legacy_dataset(store, "trips", payload + b"  ", "c" * 32)
    finally:
        store.close()
    return a.id, b.id


def _cli_calls(a: str, b: str) -> list[list[str]]:
    return [["runs"], ["show", a], ["diff", a, b], ["diff", "trips@1", "trips@2"],
            ["diff", f"{a}:model", f"{b}:model"], ["drift", "trips@1", "trips@2"],
            ["lineage", "trips@1"], ["lineage", f"{a}:model"], ["impact", "trips@1"],
            ["versions", "trips"], ["history", "trips"], ["find", "--data", "trips@1"],
            ["tried", "--dataset", "trips", "--metric", "acc"], ["testuse"], ["cache"]]


def test_no_cli_command_unpickles(poisoned, marker):
    a, b = poisoned
    for args in _cli_calls(a, b):
        for fmt in ([], ["--json"]):
            CliRunner().invoke(cli, args + fmt)
            assert not marker.exists(), f"`mlcontext {' '.join(args)}` ran the writer's code"


def test_cli_diff_of_pickled_versions_is_one_line_saying_what_to_do(poisoned, marker):
    env = os.environ | {"PYTHONPATH": str(Path(mc.__file__).parents[1])}
    result = subprocess.run([sys.executable, "-m", "mlcontext", "diff", "trips@1", "trips@2"],
                            capture_output=True, text=True, env=env, check=False)
    assert result.returncode != 0 and not marker.exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "never unpickles" in lines[0] and "trusted=True" in lines[0], lines


# -- formats: what each kind of value becomes ----------------------------------------------------

@pytest.mark.parametrize("value, fmt", [
    (np.arange(6.0).reshape(2, 3), "npy"), (np.float32(1.5), "npy"), (b"raw", "bytes"),
    ({"a": [1, 2.5, None, "x"], "b": {"c": True}}, "json"), ([1, "2"], "json"), ("text", "json"),
    (pd.DataFrame({"a": [1, 2]}), "arrow"), (pd.Series([1.0, 2.0], name="s"), "arrow"),
    ((1, 2), "pickle"), ({1: "int key"}, "pickle"),
])
def test_each_value_gets_the_safest_format_and_round_trips(value, fmt):
    encoded = encode(value)
    assert encoded.format == fmt
    back = decode(encoded.data, encoded.format, encoded.meta, trusted=fmt == "pickle")
    if isinstance(value, pd.DataFrame | pd.Series):
        (pd.testing.assert_frame_equal if isinstance(value, pd.DataFrame) else
         pd.testing.assert_series_equal)(back, value)
    elif isinstance(value, np.ndarray | np.generic):
        np.testing.assert_array_equal(back, value)
        assert type(back) is type(value)
    else:
        assert back == value and type(back) is type(value)


def test_a_frame_arrow_cannot_hold_is_refused_not_pickled(store):
    with pytest.raises(DataFormatError, match="astype"):
        encode(pd.DataFrame({"mixed": [1, "x"]}))
    with pytest.raises(DataFormatError):
        mc.dataset(pd.DataFrame({"mixed": [1, "x"]}), name="messy", project="sec")


def test_scikit_learn_models_are_skops_and_other_types_need_trust(store, marker):
    # MLflow #13077 / PR #18759: skops instead of pickle for scikit-learn models.
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = np.arange(12.0).reshape(6, 2), np.arange(6.0)
    with mc.run("fit", project="sec") as run:
        ref = mc.artifact("ridge", Ridge(alpha=0.5).fit(X, y))
        evil = make_pipeline(FunctionTransformer(Marker), Ridge())
        mc.artifact("evil", evil)
    assert ref.meta["format"] == "skops" and ref.kind == "model"
    np.testing.assert_allclose(mc.load_artifact(run.id, "ridge", trusted=False).predict(X),
                               Ridge(alpha=0.5).fit(X, y).predict(X))
    data = mc.get_store().artifacts.get(next(a.hash for a in mc.get_run(run.id).artifacts
                                             if a.name == "evil"))
    with pytest.raises(UntrustedArtifactError, match="Marker"):
        decode(data, "skops", {}, trusted=False)
    assert not marker.exists()


def test_torch_state_is_saved_with_torch_and_loaded_weights_only(store):
    torch = pytest.importorskip("torch")
    state = {"w": torch.arange(4.0)}
    with mc.run("t", project="sec") as run:
        ref = mc.artifact("state.pt", state)
    assert ref.meta["format"] == "torch"
    loaded = mc.load_artifact(run.id, "state.pt", trusted=False)
    assert torch.equal(loaded["w"], state["w"])
    assert torch.equal(torch.load(io.BytesIO(store.artifacts.get(ref.hash)), weights_only=True)["w"],
                       state["w"])


def test_a_crafted_torch_file_runs_nothing_and_garbage_is_an_mlcontext_error(marker):
    # A writer saves an object whose unpickling writes a file, and labels it a state dict
    # (weights_only): torch's restricted unpickler refuses it and we say why, without running it.
    # Found by the format fuzzer below once torch was installed: torch.load on garbage raised
    # UnicodeDecodeError, KeyError and IndexError.
    torch = pytest.importorskip("torch")
    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(2), "x": Marker(marker)}, buffer)
    with pytest.raises(UntrustedArtifactError, match="trusted=True"):
        decode(buffer.getvalue(), "torch", {"weights_only": True}, trusted=False)
    assert not marker.exists()
    for garbage in (b"c\x80\x00", b"\x80\x00", b"h\x00", b"\x87", b""):
        with pytest.raises(ArtifactCorruptedError):
            decode(garbage, "torch", {}, trusted=False)


# pyarrow < 17 says it refused (a RuntimeWarning): that refusal is what this test wants to see.
@pytest.mark.filterwarnings("ignore:pickle-based deserialization of pyarrow.PyExtensionType:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:pyarrow.PyExtensionType is deprecated:FutureWarning")
def test_an_arrow_file_with_a_pickled_extension_type_runs_nothing(marker):
    # pyarrow CVE-2023-47248: PyExtensionType metadata was unpickled on read (hence pyarrow>=14.0.1).
    import json

    import pyarrow as pa

    from mlcontext.tracking.formats import decode_frame

    field = pa.field("c0", pa.binary(), metadata={
        b"ARROW:extension:name": b"arrow.py_extension_type",
        b"ARROW:extension:metadata": crafted_pickle(marker)})
    note = {"columns": {"labels": [["s", "x"]], "dtype": "object", "names": [["n"]]},
            "dtypes": ["object"], "series": False, "name": None}
    schema = pa.schema([field], metadata={b"mlcontext.pandas": json.dumps(note).encode()})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, schema) as writer:
        writer.write_table(pa.Table.from_arrays([pa.array([b"a"])], schema=schema))
    try:
        decode_frame(sink.getvalue().to_pybytes())
    except ArtifactCorruptedError:
        pass
    assert not marker.exists()


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=400), fmt=st.sampled_from(["npy", "arrow", "json", "skops", "array",
                                                           "bytes", "torch", "tree"]),
       meta=st.sampled_from([{}, {"shape": [2], "dtype": "<f8"}, {"shape": "x", "dtype": "O"},
                             {"scalar": True}, {"weights_only": False}]))
def test_any_bytes_in_any_format_give_the_value_or_an_mlcontext_error(data, fmt, meta):
    # Fuzzing the readers with what a store writer controls (bytes, format, metadata): no foreign
    # exception, and nothing unpickled without trust.
    from mlcontext.tracking.trees import StoredTree

    try:
        StoredTree(data) if fmt == "tree" else decode(data, fmt, meta, trusted=False)
    except mc.MLContextError:
        pass


@pytest.mark.parametrize("value", [
    np.arange(12.0).reshape(3, 4), np.arange(5, dtype=">i4"), np.array(["a", "bc"]),
    np.array(["2020-01-01"], dtype="M8[ns]"), np.array([1, 2], dtype="m8[s]"),
    np.zeros(3, [("a", "<i8"), ("b", "<f4")]), np.float32(3.5), np.zeros((0, 3)),
    np.arange(16.0).reshape(4, 4).T, np.arange(10)[::-3], np.array([1 + 2j]),
    np.zeros((2, 2), dtype=[("x", "<f8", (2,))]),
], ids=repr)
def test_an_npy_artifact_is_stored_under_its_lineage_leaf_hash(value):
    # The artifact store keeps an array under the hash a traced leaf of it has: the streamed hash must
    # equal the documented one (array_header + buffer) for every layout and dtype.
    from mlcontext.fingerprint import array_header, canonical_array, hash_bytes

    array = np.asarray(value)
    if array.dtype.fields is not None:
        array = canonical_array(array)
    assert encode(value).content_hash == hash_bytes(array_header(array) + array.tobytes())

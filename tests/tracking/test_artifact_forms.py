"""What ``mc.artifact`` accepts and how it reads back (issue 11 items 18-20).

Paths that name nothing are errors, folders are trees, arrays are real ``.npy`` files, and artifacts
saved inside ``mc.loop`` carry the loop context and are selected by it.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from hypothesis import given, settings
from hypothesis.extra import numpy as hnp

import mlcontext as mc
from mlcontext.errors import NotFoundError, UnsafeArchiveError
from mlcontext.fingerprint import hash_frame
from mlcontext.store import MetadataStore, migrate
from mlcontext.store.engine import make_engine
from mlcontext.store.migrate import upgrade
from mlcontext.tracking.formats import decode_frame, encode_frame
from mlcontext.tracking.trees import StoredTree

# -- item 18: path strings and folders -------------------------------------------------------------

@pytest.mark.parametrize("typo", ["checkpoints/modle.pt", "modle.pt", "~/nowhere/x", "./missing"])
def test_a_string_that_looks_like_a_missing_path_is_an_error(store, tmp_path, monkeypatch, typo):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "model.pt").write_bytes(b"weights")
    with mc.run("typo", project="p"), pytest.raises(NotFoundError, match="no file or folder"):
        mc.artifact("model.pt", typo)


def test_a_missing_pathlike_is_an_error_and_plain_text_is_text(store, tmp_path):
    with mc.run("t", project="p") as run:
        with pytest.raises(NotFoundError, match="check the spelling"):
            mc.artifact("m", tmp_path / "modle.pt")
        mc.artifact("note", "a sentence, not a path")
    assert mc.load_artifact(run.id, "note") == "a sentence, not a path"


def test_a_folder_is_stored_as_a_tree_with_its_links(store, tmp_path):
    folder = tmp_path / "ckpt"
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"\0\1\2")
    (folder / "sub" / "config.json").write_text('{"lr": 0.1}')
    (folder / "run.sh").write_text("#!/bin/sh\n")
    (folder / "run.sh").chmod(0o755)
    os.symlink("sub/config.json", folder / "latest.json")
    with mc.run("tree", project="p") as run:
        ref = mc.artifact("checkpoint", folder)
        again = mc.artifact("checkpoint-again", str(folder))
    assert ref.kind == "tree" and ref.meta["files"] == 3 and again.hash == ref.hash  # deterministic
    tree = mc.load_artifact(run.id, "checkpoint")
    assert isinstance(tree, StoredTree)
    assert dict(tree) == {"run.sh": b"#!/bin/sh\n", "sub/config.json": b'{"lr": 0.1}',
                          "weights.bin": b"\0\1\2"}
    assert tree.links == {"latest.json": "sub/config.json"}
    out = tree.extract(tmp_path / "restored")
    assert os.readlink(out / "latest.json") == "sub/config.json"
    assert json.loads((out / "latest.json").read_text()) == {"lr": 0.1}
    assert os.access(out / "run.sh", os.X_OK) and not os.access(out / "weights.bin", os.X_OK)


def _tar(entries: list[tarfile.TarInfo], data: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for info in entries:
            payload = data.get(info.name)
            if payload is not None:
                info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return buffer.getvalue()


def _entry(name: str, *, link: str | None = None) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    if link is not None:
        info.type, info.linkname = tarfile.SYMTYPE, link
    return info


@pytest.mark.parametrize("entries, data", [
    # MLflow PR #19260 / #20225: artifact paths with ../ written outside the destination.
    ([_entry("../evil")], {"../evil": b"x"}),
    ([_entry("/tmp/evil-abs")], {"/tmp/evil-abs": b"x"}),
    # rarfile #114: a link to outside, then a file through it.
    ([_entry("l", link="../outside"), _entry("l/evil")], {"l/evil": b"x"}),
    # mholt/archiver #69: a link, then a regular file of the same name.
    ([_entry("moo", link="../outside/moo"), _entry("moo")], {"moo": b"x"}),
    ([_entry(".git/hooks/post-checkout")], {".git/hooks/post-checkout": b"x"}),
])
def test_a_crafted_tree_never_extracts_outside(tmp_path, entries, data):
    outside = tmp_path / "outside"
    outside.mkdir()
    tree = StoredTree(_tar(entries, data))
    with pytest.raises(UnsafeArchiveError):
        tree.extract(tmp_path / "dest")
    assert list(outside.iterdir()) == [] and not (tmp_path / "evil").exists()
    assert not Path("/tmp/evil-abs").exists()


# -- item 19: arrays are .npy, frames are Arrow ----------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(hnp.arrays(dtype=hnp.scalar_dtypes() | hnp.byte_string_dtypes() | hnp.unicode_string_dtypes(),
                  shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)))
def test_stored_arrays_are_npy_files_that_np_load_reads(array):
    from mlcontext.tracking.formats import decode, encode

    encoded = encode(array)
    assert encoded.format == "npy"
    loaded = np.load(io.BytesIO(encoded.data), allow_pickle=False)
    assert loaded.dtype == array.dtype and loaded.shape == array.shape
    np.testing.assert_array_equal(loaded, array)
    np.testing.assert_array_equal(decode(encoded.data, "npy", encoded.meta), array)


def test_an_artifact_array_reads_back_from_the_store_as_npy(store):
    w = np.linspace(0, 1, 7, dtype=np.float32)
    with mc.run("w", project="p") as run:
        ref = mc.artifact("w.npy", w)
    raw = store.artifacts.get(ref.hash)
    np.testing.assert_array_equal(np.load(io.BytesIO(raw)), w)
    assert mc.load_artifact(run.id, "w.npy").dtype == np.float32


FRAMES = {
    "floats": pd.DataFrame(np.arange(6.0).reshape(3, 2)),
    "int labels": pd.DataFrame(np.ones((5, 2)), columns=[3, 7]),
    "1 and '1'": pd.DataFrame({1: [1, 2], "1": ["a", "b"]}),
    "multiindex columns": pd.DataFrame({("a", 1): [1], ("a", 2): [2.5]}),
    "categorical, tz, nullable": pd.DataFrame({
        "c": pd.Categorical(["x", "y", "x"]), "t": pd.date_range("2020", periods=3, tz="Europe/Paris"),
        "n": pd.array([1, None, 3], dtype="Int64")}, index=pd.Index([10, 20, 30], name="k")),
    "ns and us timestamps": pd.DataFrame({"ns": np.array([1, 2], dtype="datetime64[ns]"),
                                          "us": np.array([1, 2], dtype="datetime64[us]")}),
    "object floats stay object": pd.DataFrame({"o": np.array([1.5, None], dtype=object)}),
    "duplicate labels": pd.DataFrame([[1, 2]], columns=["a", "a"]),
    "sliced index": pd.DataFrame({"v": [1, 2, 3]}).iloc[::2],
    "empty": pd.DataFrame(),
}


@pytest.mark.parametrize("name", FRAMES)
def test_frames_round_trip_through_arrow_exactly(name):
    frame = FRAMES[name]
    data, content_hash = encode_frame(frame)
    assert data[:6] == b"ARROW1"
    back = decode_frame(data)
    pd.testing.assert_frame_equal(back, frame)
    assert content_hash == hash_frame(back) == hash_frame(frame)


# -- item 20: loop context -------------------------------------------------------------------------

def test_artifacts_in_a_loop_carry_the_context_and_are_selected_by_it(store):
    with mc.run("epochs", project="p") as run:
        for epoch in mc.loop("epoch", range(5)):
            mc.artifact("model.pt", np.full(3, epoch // 2))  # epochs 0/1 and 2/3: identical bytes
        mc.artifact("final", b"done")
    for epoch in range(5):
        np.testing.assert_array_equal(mc.load_artifact(run.id, "model.pt", epoch=epoch),
                                      np.full(3, epoch // 2))
    np.testing.assert_array_equal(mc.load_artifact(run.id, "model.pt"), np.full(3, 2))  # the last
    saved = [a for a in mc.get_run(run.id).artifacts if a.name == "model.pt"]
    assert [a.context for a in saved] == [{"epoch": e} for e in range(5)]
    assert saved[0].hash == saved[1].hash  # one stored content, two occurrences
    assert next(a for a in mc.get_run(run.id).artifacts if a.name == "final").context == {}
    with pytest.raises(NotFoundError, match=r"saved it at \[\{'epoch': 0\}"):
        mc.load_artifact(run.id, "model.pt", epoch=9)


def test_nested_loops_select_on_every_index(store):
    with mc.run("nested", project="p") as run:
        for fold in mc.loop("fold", range(2)):
            for epoch in mc.loop("epoch", range(2)):
                mc.artifact("w", np.array([fold, epoch]))
    np.testing.assert_array_equal(mc.load_artifact(run.id, "w", fold=1, epoch=0), [1, 0])
    np.testing.assert_array_equal(mc.load_artifact(run.id, "w", fold=0), [0, 1])  # last of fold 0


def test_the_migration_keeps_old_artifact_rows_and_gives_them_no_context(metadata_url):
    engine = make_engine(metadata_url)
    upgrade(engine, "0004")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO projects (name, created_at) VALUES ('old', 0)"))
        conn.execute(sa.text(
            "INSERT INTO runs (id, project_id, name, status, user, host, pid, started_at, heartbeat_at, "
            "argv, cwd, python, environment, durability) SELECT 'r1', id, 'n', 'finished', 'u', 'h', 1, "
            "0, 0, '[]', '/', '3', '{}', 'buffered' FROM projects".replace(" user,", ' "user",')))
        conn.execute(sa.text("INSERT INTO artifacts (hash, size, kind, created_at, meta) "
                             "VALUES ('ab', 1, 'pickle', 0, '{}')"))
        conn.execute(sa.text("INSERT INTO run_artifacts (run_id, artifact_hash, name, direction, time) "
                             "VALUES ('r1', 'ab', 'm', 'output', 0)"))
    upgrade(engine)
    record = MetadataStore(metadata_url, engine=engine).get_run("r1")
    assert [(a.name, a.kind, dict(a.context)) for a in record.artifacts] == [("m", "pickle", {})]
    with engine.begin() as conn:  # and back down, and up again
        command.downgrade(migrate._config(conn), "0004")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT name FROM run_artifacts")).all() == [("m",)]
    upgrade(engine)
    engine.dispose()


def test_one_model_has_one_content_hash_in_every_process():
    # skops names members by id() and stamps them with the time: the same model saved by two runs
    # must still be one artifact (issue 11 item 4's identical bytes).
    import subprocess
    import sys

    code = ("import numpy as np; from sklearn.pipeline import make_pipeline; "
            "from sklearn.preprocessing import StandardScaler; from sklearn.linear_model import Ridge; "
            "from mlcontext.tracking.formats import encode; from mlcontext.fingerprint import hash_bytes; "
            "X = np.arange(20.0).reshape(10, 2); "
            "e = encode(make_pipeline(StandardScaler(), Ridge()).fit(X, X.sum(axis=1))); "
            "print(e.format, hash_bytes(e.data))")
    env = os.environ | {"PYTHONPATH": str(Path(mc.__file__).parents[1])}
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                              check=True).stdout for _ in range(2)}
    assert len(outputs) == 1 and outputs.pop().startswith("skops ")

"""Arrays read from files: leaves identified by the file's bytes, recomputed from inputs or the store."""

from __future__ import annotations

import io

import numpy as np
import pytest

import mlcontext as mc
from mlcontext.errors import LineageError
from mlcontext.fingerprint import hash_bytes


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_a_file_leaf_is_identified_by_the_files_bytes(tmp_path):
    path = tmp_path / "X.npy"
    path.write_bytes(_npy(np.arange(6.0).reshape(2, 3)))
    x = mc.load(path)
    assert x.lineage.opcode == "numpy.load" and x.lineage.label == "X.npy"
    assert hash_bytes(path.read_bytes()) in x.lineage.literals[1][0][1]
    np.testing.assert_array_equal(np.asarray(x), np.arange(6.0).reshape(2, 3))
    text = mc.lineage.dumps((x * 2).sum(axis=1))
    np.testing.assert_array_equal(mc.lineage.recompute(text, inputs={"X.npy": path}), [6.0, 24.0])
    path.write_bytes(_npy(np.zeros((2, 3))))
    with pytest.raises(LineageError, match="content hash"):
        mc.lineage.recompute(text, inputs={"X.npy": path})
    with pytest.raises(LineageError, match="no bytes for file X.npy"):
        mc.lineage.recompute(text, inputs={})


def test_a_stored_file_is_found_by_recompute_without_inputs(sqlite_store, tmp_path):
    path = tmp_path / "weights.npy"
    path.write_bytes(_npy(np.array([1.0, 2.0, 3.0])))
    with mc.run("store-file", project="p"):
        mc.artifact("weights.npy", path)
    text = mc.lineage.dumps(mc.load(path) + 1)
    path.unlink()
    np.testing.assert_array_equal(mc.recompute(text), [2.0, 3.0, 4.0])


def test_not_an_npy_file_is_a_clear_error():
    with pytest.raises(LineageError, match="not a .npy array file"):
        mc.load(b"plain text", name="notes.txt")

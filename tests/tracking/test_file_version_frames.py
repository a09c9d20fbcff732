"""A file version's traced frame links derived data back to the version, whatever the file's format.

A newcomer's weekly table came as CSV some weeks and as Parquet others: ``frame()`` of a Parquet (or
TSV) version was identified by the frame's content, not by the file's bytes the version is identified
by, so the cleaned data's lineage said "computed from data not registered", and ``history`` left those
runs out (3 of 6 counted). An unreadable file (an empty CSV a failed export left) raised pandas' own
error instead of one of mlcontext's, naming the file.
"""

from __future__ import annotations

import pandas as pd
import pytest

import mlcontext as mc
from mlcontext.errors import DataFormatError, MLContextError

FORMATS = {
    "csv": lambda df, p: df.to_csv(p, index=False),
    "tsv": lambda df, p: df.to_csv(p, index=False, sep="\t"),
    "txt": lambda df, p: df.to_csv(p, index=False),
    "parquet": lambda df, p: df.to_parquet(p, index=False),
    "PARQUET": lambda df, p: df.to_parquet(p, index=False),
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_derived_data_links_back_to_a_file_version(store, tmp_path, fmt):
    path = tmp_path / f"t.{fmt}"
    FORMATS[fmt](pd.DataFrame({"a": [10, 20, 20, 30], "b": [1.0, 2.0, 2.0, -1.0]}), path)
    with mc.run("clean", project="p"):
        t = mc.dataset(str(path), name="raw").frame()
        clean = t.drop_duplicates()
        clean = clean[clean.b > 0]
        mc.dataset(clean, name="clean")
    pd.testing.assert_frame_equal(mc.dataset_version("clean@1", project="p").load().reset_index(drop=True),
                                  pd.DataFrame({"a": [10, 20], "b": [1.0, 2.0]}))
    edges = mc.derivation("clean", project="p").edges
    assert list(edges["kind"]) == ["lineage"]
    assert set(mc.history("raw", project="p")["transformation"]) == {"drop_duplicates", "filter b > 0"}


def test_a_file_version_read_twice_gives_one_leaf(store, tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"a": [1, 2]}).to_parquet(path)
    v = mc.dataset(str(path), name="raw", project="p")
    assert v.frame().lineage.hash == v.frame().lineage.hash
    assert v.frame().lineage.opcode == "pandas.read_parquet"


@pytest.mark.parametrize("name, content", [("empty.csv", b""), ("empty.tsv", b""),
                                           ("bad.parquet", b"not parquet at all"),
                                           ("bad.npy", b"\x93NUMPY broken"),
                                           ("ragged.csv", b"a,b\n1,2\n3,4,5,6\n")])
def test_an_unreadable_file_is_refused_by_name_and_stores_nothing(store, tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match=name.replace(".", r"\.")) as caught:
        mc.dataset(str(path), name="c", project="p")
    assert isinstance(caught.value, MLContextError)
    assert "load it yourself" in str(caught.value)
    assert store.metadata.artifact_info(mc.fingerprint.hash_bytes(content)) is None

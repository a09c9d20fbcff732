"""The examples in docs/pandas-sklearn.md run, in order, in one namespace."""

from __future__ import annotations


def test_pandas_sklearn_doc_examples_run(run_doc, capsys) -> None:
    run_doc("pandas-sklearn.md", 7)
    printed = capsys.readouterr().out
    assert "'filter duration >= 0'" in printed and "merge zones on='zone'" in printed

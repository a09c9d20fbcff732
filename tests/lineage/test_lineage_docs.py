"""The examples in docs/lineage.md run, in order, in one namespace."""

from __future__ import annotations


def test_lineage_doc_examples_run(run_doc, capsys) -> None:
    run_doc("lineage.md", 4)
    assert '"numpy.cumsum"' in capsys.readouterr().out

"""A ``run`` edge in the lineage tree is said in words: a dataset the run only read showed as
``lookup@1  run`` in the lineage of a frame that never used it, which a newcomer read as "clean was
derived from lookup" (fifteenth session). The edge stays (mlcontext cannot rule out an influence it did
not trace: docs/cli.md); the tree says what it means."""

from __future__ import annotations

import pandas as pd

import mlcontext as mc


def test_a_dataset_only_read_is_said_to_be_read_not_derived_from(sqlite_store) -> None:
    with mc.run("r5", project="words", store=sqlite_store):
        raw = mc.dataset(pd.DataFrame({"x": [1.0, -2.0, 3.0]}), name="raw").frame()
        mc.dataset(pd.DataFrame({"k": [1, 2]}), name="lookup").frame()  # read, never used
        mc.dataset(raw[raw.x > 0], name="clean")
    text = str(mc.derivation("clean", project="words", store=sqlite_store))
    lines = {line.split()[1]: line for line in text.splitlines() if "@1" in line and len(line.split()) > 1}
    assert "read by the run, not traced into it" in lines["lookup@1"]
    assert "lineage" in lines["raw@1"] and "not traced" not in lines["raw@1"]
    downstream = str(mc.consumers("lookup", project="words", store=sqlite_store))
    assert " run ·" not in downstream and "made by a run that read it, not traced from it" in downstream

"""Failure kinds of peers' drift and data-diff tools, as tests of mlcontext's answers (own inputs).

- yakew7/Fair-Code#461: a column collapsing to mostly missing showed no drift, the distribution of
  the values left being computed alone.
- evidentlyai/evidently#1480: one empty column made the whole report fail.
- harvard-lil/binoc#92: the same rows in another order reported as millions of changed cells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import mlcontext as mc
from mlcontext.insight.diff import content_changes

RNG = np.random.default_rng(14)


def test_a_column_collapsing_to_missing_drifts_though_its_values_keep_their_split():
    a = pd.DataFrame({"group": ["w"] * 500 + ["b"] * 500})
    b = pd.DataFrame({"group": ["w"] * 25 + ["b"] * 25 + [None] * 950})
    row = mc.drift(a, b).columns.loc["group"]
    assert bool(row["drifted"]) and "null fraction" in row["reason"]


def test_an_empty_column_leaves_the_others_compared():
    a = pd.DataFrame({"x": RNG.normal(size=300), "empty": np.nan})
    b = pd.DataFrame({"x": RNG.normal(3, 1, 300), "empty": np.nan})
    report = mc.drift(a, b)
    assert bool(report.columns.loc["x", "drifted"])
    assert not bool(report.columns.loc["empty", "drifted"])


def test_the_same_rows_in_another_order_are_no_changed_rows():
    a = pd.DataFrame({"id": range(200), "v": RNG.normal(size=200)})
    b = a.sample(frac=1, random_state=0)
    changes = content_changes(a, b)
    assert changes.reordered and changes.added == 0 and changes.removed == 0
    assert not mc.drift(a, b).columns["drifted"].any()

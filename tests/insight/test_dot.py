"""``Graph.to_dot``: one arrow per pair of nodes, naming every run and kind behind it (a newcomer's
DOT picture repeated `prepare / lineage` once per run that made the same bytes, and labelled a
model's fit-and-evaluate edge only `fit`)."""

from __future__ import annotations

import pandas as pd

from mlcontext.insight.graph import Graph


def _graph(rows: list[tuple[str, str, str, str, str]]) -> Graph:
    edges = pd.DataFrame(rows, columns=["src", "dst", "run_id", "run_name", "kind"])
    nodes = pd.DataFrame({"hash": ["raw", "clean", "test", "model"],
                          "label": ["raw@1", "clean@1", "test@1", "model (run r3)"], "depth": [2, 1, 1, 0]})
    return Graph("model", "model (run r3)", "upstream", nodes, edges, pd.DataFrame())


def test_one_arrow_per_pair_with_every_run_and_kind():
    dot = _graph([("raw", "clean", "r1", "prepare", "lineage"), ("raw", "clean", "r2", "prepare", "lineage"),
                  ("clean", "test", "r1", "prepare", "lineage"),
                  ("test", "model", "r3", "train", "fit"),
                  ("test", "model", "r3", "train", "evaluate")]).to_dot()
    arrows = [line.strip() for line in dot.splitlines() if "->" in line]
    assert len(arrows) == 3
    assert '"raw" -> "clean" [label="prepare (2 runs)\\nlineage"];' in arrows
    assert '"test" -> "model" [label="train\\nfit / evaluate"];' in arrows
    assert '"clean" -> "test" [label="prepare\\nlineage"];' in arrows


def test_runs_of_several_names_are_named():
    dot = _graph([("raw", "clean", f"r{k}", name, "run")
                  for k, name in enumerate(["a", "b", "c", "d", "a"])]).to_dot()
    assert '[label="a, b, c +1 (5 runs)\\nrun"]' in dot

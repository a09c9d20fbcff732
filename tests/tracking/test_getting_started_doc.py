"""The first example of docs/getting-started.md runs as written (a newcomer copied it and found
names it never defined) and records what the page says it does."""

from __future__ import annotations

import re
from pathlib import Path

import mlcontext as mc

DOC = Path(__file__).resolve().parents[2] / "docs" / "getting-started.md"


def test_record_a_run_example_runs(store) -> None:
    block = re.search(r"## Record a run\n```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert block is not None
    namespace: dict = {}
    exec(compile(block.group(1), str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    run = mc.get_run(namespace["run"].id)
    assert run.status == "finished" and run.params["lr"] == 0.01
    losses = mc.metrics("loss", project="taxi")
    assert len(losses) == 10 and losses["value"].is_monotonic_decreasing

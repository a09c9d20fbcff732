"""The examples in docs/reuse.md run, in order, in one namespace, and print what the page says."""

from __future__ import annotations

import re
from pathlib import Path

import mlcontext as mc

DOC = Path(__file__).resolve().parents[2] / "docs" / "reuse.md"


def test_reuse_doc_examples_run(capsys) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 4
    namespace: dict = {}
    with mc.reuse("hybrid", min_compute_s=2e-5, eager_s_per_byte=1e-8):  # the documented defaults
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    printed = capsys.readouterr().out.split("\n")
    # every "print(...)   # expected" comment in the page matches what was printed
    expected = [m.strip() for b in blocks for m in re.findall(r"print\(.*\)\s+#\s*(.*)", b)]
    assert len(expected) >= 3
    assert [p.strip() for p in printed if p.strip()] == expected

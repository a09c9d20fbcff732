"""The examples in docs/reuse.md run, in order, in one namespace, and print what the page says."""

from __future__ import annotations

import re

import mlcontext as mc


def test_reuse_doc_examples_run(run_doc, capsys) -> None:
    with mc.reuse("hybrid", min_compute_s=2e-5, eager_s_per_byte=1e-8):  # the documented defaults
        blocks = run_doc("reuse.md", 4)
    printed = capsys.readouterr().out.split("\n")
    # every "print(...)   # expected" comment in the page matches what was printed
    expected = [m.strip() for b in blocks for m in re.findall(r"print\(.*\)\s+#\s*(.*)", b)]
    assert len(expected) >= 3
    assert [p.strip() for p in printed if p.strip()] == expected

"""docs/api.md says what the code does: every public name, its signature and its summary.

A newcomer found the arguments of ``mc.find``, ``mc.versions`` and ``mc.metrics`` nowhere in the docs;
``scripts/api_doc.py`` writes the reference from the code, and this test fails when it is stale.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import mlcontext as mc

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "api_doc.py"


def test_the_api_reference_is_current():
    api = runpy.run_path(str(SCRIPT))
    assert api["main"](["--check"]) == 0, "docs/api.md is out of date: run `python scripts/api_doc.py`"


def test_every_public_name_is_in_it():
    text = (SCRIPT.parents[1] / "docs" / "api.md").read_text()
    missing = [n for n in mc.__all__ if not n.startswith("__") and f"`mc.{n}" not in text]
    assert not missing, missing

"""A script run in a fresh process against a store in a temporary folder, for tests of what a second
process finds of the first one's work (persistent reuse of an edited helper, a changed argv).

Importable from any test module (``from script_runs import run_script``): pytest puts ``tests/`` on
the path for its root ``conftest.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path


def run_script(folder: Path, prelude: str, main: str, *argv: str) -> dict:
    """Run ``prelude`` then ``main`` (dedented) with ``argv`` in a fresh Python in ``folder``, with
    ``MLCONTEXT_HOME`` in it and it on the import path; the script prints one JSON line last, which is
    returned. The warning filters are the interpreter's own (``PYTHONWARNINGS`` is not passed on)."""
    env = dict(os.environ, MLCONTEXT_HOME=str(folder / "home"), PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=os.pathsep.join([str(folder), *filter(None, [os.environ.get("PYTHONPATH")])]))
    env.pop("PYTHONWARNINGS", None)
    out = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(main), *argv], cwd=folder,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])

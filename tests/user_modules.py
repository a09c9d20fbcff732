"""A user's own module for tests of function identity: written into a project folder on ``sys.path``,
imported, and edited as a user edits a file between runs.

Importable from any test module (``from user_modules import user_module, rewrite``): pytest puts
``tests/`` on the path for its root ``conftest.py``.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest


def user_module(folder: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str) -> types.ModuleType:
    """Write ``source`` (dedented) as ``folder/name.py``, put ``folder`` first on ``sys.path`` and import
    the module afresh (a module of that name imported before is dropped for the test)."""
    (folder / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return importlib.import_module(name)


def rewrite(module: types.ModuleType, source: str) -> types.ModuleType:
    """Edit the module's file to ``source`` (dedented) and reload it, as an edited helper is met."""
    Path(module.__file__ or "").write_text(textwrap.dedent(source))
    importlib.invalidate_caches()
    return importlib.reload(module)


def assert_follows_rate(fare: Callable[[Any], Any], module: types.ModuleType, x: np.ndarray) -> None:
    """``fare(x)`` computes ``x * module.RATE``: its identity changes with ``RATE``, and its step gives
    the current ``RATE``'s result, never an earlier one."""
    import mlcontext as mc
    from mlcontext.fingerprint import hash_function

    before = hash_function(fare)
    module.RATE = 5.0
    assert hash_function(fare) != before
    step = mc.step(fare)
    np.testing.assert_array_equal(np.asarray(step(mc.array(x))), x * 5.0)
    module.RATE = 7.0
    np.testing.assert_array_equal(np.asarray(step(mc.array(x))), x * 7.0)

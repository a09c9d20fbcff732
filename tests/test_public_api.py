"""The public API: everything exported exists, is documented, and nothing is patched at import."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import mlcontext as mc
from mlcontext import errors


def test_every_exported_name_exists_and_has_a_docstring():
    for name in mc.__all__:
        value = getattr(mc, name)
        if callable(value) or isinstance(value, type):
            assert (value.__doc__ or "").strip(), f"mlcontext.{name} has no docstring"


def test_every_error_is_exported_and_in_one_hierarchy():
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert getattr(mc, name) is cls
        assert issubclass(cls, mc.MLContextError | mc.MLContextWarning)


@pytest.mark.parametrize("name", ["mlcontext", "mlcontext.tracking"])
def test_dir_shows_the_public_api_only(name):
    # dir() is what tab completion offers: `annotations` (the __future__ import), `importlib`, `sys`,
    # `TYPE_CHECKING` or an imported subpackage there would read as API (issue 12, point 9)
    import mlcontext.insight.graph  # noqa: F401 - imports set subpackage attributes on the package
    import mlcontext.tracking.queries  # noqa: F401

    package = importlib.import_module(name)
    shown = dir(package)
    assert "annotations" not in shown
    assert {name for name in shown if not name.startswith("__")} == set(package.__all__) - {"__version__"}
    assert "__version__" in dir(mc) and "__doc__" in shown


def test_import_patches_nothing():
    code = ("import numpy, pandas; before = (pandas.DataFrame.__getitem__, numpy.dot, pandas.read_csv); "
            "import mlcontext; "
            "assert before == (pandas.DataFrame.__getitem__, numpy.dot, pandas.read_csv)")
    subprocess.run([sys.executable, "-c", code], check=True)

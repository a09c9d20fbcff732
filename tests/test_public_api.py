"""The public API: everything exported exists, is documented, and nothing is patched at import."""

from __future__ import annotations

import subprocess
import sys

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


def test_import_patches_nothing():
    code = ("import numpy, pandas; before = (pandas.DataFrame.__getitem__, numpy.dot, pandas.read_csv); "
            "import mlcontext; "
            "assert before == (pandas.DataFrame.__getitem__, numpy.dot, pandas.read_csv)")
    subprocess.run([sys.executable, "-c", code], check=True)

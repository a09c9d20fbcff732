"""The public API's docstrings: numpydoc sections, and Examples that run (issue 12, point 8).

Every callable of ``mlcontext.__all__`` (and the methods the CLI and users call on what it returns)
has a numpydoc docstring: a summary, ``Parameters`` for what it takes, ``Returns`` (or ``Yields``) for
what it gives back, ``Raises`` for the errors a caller can cause, and ``Examples``. The examples are
run here as doctests, each with ``mc``, ``np`` and ``pd`` imported, in a temporary folder with a
temporary default store, so they stay true. ``numpydoc.validate`` checks that the documented
parameters are the real ones.
"""

from __future__ import annotations

import doctest
import inspect
import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpydoc.docscrape import ClassDoc, FunctionDoc
from numpydoc.validate import validate

import mlcontext as mc
from mlcontext.store import Store

# Namespaces in __all__: their members are documented with their modules, not as one callable.
NAMESPACES = {"lineage", "pd", "random", "fingerprint"}
# Methods of returned objects that users (and the CLI) call directly.
METHODS = ["Run.log", "Run.param", "Run.artifact", "Run.end", "Store.open", "DatasetVersion.load"]

# numpydoc.validate's checks that hold for every public callable: a docstring, a summary, parameters
# documented as they are in the signature, a Returns/Yields section when something is returned, and
# Examples. (Its style checks — line lengths, full stops, "See Also" — are not enforced.)
ENFORCED = {"GL08", "SS01", "PR01", "PR02", "RT01", "YD01", "EX01"}


def _is_error(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseException | Warning)


def _public() -> list[tuple[str, Any]]:
    found = []
    for name in sorted(mc.__all__):
        value = getattr(mc, name)
        if name in NAMESPACES or _is_error(value) or not callable(value):
            continue
        found.append((name, value))
    for dotted in METHODS:
        owner, attr = dotted.split(".")
        found.append((dotted, getattr(getattr(mc, owner), attr)))  # a classmethod comes bound
    return found


PUBLIC = _public()

def _cases() -> list[Any]:
    return [pytest.param(name, value, id=name) for name, value in PUBLIC]


def _path(value: Any) -> str:
    function = getattr(value, "__func__", value)
    return f"{function.__module__}.{function.__qualname__}"


def _returns_nothing(value: Any) -> bool:
    hints = getattr(getattr(value, "__func__", value), "__annotations__", {})
    return hints.get("return") in ("None", None.__class__, None) and "return" in hints


@pytest.mark.parametrize("name, value", _cases())
def test_numpydoc_sections(name: str, value: Any) -> None:
    is_class = isinstance(value, type)
    errors = [f"{code}: {message}" for code, message in validate(_path(value))["errors"]
              if code in ENFORCED and not (is_class and code in ("PR01", "PR02", "RT01"))]
    assert not errors, f"mlcontext.{name}: " + "; ".join(errors)
    if is_class:
        doc = ClassDoc(value)
        assert doc["Attributes"] or doc["Parameters"], f"mlcontext.{name}: no Attributes or Parameters"
        return
    doc = FunctionDoc(getattr(value, "__func__", value))
    takes = [p for p in inspect.signature(value).parameters if p not in ("self", "cls")]
    assert not takes or doc["Parameters"], f"mlcontext.{name}: no Parameters section"
    assert _returns_nothing(value) or doc["Returns"] or doc["Yields"], f"mlcontext.{name}: no Returns"
    assert doc["Raises"] or not takes, f"mlcontext.{name}: no Raises section (what can a caller get wrong?)"


@pytest.fixture
def doc_store(tmp_path, monkeypatch) -> Iterator[Store]:
    """A temporary working folder and default store, left as they were found afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLCONTEXT_HOME", raising=False)
    monkeypatch.delenv("MLCONTEXT_STORE", raising=False)
    monkeypatch.delenv("MLCONTEXT_ARTIFACTS", raising=False)
    store = Store.open(home=tmp_path / "store")
    mc.set_store(store)
    try:
        yield store
    finally:
        current = mc.active_run()
        if current is not None:
            current.end()
        mc.set_store(None)
        mc.reuse_clear()
        store.close()


@pytest.mark.parametrize("name, value", _cases())
def test_examples_run(name: str, value: Any, doc_store: Store) -> None:
    target = getattr(value, "__func__", value)
    globs = {"mc": mc, "np": np, "pd": pd}
    tests = doctest.DocTestFinder(recurse=False).find(target, f"mlcontext.{name}", globs=globs)
    examples = [t for t in tests if t.examples]
    assert examples, f"mlcontext.{name} has no runnable example"
    out = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in examples:
        runner.run(test, out=out.write)
    assert runner.failures == 0, out.getvalue()

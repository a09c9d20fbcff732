"""Lineage logs recompute from the inputs the user named (issue 10 item 7).

Plain NumPy constants mixed into traced code (``np.ones((n, 1))``, ``lam * np.eye(d)``,
``np.arange``) are recorded by their constructor and shape; other plain arrays go to the artifact
store while a run is active; and a log that still lacks a leaf says exactly which and why.
(dask's graphs carry such constants inline, dask/dask#1818 deduplicated them by token; a lineage log
must not need them handed back.)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlcontext as mc
from mlcontext.errors import LineageError
from mlcontext.lineage.leaves import build, describe


def _leaf_rows(text: str) -> list[list]:
    return [row for row in map(json.loads, text.splitlines()[1:]) if row[0] == "l"]


def _ridge_grid(X, y):
    n, d = X.shape
    Xb = np.hstack([X, np.ones((n, 1))])
    return [np.linalg.solve(Xb.T @ Xb + lam * np.eye(d + 1), Xb.T @ y) for lam in (0.1, 1.0, 10.0)]


def test_ridge_grid_with_numpy_constants_recomputes_from_the_named_inputs() -> None:
    """The issue's input: ``np.hstack([X, np.ones((n, 1))])`` and ``lam * np.eye(d)``."""
    rng = np.random.default_rng(0)
    X_np, y_np = rng.normal(size=(600, 30)), rng.normal(size=600)
    ws = _ridge_grid(mc.array(X_np, name="X"), mc.array(y_np, name="y"))
    text = mc.lineage.dumps(ws)
    again = mc.lineage.recompute(text, inputs={"X": X_np, "y": y_np})
    # Recompute runs the plain operations: bit-identical to plain NumPy (the traced run may have
    # reused pieces through rewrites, which reorder sums).
    for a, w, plain in zip(again, ws, _ridge_grid(X_np, y_np), strict=True):
        assert np.array_equal(a, plain)
        np.testing.assert_allclose(a, np.asarray(w), rtol=1e-9)
    recipes = [row[5][1][0][1] for row in _leaf_rows(text) if isinstance(row[5], list)]
    assert sorted(recipes) == ["eye", "eye", "eye", "full"]  # ones, and lam * eye for each lambda
    assert len(text) < 4000  # constants by constructor, not 600 x 8 bytes of ones


def test_readme_lineage_lines_run() -> None:
    """The README's own lines, run as written (``d`` large enough that ``np.eye(d)`` is not
    embedded in the log: recorded by its constructor)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "mc.recompute" in b)
    lines = block.splitlines()
    code = "\n".join(lines[: next(i for i, line in enumerate(lines) if "mc.recompute" in line) + 1])
    rng = np.random.default_rng(1)
    namespace = {"np": np, "mc": mc, "X_np": rng.normal(size=(200, 40)), "y_np": rng.normal(size=200),
                 "lam": 0.5, "d": 40}
    exec(compile("again = None\n" + code.replace("mc.recompute(", "again = mc.recompute(", 1),
                 "README.md", "exec"), namespace)  # noqa: S102 - our own README
    plain = np.linalg.solve(namespace["X_np"].T @ namespace["X_np"] + 0.5 * np.eye(40),
                            namespace["X_np"].T @ namespace["y_np"])
    assert np.array_equal(namespace["again"], plain)


CONSTANTS = {
    "zeros": lambda: np.zeros((700, 3)),
    "ones_f32": lambda: np.ones(2000, dtype=np.float32),
    "full_nan": lambda: np.full((40, 40), np.nan),
    "full_neg_zero": lambda: np.full(1000, -0.0),
    "bool_true": lambda: np.ones((80, 80), dtype=bool),
    "eye": lambda: np.eye(40),
    "scaled_eye": lambda: 0.25 * np.eye(40),
    "rect_eye": lambda: np.eye(30, 50, dtype=np.int32),
    "eye_bool": lambda: np.eye(70, dtype=bool),
    "arange_int": lambda: np.arange(1000),
    "arange_reshaped": lambda: np.arange(1200.0).reshape(30, 40),
    "arange_desc_int8": lambda: np.arange(5000, dtype=np.int64).astype(np.int8)[::-1].copy(),
    "arange_float_step": lambda: np.arange(0.0, 100.0, 0.1),
    "arange_uint16_wrap": lambda: (np.arange(70000) * 3).astype(np.uint16),
    "arange_complex": lambda: np.arange(600) * (1 + 2j),
}


@pytest.mark.parametrize("name", list(CONSTANTS))
def test_constants_are_recorded_by_constructor_and_rebuilt_bit_for_bit(name: str) -> None:
    plain = CONSTANTS[name]()
    t = mc.array(np.arange(3.0), name="t")
    out = t.sum() + plain  # the constant is a plain argument of a traced operation
    text = mc.lineage.dumps(out)
    rows = [r for r in _leaf_rows(text) if r[4] is None]
    assert len(rows) == 1 and isinstance(rows[0][5], list), text  # a recipe, not base64 bytes
    again = mc.lineage.recompute(text, inputs={"t": np.arange(3.0)})
    assert again.dtype == np.asarray(out).dtype
    assert again.tobytes() == np.asarray(out).tobytes()
    assert mc.lineage.loads(text).hash == out.lineage.hash  # the recipe is not part of the hash


_dtypes = st.sampled_from(["<f8", "<f4", "<i8", "<i4", "|i1", "<u2", "|u1", "<c16", "|b1"])


@settings(max_examples=60, deadline=None)
@given(dtype=_dtypes, n=st.integers(2, 3000), start=st.integers(-300, 300), step=st.integers(-7, 7),
       kind=st.sampled_from(["full", "arange", "eye", "random"]))
def test_recipes_are_found_only_for_what_they_rebuild_exactly(dtype, n, start, step, kind) -> None:
    dt = np.dtype(dtype)
    if kind == "full":
        value = np.full(n, start).astype(dt)
    elif kind == "arange":
        value = (start + step * np.arange(n)).astype(dt)
    elif kind == "eye":
        side = max(2, int(n ** 0.5))
        value = (np.eye(side) * (start or 1)).astype(dt)
    else:
        value = np.random.default_rng(n).integers(-100, 100, size=n).astype(dt)
    recipe = describe(value)
    if recipe is not None:
        assert build(recipe, dt, value.shape, 1 << 30).tobytes() == value.tobytes()
    if kind == "full":
        assert recipe is not None


def test_missing_leaves_are_named_with_the_reason() -> None:
    rng = np.random.default_rng(2)
    noise = rng.normal(size=(600, 2))  # not a constant, too large to embed: no run, so not stored
    X = mc.array(rng.normal(size=(600, 2)), name="X")
    out = (X + noise).sum(axis=0)
    text = mc.lineage.dumps(out)
    with pytest.raises(LineageError) as info:
        mc.lineage.recompute(text)
    message = str(info.value)
    assert "2 leaf value(s) missing" in message
    assert "'X' (float64 array of shape (600, 2)" in message and "inputs={'X': ...}" in message
    assert "unnamed (float64 array of shape (600, 2)" in message and "run is active" in message
    with pytest.raises(LineageError, match=r"inputs\['X'\] has content hash"):
        mc.lineage.recompute(text, inputs={"X": np.zeros((600, 2)), mc.fingerprint.hash_array(noise): noise})
    again = mc.lineage.recompute(text, inputs={"X": np.asarray(X), mc.fingerprint.hash_array(noise): noise})
    assert np.array_equal(again, np.asarray(out))


def test_plain_arrays_are_stored_while_a_run_is_active(store, tmp_path) -> None:
    rng = np.random.default_rng(3)
    X_np, noise = rng.normal(size=(500, 3)), rng.normal(size=(500, 3))
    with mc.run("noisy", project="p"):
        X = mc.array(X_np, name="X")
        out = ((X + noise) ** 2).mean(axis=0)
    text = mc.lineage.dumps(out)
    before = mc.fingerprint.hash_array(noise)
    stored = store.metadata.artifacts_by_content([before, mc.fingerprint.hash_array(X_np)])
    assert list(stored) == [before]  # stored as .npy, found by its identity; X is named: the user's
    assert store.metadata.artifact_info(stored[before])[2]["format"] == "npy"
    again = mc.recompute(text, inputs={"X": X_np})  # the plain array comes from the store
    assert np.array_equal(again, np.asarray(out))
    # Outside a run nothing is stored.
    other = rng.normal(size=(500, 3))
    mc.lineage.dumps(X + other)
    assert store.metadata.artifacts_by_content([mc.fingerprint.hash_array(other)]) == {}


def test_a_log_recomputes_in_another_process_from_the_named_inputs(sqlite_store, tmp_path) -> None:
    rng = np.random.default_rng(4)
    X_np = rng.normal(size=(300, 4))
    noise = rng.normal(size=(300, 4))
    with mc.run("fresh", project="p"):
        X = mc.array(X_np, name="X")
        w = np.linalg.solve((X + noise).T @ X + 2.0 * np.eye(4), np.ones(4))
    np.save(tmp_path / "X.npy", X_np)
    (tmp_path / "log.txt").write_text(mc.lineage.dumps(w))
    script = textwrap.dedent(f"""
        import numpy as np, mlcontext as mc
        text = open({str(tmp_path / 'log.txt')!r}).read()
        out = mc.recompute(text, inputs={{"X": np.load({str(tmp_path / 'X.npy')!r})}})
        np.save({str(tmp_path / 'out.npy')!r}, out)
    """)
    env = {**os.environ, "MLCONTEXT_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert np.array_equal(np.load(tmp_path / "out.npy"), np.asarray(w))


def test_a_recipe_that_would_exceed_the_size_limit_is_refused_before_allocating() -> None:
    leaf = ["l", 0, "lineage.data",
            ["D", [["dtype", ["s", "<f8"]], ["hash", ["s", "0" * 32]], ["shape", ["T", [["i", 1 << 40]]]]]],
            None, ["T", [["s", "full"], ["g", ["<f8", "000000000000f03f"]]]]]
    text = "\n".join(json.dumps(r) for r in (["mlcontext-lineage", 1], leaf, ["r", [0]])) + "\n"
    with pytest.raises(LineageError, match="refused a constant leaf .* more than the limit"):
        mc.lineage.recompute(text)
    with pytest.raises(LineageError, match="more than the limit of 1,000"):
        mc.lineage.recompute(text, max_bytes=1000)


def test_a_recipe_cannot_smuggle_another_value_in() -> None:
    """A log whose recipe builds other bytes than the leaf's hash records is refused."""
    digest = mc.fingerprint.hash_array(np.ones(1237))  # never traced here: the log's leaf is new
    leaf = ["l", 0, "lineage.data",
            ["D", [["dtype", ["s", "<f8"]], ["hash", ["s", digest]], ["shape", ["T", [["i", 1237]]]]]],
            None, ["T", [["s", "full"], ["g", ["<f8", "0000000000000040"]]]]]  # 2.0, not 1.0
    text = "\n".join(json.dumps(r) for r in (["mlcontext-lineage", 1], leaf, ["r", [0]])) + "\n"
    with pytest.raises(LineageError, match="content hash"):
        mc.lineage.recompute(text)
    honest = text.replace("0000000000000040", "000000000000f03f")
    assert np.array_equal(mc.lineage.recompute(honest), np.ones(1237))


def test_a_log_given_as_bytes_recomputes_like_its_text() -> None:
    """Found by a newcomer: ``mc.load_artifact(run, "x.lineage")`` gives the stored log as bytes, and
    ``mc.recompute`` refused them ("no lineage in a value of type bytes")."""
    xn = np.arange(6.0).reshape(2, 3)
    x = mc.array(xn, name="x")
    text = mc.lineage.dumps(np.tanh(x) @ x.T)
    want = mc.recompute(text, inputs={"x": xn})
    for form in (text.encode(), bytearray(text.encode()), memoryview(text.encode())):
        assert np.array_equal(mc.recompute(form, inputs={"x": xn}), want)
    with pytest.raises(mc.errors.LineageError, match="not a lineage log"):
        mc.recompute(b"\xff\xfe not text", inputs={"x": xn})

"""scipy.linalg's overwrite_* flags must never write into a cached (read-only) value.

SciPy's f2py layer ignores NumPy's WRITEABLE flag (scipy/scipy#24750 review: "f2py seems to ignore
it"), so ``cho_solve(c, X.T @ y, overwrite_b=True)`` wrote the solution into the reuse cache's value of
``X.T @ y`` and every later reuse of it was wrong (found by a newcomer, issue 14). Which argument a
flag may overwrite, and for which shapes, varies by function and version (scipy/scipy#10923:
``solve_triangular`` overwrote ``b`` only with several columns), so each case is checked on values,
against plain SciPy on copies.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import mlcontext as mc

sl = pytest.importorskip("scipy.linalg")


@pytest.fixture()
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((60, 4))
    y = rng.standard_normal(60)
    y2 = rng.standard_normal((60, 3))
    return x, y, y2


# (name, call on (G, b) where G is SPD 4x4 and b is 4 or 4x3) - every flag on
CALLS = {
    "cho_solve": lambda g, b: sl.cho_solve(sl.cho_factor(np.array(g)), b, overwrite_b=True),
    "cho_factor": lambda g, b: sl.cho_factor(g, overwrite_a=True)[0],
    "cholesky": lambda g, b: sl.cholesky(g, overwrite_a=True),
    "solve": lambda g, b: sl.solve(g, b, overwrite_a=True, overwrite_b=True),
    "solve_pos": lambda g, b: sl.solve(g, b, assume_a="pos", overwrite_a=True, overwrite_b=True),
    "lu_factor": lambda g, b: sl.lu_factor(g, overwrite_a=True)[0],
    "lu_solve": lambda g, b: sl.lu_solve(sl.lu_factor(np.array(g)), b, overwrite_b=True),
    "lstsq": lambda g, b: sl.lstsq(g, b, overwrite_a=True, overwrite_b=True)[0],
    "inv": lambda g, b: sl.inv(g, overwrite_a=True),
    "solve_triangular": lambda g, b: sl.solve_triangular(np.triu(np.array(g)), b, overwrite_b=True),
    "eigh": lambda g, b: sl.eigh(g, overwrite_a=True)[0],
    "det": lambda g, b: np.asarray(sl.det(g, overwrite_a=True)),
    "qr": lambda g, b: np.abs(sl.qr(g, overwrite_a=True)[1]),
    "svd": lambda g, b: sl.svd(g, overwrite_a=True)[1],
    "positional": lambda g, b: sl.cho_factor(g, False, True)[0],  # overwrite_a by position
}


def _fortran(a: np.ndarray) -> np.ndarray:
    # the layout f2py computes in without a copy: the case where the flag is honoured
    return np.asfortranarray(a) if a.ndim == 2 else a


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("rhs", ["vector", "matrix"])
def test_traced_arguments_are_not_overwritten(data, name: str, rhs: str) -> None:
    x, y, y2 = data
    target = y if rhs == "vector" else y2
    call = CALLS[name]
    want = call(_fortran(x.T @ x), _fortran(x.T @ target))  # plain SciPy on its own buffers
    with mc.reuse():
        tx, ty = mc.asarray(x.copy()), mc.asarray(target.copy())
        g, b = tx.T @ tx, tx.T @ ty
        g0, b0 = np.array(g), np.array(b)
        got = call(g, b)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-12)
        # the cached values, and what reuse hands out for them, are unchanged
        assert np.array_equal(np.asarray(g), g0) and np.array_equal(np.asarray(b), b0)
        assert np.array_equal(np.asarray(tx.T @ tx), g0)
        assert np.array_equal(np.asarray(tx.T @ ty), b0)
        # the read-only plain view a user takes of a cached value is protected as well
        gv, bv = np.asarray(g).T, np.asarray(b)  # (G is symmetric: .T is its Fortran view)
        assert not gv.flags.writeable and not bv.flags.writeable
        call(gv, bv)
        assert np.array_equal(np.asarray(tx.T @ tx), g0)
        assert np.array_equal(np.asarray(tx.T @ ty), b0)


def test_results_match_plain_scipy_on_repeat(data) -> None:
    """The newcomer's pipeline: a ridge path solved with overwrite_b=True, run twice under reuse."""
    x, y, _ = data
    lams = [0.1, 1.0, 10.0]

    def path(xa, ya):
        out = []
        for lam in lams:
            g = xa.T @ xa + lam * np.eye(x.shape[1])
            out.append(np.asarray(sl.cho_solve(sl.cho_factor(g), xa.T @ ya, overwrite_b=True)))
        return np.array(out)

    want = path(x, y)
    with mc.reuse():
        tx, ty = mc.asarray(x.copy()), mc.asarray(y.copy())
        first, second = path(tx, ty), path(tx, ty)
    np.testing.assert_allclose(first, want, rtol=1e-12)
    assert np.array_equal(first, second)


def test_writable_arrays_keep_scipys_behaviour() -> None:
    """A writable plain array is the caller's to lend: the flag is passed through (SciPy may still
    compute in it, as it does without mlcontext)."""
    import mlcontext.ops  # noqa: F401  (installs the guard)

    a = np.asfortranarray(np.diag([4.0, 9.0, 16.0]))
    b = np.array([1.0, 2.0, 3.0])
    c = sl.cho_factor(np.array(a))
    x = sl.cho_solve(c, b, overwrite_b=True)
    np.testing.assert_allclose(x, [0.25, 2 / 9, 3 / 16])
    assert np.shares_memory(x, b)  # SciPy computed in b: the permission was not withdrawn


def test_guard_installed_when_scipy_is_imported_first_or_later(tmp_path) -> None:
    """Import order must not matter: scipy.linalg before mlcontext.ops, and after it."""
    for order in ("scipy_first", "mlcontext_first"):
        script = textwrap.dedent(
            f"""
            import numpy as np
            if "{order}" == "scipy_first":
                import scipy.linalg as sl
                import mlcontext as mc
            else:
                import mlcontext as mc
                import mlcontext.ops
                import scipy.linalg as sl
            x = np.random.default_rng(0).standard_normal((30, 3)); y = np.arange(30.0)
            with mc.reuse():
                tx, ty = mc.asarray(x), mc.asarray(y)
                b = tx.T @ ty
                before = np.array(b)
                sl.cho_solve(sl.cho_factor(np.asarray(tx.T @ tx)), b, overwrite_b=True)
                assert np.array_equal(np.asarray(tx.T @ ty), before), "cached value overwritten"
            print("ok")
            """
        )
        path = tmp_path / f"{order}.py"
        path.write_text(script)
        done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and done.stdout.strip() == "ok", (order, done.stderr[-2000:])


def test_signature_and_docs_are_kept() -> None:
    import inspect

    import mlcontext.ops  # noqa: F401

    assert "overwrite_b" in inspect.signature(sl.cho_solve).parameters
    assert sl.cho_solve.__doc__ and "Cholesky" in sl.cho_solve.__doc__
    assert sl.cho_solve.__name__ == "cho_solve"


def test_names_bound_before_the_guard_are_guarded(tmp_path) -> None:
    """``from scipy.linalg import cho_solve`` at the top of a script, before mlcontext traces
    anything: the script's own name must reach the guard."""
    script = textwrap.dedent(
        """
        import numpy as np
        from scipy.linalg import cho_factor, cho_solve
        import mlcontext as mc
        x = np.random.default_rng(1).standard_normal((30, 3)); y = np.arange(30.0)
        with mc.reuse():
            tx, ty = mc.asarray(x), mc.asarray(y)
            b = tx.T @ ty
            before = np.array(b)
            cho_solve(cho_factor(np.asarray(tx.T @ tx)), b, overwrite_b=True)
            assert np.array_equal(np.asarray(tx.T @ ty), before), "cached value overwritten"
        print("ok")
        """
    )
    path = tmp_path / "bound_first.py"
    path.write_text(script)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_traced_frames_and_series_are_not_overwritten() -> None:
    """A traced pandas value hands SciPy a read-only view of its memory too (found in review)."""
    pd = pytest.importorskip("pandas")
    import mlcontext.ops  # noqa: F401

    frame = pd.DataFrame({"c": [1.0, 2.0, 3.0], "d": [4.0, 5.0, 6.0]})
    traced = mc.frame(frame.copy(), name="f")
    series = traced["c"]
    got = sl.cho_solve(sl.cho_factor(2 * np.eye(3)), series, overwrite_b=True)
    np.testing.assert_allclose(got, [0.5, 1.0, 1.5])
    assert np.array_equal(np.asarray(series), [1.0, 2.0, 3.0])
    assert np.array_equal(np.asarray(traced["c"]), [1.0, 2.0, 3.0])
    square = mc.frame(pd.DataFrame(np.random.default_rng(0).normal(size=(4, 4)) + 4 * np.eye(4)), name="g")
    before = np.array(square)
    sl.lu_factor(square, overwrite_a=True)
    assert np.array_equal(np.asarray(square), before)


def test_a_broken_module_does_not_break_the_guard() -> None:
    import types

    from mlcontext.ops import scipy_guard

    class Hostile(types.ModuleType):
        @property
        def __dict__(self):  # type: ignore[override]
            raise RuntimeError("no")

    sys.modules["_mlcontext_hostile"] = Hostile("_mlcontext_hostile")
    try:
        scipy_guard._rebind({1: lambda: None})  # must not raise
    finally:
        del sys.modules["_mlcontext_hostile"]

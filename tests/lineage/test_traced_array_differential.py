"""Differential suite: each expression on traced arrays equals plain NumPy exactly, stays traced,
and recomputes bit-identically from its lineage log."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import mlcontext as mc

EXPRESSIONS = [
    # operators
    "a + b", "a - b", "a * b", "a / p", "a // p", "a % p", "a ** 2", "p ** 0.5", "-a", "+a", "abs(a)",
    "a @ v", "a @ s", "v @ v", "a > b", "a >= 0", "a == b", "a != b", "k & 3", "k | 1", "k ^ 2",
    "~k", "k << 1", "k >> 1", "1 - a", "2.5 * a", "a / 3", "3 / p", "divmod(k, 3)[0]",
    "divmod(a, 0.7)[1]", "mask & (a < 1)", "~mask", "(a * a) + a",
    # mixed with plain arrays and scalars
    "a + data['b']", "data['a'] * b", "a + np.float32(2)", "k + np.int8(3)", "a + [1, 2, 3, 4]",
    "a * True", "k * 2.0",
    # ufuncs
    "np.exp(a)", "np.log(p)", "np.log1p(p)", "np.sqrt(p)", "np.sin(a)", "np.cos(a)", "np.tanh(a)",
    "np.arctan2(a, b)", "np.hypot(a, b)", "np.maximum(a, b)", "np.minimum(a, 0)", "np.fmax(a, b)",
    "np.floor(a)", "np.ceil(a)", "np.rint(a)", "np.sign(a)", "np.square(a)", "np.reciprocal(p)",
    "np.exp2(a)", "np.expm1(a)", "np.logaddexp(a, b)", "np.isfinite(a)", "np.signbit(a)",
    "np.power(p, b)", "np.true_divide(a, p)", "np.copysign(a, b)", "np.modf(a)[0]", "np.modf(a)[1]",
    "np.frexp(a)[1]", "np.ldexp(a, 2)", "np.conjugate(z)", "np.absolute(z)", "np.gcd(k, 6)",
    "np.logical_and(mask, a < 1)", "np.logical_not(mask)", "np.clip(a, -0.5, 0.5)",
    # ufunc methods
    "np.add.reduce(a)", "np.add.reduce(a, axis=1)", "np.multiply.reduce(p, axis=0)",
    "np.add.accumulate(a)", "np.maximum.accumulate(a, axis=1)", "np.add.outer(v, v)",
    "np.add.reduceat(v, [0, 2])", "np.minimum.reduce(a, axis=None)", "np.add.reduce(a, keepdims=True)",
    "np.add(a, b, where=mask, out=np.zeros((3, 4)))",
    # reductions and statistics
    "np.sum(a)", "np.sum(a, axis=0)", "np.sum(a, axis=1, keepdims=True)", "np.mean(a)", "np.std(a)",
    "np.var(a, axis=0, ddof=1)", "np.min(a)", "np.max(a, axis=1)", "np.argmin(a)",
    "np.argmax(a, axis=0)", "np.prod(p)", "np.cumsum(a)", "np.cumprod(p, axis=1)", "np.median(a)",
    "np.percentile(a, 30)", "np.quantile(a, [0.1, 0.9])", "np.average(a, axis=0)", "np.ptp(a)",
    "np.all(mask)", "np.any(mask, axis=0)", "np.count_nonzero(mask)", "np.nansum(a)",
    "np.nanmean(a, axis=1)", "a.sum()", "a.mean(axis=1)", "a.std()", "a.max()", "a.min(axis=0)",
    "a.argmax()", "a.cumsum(axis=0)", "a.prod()", "mask.any()", "mask.all()",
    # shapes
    "np.reshape(a, (4, 3))", "a.reshape(2, 6)", "a.reshape(-1)", "a.T", "np.transpose(a)",
    "a.ravel()", "a.flatten()", "np.expand_dims(v, 0)", "np.squeeze(a[None])", "np.swapaxes(a, 0, 1)",
    "np.moveaxis(a[None], 0, 2)", "np.broadcast_to(v, (3, 4))", "np.atleast_2d(v)", "np.flip(a)",
    "np.fliplr(a)", "np.rot90(a)", "np.roll(a, 1)", "np.tile(v, 2)", "np.repeat(v, 2)", "np.pad(a, 1)",
    "a.astype(np.float32)", "k.astype(float)", "a.copy()", "np.copy(a)", "a.swapaxes(0, 1)",
    "a.transpose()", "a.squeeze()", "a.repeat(2, axis=0)",
    # joining and splitting
    "np.concatenate([a, b])", "np.concatenate([a, b], axis=1)", "np.stack([a, b])",
    "np.vstack([a, b])", "np.hstack([a, b])", "np.column_stack([v, v])", "np.dstack([a, b])",
    "np.append(a, b)", "np.insert(v, 1, 9.0)", "np.delete(v, [0, 2])", "np.split(v, 2)[1]",
    "np.array_split(a, 2, axis=1)[0]", "np.hsplit(a, 2)[0]", "np.block([[a, b]])",
    "np.concatenate([a, data['b']])",
    # indexing
    "a[0]", "a[1, 2]", "a[:, 1]", "a[1:, ::2]", "a[..., 0]", "a[None]", "a[-1]", "a[mask]",
    "a[a > 0]", "a[[0, 2]]", "a[[0, 1], [1, 3]]", "a[np.array([2, 0])]", "a[:, u[:2]]", "v[u]",
    "a[0][1:3]", "a[(0, slice(1, 3))]", "a[k > 0]", "a.take([0, 5])", "np.take(v, u)",
    "np.take_along_axis(a, np.argsort(a, axis=1), axis=1)", "np.where(mask, a, b)",
    "np.where(mask, a, 0.0)", "np.nonzero(mask)[1]", "np.argwhere(mask)", "np.flatnonzero(mask)",
    "np.compress([True, False, True], a, axis=0)", "np.extract(mask, a)", "np.diag(s)",
    "np.diagonal(s)", "np.trace(s)", "np.tril(s)", "np.triu(s, 1)", "s.diagonal()", "s.trace()",
    # linear algebra
    "np.dot(a, v)", "np.dot(s, s)", "np.vdot(v, v)", "np.inner(v, v)", "np.outer(v, v)",
    "np.matmul(a, s)", "np.tensordot(a, s, axes=1)", "np.einsum('ij,jk->ik', a, s)",
    "np.einsum('ii', s)", "np.kron(v[:2], v[:2])", "np.cross(v[:3], v[1:])",
    "np.linalg.solve(m, v)", "np.linalg.inv(m)", "np.linalg.det(m)", "np.linalg.norm(a)",
    "np.linalg.norm(a, axis=1)", "np.linalg.eigh(m)[0]", "np.linalg.eigh(m).eigenvectors",
    "np.linalg.eigvalsh(m)", "np.linalg.svd(a)[1]", "np.linalg.svd(a, full_matrices=False)[0]",
    "np.linalg.qr(m)[1]", "np.linalg.cholesky(m)", "np.linalg.pinv(a)", "np.linalg.slogdet(m)[1]",
    "np.linalg.matrix_power(s, 3)", "np.linalg.matrix_rank(a)", "np.linalg.lstsq(a.T, v, rcond=None)[0]",
    "np.linalg.multi_dot([a, s, v])", "np.linalg.cond(m)",
    # sorting and sets
    "np.sort(a)", "np.sort(a, axis=0)", "np.argsort(v)", "np.sort(v)[::-1]", "np.unique(k)",
    "np.unique(k, return_counts=True)[1]", "np.lexsort((v, v))", "np.partition(v, 2)",
    "np.searchsorted(np.sort(v), 0.0)", "np.isin(k, [1, 2])", "np.intersect1d(k, u)",
    "np.union1d(k, u)", "np.setdiff1d(k, u)", "np.bincount(u)", "np.digitize(v, [0.0, 1.0])",
    "np.histogram(a, bins=3)[0]", "a.argsort(axis=1)",
    # misc
    "np.zeros_like(a)", "np.ones_like(k)", "np.full_like(a, 2.0)", "np.round(a, 2)", "a.round(1)",
    "np.around(a)", "np.diff(v)", "np.gradient(v)", "np.interp(v, np.sort(v), v)",
    "np.nan_to_num(np.log(a))", "np.isclose(a, b)", "np.cov(a)", "np.corrcoef(a)",
    "np.convolve(v, v)", "np.real(z)", "np.imag(z)", "np.angle(z)", "z.conj()", "np.fft.fft(v)",
    "np.fft.rfft(v)", "np.fft.ifft(np.fft.fft(v))", "np.meshgrid(v, v)[0]", "a.clip(0, 1)",
    "a.dot(v)", "np.tril_indices_from(s)[0]", "np.trapezoid(v)", "np.select([mask], [a], 0.0)",
]

NAMES = ("a", "b", "v", "s", "m", "k", "u", "p", "z", "mask")


def _evaluate(expr: str, env: dict[str, Any], data: dict[str, np.ndarray]) -> Any:
    with np.errstate(all="ignore"):
        return eval(expr, {"np": np, "data": data, **env})  # noqa: S307 - fixed test expressions


def _same(traced: Any, plain: Any) -> None:
    got = np.asarray(traced)
    want = np.asarray(plain)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape
    assert np.array_equal(got, want, equal_nan=got.dtype.kind in "fc")


def test_enough_expressions() -> None:
    assert len(EXPRESSIONS) >= 150
    assert len(set(EXPRESSIONS)) == len(EXPRESSIONS)


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_traced_equals_numpy(expr: str, data: dict, traced: dict) -> None:
    plain = _evaluate(expr, data, data)
    result = _evaluate(expr, traced, data)
    assert isinstance(result, mc.TracedArray), f"{expr} lost its lineage: {type(result)}"
    _same(result, plain)
    text = mc.lineage.dumps(result)
    with np.errstate(all="ignore"):
        again = mc.recompute(text, inputs=data)
    _same(again, plain)
    assert mc.lineage.loads(text) == result.lineage

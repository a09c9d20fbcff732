"""Fixtures for lineage tests: the same data as plain NumPy and as traced arrays."""

from __future__ import annotations

import numpy as np
import pytest

import mlcontext as mc


def _data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    a = rng.normal(size=(3, 4))
    s = rng.normal(size=(4, 4))
    return {
        "a": a,
        "b": rng.normal(size=(3, 4)),
        "v": rng.normal(size=4),
        "s": s,
        "m": s @ s.T + 4 * np.eye(4),  # symmetric positive definite
        "k": rng.integers(-5, 6, size=(3, 4)),
        "u": rng.integers(0, 4, size=6),
        "p": np.abs(a) + 0.5,
        "z": rng.normal(size=4) + 1j * rng.normal(size=4),
        "mask": a > 0,
    }


@pytest.fixture
def data() -> dict[str, np.ndarray]:
    return _data()


@pytest.fixture
def traced(data: dict[str, np.ndarray]) -> dict[str, mc.TracedArray]:
    return {k: mc.array(v, name=k) for k, v in data.items()}

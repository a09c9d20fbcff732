"""Estimators of a user's own module, for the lineage naming tests (a class path outside sklearn)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin


class MeanRegressor(RegressorMixin, BaseEstimator):
    def fit(self, X, y):
        self.mean_ = float(np.mean(np.asarray(y)))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


class Clip(TransformerMixin, BaseEstimator):
    def __init__(self, k: float = 1.0):
        self.k = k

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.clip(np.asarray(X, dtype=float), -self.k, self.k)

"""Lineage hashes are persistent cache keys and log identities: the encoding of a call must not drift.

The digests below were computed before the tracing pipeline was restructured (commit 95824a6); any
change to canonicalisation, the hot paths or item hashing that changes one of them would make every
persistent cache entry and stored log of that kind of call unreachable. Change a pin only together
with a versioned change of the encoding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlcontext as mc

PINNED = {
    'x + 1.0': '12e1f505b31933fe25a92218a5cdf0bf',
    '2 * x': '71f829d4a84852a88dcf1b3c2809533f',
    'x - x': 'eb11fbaafe8c18025e483d7ba9b3dd54',
    'x / n[1:4]': '8ed37f35c448e1c0a046328faf183bef',
    '-x': '02935872d5a538fdb8da9b7194ef619a',
    'np.exp(x)': 'e71007a92291eac81b9cbaa980d3ca2a',
    'x[1:, None]': 'a4b08418e90242f84e6bcf7459451906',
    'x[::-1, 2]': '43d92fe3c275247c3e7c0ac47c53ed69',
    'x[[0, 2]]': '5bf2b9f8b2fbb22330dea9d8be0a7822',
    'x[x > 3]': 'baec2821ecda92ce2b9aefad245ddbce',
    'x.sum(axis=0, keepdims=True)': '4f491db1877b5913e42e80ec441e6dfd',
    'x.mean(1)': 'd649119a6112834bee5cae1975565687',
    'np.sum(x, axis=-1, dtype=np.float32)': '87bac45a096d151b6c90f5b8551cdadd',
    'x.reshape(3, 4)': '2dfabbbbcf03f6ace3cfd8855f85f306',
    'np.hstack([x, x])': '777854546673f982f2359b6ca0661cb6',
    'np.clip(x, 1, np.float32(5))': '3fd6ec9d63d6db26baf8cc7fb304b9bd',
    "x.astype('f4')": 'd2053d98ec8822be0c50378b8614c135',
    'np.add(x, 1, out=None)': 'b14c450661ffb28d777d7e4b7843ac5c',
    'np.linalg.solve': 'a0f4229d03a3e3a02bd4513bac27e8b8',
    'x.T @ x': 'e81b48740ea1c23b8593996857b234e8',
    'np.concatenate((n, n), axis=0)': 'b2193eda495c5a742fdb38f15be19c22',
    'f.a + 1': '506eceabe43bc56487f4a31ac05bdeb9',
    'f[f.a > 1]': '127e667ef0fef45ae559a40ddfc46376',
    "f.groupby('g').a.mean()": '4cf8d14325dfc13078b6dfbb91b09d08',
    'f.assign(b=..., a2=...)': 'a3d0f6de0f5c9c158861dcbdea7640fb',
    "f.rename(columns={'a': 'b'})": '7554aaa9d7ff34df967133bbe4ba923b',
    'rng.normal(size=3)': '8d75a28dfd0b038d5a49ee48d71b5f6e',
    'StandardScaler().fit(x)': 'ca4f4d9f45442067a6512a13360fb67c',
    'scaler.transform(x)': 'd4104579878711c8676c2c453e3430a7',
    'Ridge(alpha=0.5, random_state=0).fit(x, x[:, 0]).predict(x)': '4b43766c04a3bd9b859c99379070ebd2',
}


def _calls() -> dict:
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    x = mc.array(np.arange(12.0).reshape(4, 3), name="x")
    n = mc.array(np.arange(6, dtype=np.int64), name="n")
    f = mc.frame(pd.DataFrame({"a": [1.0, 2.0, 3.0], "g": ["u", "v", "u"]}), name="f")

    def scaler():
        sc = mc.traced(StandardScaler())
        sc.fit(x)
        return sc

    def ridge():
        return mc.traced(Ridge(alpha=0.5, random_state=0)).fit(x, x[:, 0])

    return {
        "x + 1.0": lambda: x + 1.0, "2 * x": lambda: 2 * x, "x - x": lambda: x - x,
        "x / n[1:4]": lambda: x / n[1:4], "-x": lambda: -x, "np.exp(x)": lambda: np.exp(x),
        "x[1:, None]": lambda: x[1:, None], "x[::-1, 2]": lambda: x[::-1, 2], "x[[0, 2]]": lambda: x[[0, 2]],
        "x[x > 3]": lambda: x[x > 3], "x.sum(axis=0, keepdims=True)": lambda: x.sum(axis=0, keepdims=True),
        "x.mean(1)": lambda: x.mean(1),
        "np.sum(x, axis=-1, dtype=np.float32)": lambda: np.sum(x, axis=-1, dtype=np.float32),
        "x.reshape(3, 4)": lambda: x.reshape(3, 4), "np.hstack([x, x])": lambda: np.hstack([x, x]),
        "np.clip(x, 1, np.float32(5))": lambda: np.clip(x, 1, np.float32(5)),
        "x.astype('f4')": lambda: x.astype("f4"), "np.add(x, 1, out=None)": lambda: np.add(x, 1, out=None),
        "np.linalg.solve": lambda: np.linalg.solve(x[:3] + np.eye(3), x[3]),
        "x.T @ x": lambda: x.T @ x,
        "np.concatenate((n, n), axis=0)": lambda: np.concatenate((n, n), axis=0),
        "f.a + 1": lambda: f.a + 1, "f[f.a > 1]": lambda: f[f.a > 1],
        "f.groupby('g').a.mean()": lambda: f.groupby("g").a.mean(),
        "f.assign(b=..., a2=...)": lambda: f.assign(z=f.a * 2, b=1),
        "f.rename(columns={'a': 'b'})": lambda: f.rename(columns={"a": "b"}),
        "rng.normal(size=3)": lambda: mc.random.default_rng(5).normal(size=3),
        "StandardScaler().fit(x)": lambda: scaler().__dict__["_mlcontext_fit"],
        "scaler.transform(x)": lambda: scaler().transform(x),
        "Ridge(alpha=0.5, random_state=0).fit(x, x[:, 0]).predict(x)": lambda: ridge().predict(x),
    }


@pytest.mark.parametrize("reuse", ["none", "hybrid"])
def test_lineage_digests_are_pinned(reuse: str) -> None:
    calls = _calls()
    assert set(calls) == set(PINNED)
    with mc.reuse(reuse):
        for name, call in calls.items():
            value = call()
            item = value if isinstance(value, mc.lineage.Item) else value.lineage
            assert item.hash == PINNED[name], name

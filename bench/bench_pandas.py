"""pandas and scikit-learn benchmarks (issue 5).

1. Tracing overhead of a 10-step cleaning pipeline on a 1,000,000-row taxi frame: plain pandas vs
   traced frames in the same run (ABBA pairs, reuse off so that every step is computed), with the
   leaf made before the timing, and with ``mc.frame`` (the columnwise content hash of the whole
   frame) inside it. The latter is measured for each storage of the string column ``flag``: Arrow
   buffers (pandas 3's default ``str`` when pyarrow is installed, hashed from the buffers) and Python
   objects (the default without pyarrow, hashed as one joined string), each against plain pandas on
   the same frame; the leaf hash alone is also given for an ``object`` column.
2. ``GridSearchCV`` over a pipeline with an expensive shared transformer: plain scikit-learn vs
   ``Pipeline(memory=joblib.Memory(...))`` vs mlcontext (traced estimators on traced data, reuse on).
   Every repetition starts cold: a fresh joblib cache folder, an empty mlcontext cache.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

import mlcontext as mc


def taxi(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    duration = rng.integers(60, 3600, n).astype(float)
    duration[rng.random(n) < 0.05] = -1.0  # canceled trips
    fare = np.round(rng.gamma(2.0, 8.0, n), 2)
    fare[rng.random(n) < 0.02] = np.nan
    trips = pd.DataFrame({
        "pickup": pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 30 * 86400, n), unit="s"),
        "duration": duration,
        "distance": np.round(rng.gamma(2.0, 1.5, n), 3),
        "fare": fare,
        "tip": np.round(rng.gamma(1.0, 2.0, n), 2),
        "passengers": rng.integers(0, 6, n),
        "zone": rng.integers(1, 264, n),
        "payment": rng.integers(1, 5, n),
        "flag": pd.Series(rng.choice(["N", "Y"], n, p=[0.99, 0.01]), dtype="str"),
    })
    zones = pd.DataFrame({"zone": np.arange(1, 264),
                          "borough": rng.choice(["Manhattan", "Queens", "Brooklyn", "Bronx"], 263)})
    return trips, zones


def clean(trips: pd.DataFrame, zones: pd.DataFrame) -> pd.DataFrame:
    t = trips[trips.duration >= 0]                                   # 1 drop canceled trips
    t = t.dropna(subset=["fare"])                                    # 2 drop missing fares
    t = t[(t.distance > 0) & (t.passengers > 0)]                     # 3 drop impossible trips
    t = t.assign(speed=t.distance / (t.duration / 3600))             # 4 derive speed
    t["hour"] = t.pickup.dt.hour                                     # 5 pickup hour
    t["tip_rate"] = (t.tip / t.fare).fillna(0.0)                     # 6 tip rate
    t = t.merge(zones, on="zone", how="left")                        # 7 join zones
    t = t.rename(columns={"fare": "fare_usd"})                       # 8 rename
    g = t.groupby(["borough", "hour"]).agg(trips=("fare_usd", "count"), fare=("fare_usd", "mean"),
                                           speed=("speed", "median"))  # 9 aggregate
    return g.sort_values("trips", ascending=False)                   # 10 order


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _storages() -> list[str]:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return ["python"]
    return ["pyarrow", "python"]


def bench_cleaning(n: int = 1_000_000, pairs: int = 7) -> dict[str, float]:
    trips, zones = taxi(n)
    t_trips, t_zones = mc.frame(trips, name="trips"), mc.frame(zones, name="zones")
    out: dict[str, float] = {}
    # (name, string storage, plain frames, traced pipeline): each against plain pandas on its frames
    default = trips.flag.dtype.storage  # "pyarrow" when pyarrow is installed
    variants: list[tuple[str, str, tuple[pd.DataFrame, pd.DataFrame], Callable[[], object]]] = [
        (f"traced, leaf made before ({default} str)", default, (trips, zones),
         lambda: clean(t_trips, t_zones))]
    for storage in _storages():  # the leaf inside the timing: mc.frame hashes the 1M-row frame first
        dtype = pd.StringDtype(storage, na_value=np.nan)
        frames = trips.astype({"flag": dtype}), zones.astype({"borough": dtype})
        variants.append((f"traced+leaf ({storage} str)", storage, frames,
                         lambda f=frames: clean(mc.frame(f[0], name="trips"), mc.frame(f[1], name="zones"))))
        out[f"leaf hash alone, {storage} str (mc.frame), s"] = statistics.median(
            _time(lambda f=frames: mc.frame(f[0], name="trips")) for _ in range(7))
    objects = trips.astype({"flag": object})
    out["leaf hash alone, object column (mc.frame), s"] = statistics.median(
        _time(lambda: mc.frame(objects, name="trips")) for _ in range(7))

    for _, _, frames, traced in variants:  # also a warm-up of both sides
        pd.testing.assert_frame_equal(traced().to_pandas(), clean(*frames))
    times: dict[str, list[float]] = {}
    ratios: dict[str, list[float]] = {}
    for _ in range(pairs):  # ABBA pairs: drift and the other processes hit both sides alike
        for name, storage, frames, traced in variants:
            p1, t1, t2, p2 = (_time(lambda f=frames: clean(*f)), _time(traced), _time(traced),
                              _time(lambda f=frames: clean(*f)))
            times.setdefault(f"plain ({storage} str)", []).extend([p1, p2])
            times.setdefault(name, []).extend([t1, t2])
            ratios.setdefault(name, []).append((t1 + t2) / (p1 + p2))
    result = {f"{k}, median s": statistics.median(v) for k, v in times.items()}
    for name, r in ratios.items():
        result[f"overhead_pct {name}"] = 100 * (statistics.median(r) - 1)
    return result | out


# -- GridSearchCV ----------------------------------------------------------------------------------

def _search(memory: object = None) -> object:
    from sklearn.decomposition import PCA
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    model = Pipeline([("poly", PolynomialFeatures(degree=2)), ("scale", StandardScaler()),
                      ("pca", PCA(n_components=40, svd_solver="full", random_state=0)),
                      ("ridge", Ridge())], memory=memory)
    return GridSearchCV(model, {"ridge__alpha": [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]},
                        cv=KFold(4, shuffle=True, random_state=0))


def bench_grid(n: int = 20_000, d: int = 30, repeat: int = 3) -> dict[str, float]:
    import joblib

    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(n, d)), columns=[f"f{k}" for k in range(d)])
    y = pd.Series(X.to_numpy() @ rng.normal(size=d) + rng.normal(size=n), name="y")

    def plain() -> object:
        return _search().fit(X, y)

    def memory() -> object:
        with tempfile.TemporaryDirectory() as folder:
            return _search(joblib.Memory(folder, verbose=0)).fit(X, y)

    def traced() -> object:
        mc.reuse_clear()
        return mc.traced(_search()).fit(mc.frame(X, name="X"), mc.frame(y, name="y"))

    results = {"plain": plain(), "memory": memory(), "mlcontext": traced()}
    ref = results["plain"].cv_results_["mean_test_score"]
    for name, search in results.items():
        np.testing.assert_allclose(search.cv_results_["mean_test_score"], ref, rtol=0, atol=0,
                                   err_msg=f"{name} scores differ from plain scikit-learn")
    times: dict[str, list[float]] = {"plain": [], "memory": [], "mlcontext": []}
    for _ in range(repeat):
        for name, fn in (("plain", plain), ("memory", memory), ("mlcontext", traced)):
            times[name].append(_time(fn))
    out = {f"{k}_median_s": statistics.median(v) for k, v in times.items()}
    out["mlcontext speed-up vs plain"] = out["plain_median_s"] / out["mlcontext_median_s"]
    out["mlcontext speed-up vs joblib.Memory"] = out["memory_median_s"] / out["mlcontext_median_s"]
    return out


def _report(title: str, results: dict[str, float]) -> None:
    print(f"\n{title}")
    for k, v in results.items():
        print(f"  {k:56s} {v:10.4f}")


def main() -> None:
    with mc.reuse("none"):  # tracing alone: every step computed on both sides
        _report("10-step cleaning pipeline, 1,000,000 rows, 7 ABBA pairs, overhead = median of pair "
                "ratios; target overhead <= 5 %",
                bench_cleaning())
    with mc.reuse("full"):
        _report("GridSearchCV, 6 candidates x 4 folds, PolynomialFeatures+StandardScaler+PCA+Ridge "
                "on 20,000 x 30; target: mlcontext faster than both", bench_grid())


if __name__ == "__main__":
    main()

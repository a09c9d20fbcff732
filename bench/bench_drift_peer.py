"""Drift verdicts of mlcontext beside Evidently's data drift preset, on the same pairs of tables.

Each pair is one kind of messy data from issue 11 (items 6-10) or an ordinary case (a shift, halves
of one table, large samples with a tiny shift, the wine data with a changed column). For every column
the benchmark prints mlcontext's verdict and Evidently's, marks where they differ and says why (the
``WHY`` notes, written from each tool's documented rule: mlcontext's in docs/drift.md; Evidently's
preset tests each column with KS (numeric, <= 1000 rows) or a chi-squared/Z test (categorical) on the
p-value alone, and with the normed Wasserstein distance (numeric) or Jensen-Shannon distance
(categorical) above 0.1 for larger samples, after dropping nulls). Times are the two tools on the same
pairs in the same run (ratios only: the machine is shared).

Evidently is optional: ``pip install 'mlcontext[bench]'``. Evidently 0.7 imports a helper pandas 3
removed (``pandas.core.dtypes.common.infer_dtype_from_object``); the benchmark supplies it first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlcontext.insight.drift import drift

Pair = tuple[str, pd.DataFrame, pd.DataFrame]


def _pairs() -> list[Pair]:
    rng = np.random.default_rng(11)
    pairs: list[Pair] = []
    pairs.append(("int labels, shifted", pd.DataFrame(rng.normal(0, 1, (500, 2))),
                  pd.DataFrame(rng.normal(0.8, 1, (500, 2)))))
    stamps = pd.Series(pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 86400 * 30, 800),
                                                                      unit="s"))
    same = rng.normal(0, 1, 800)
    pairs.append(("timestamps ns vs us", pd.DataFrame({"t": stamps.astype("datetime64[ns]"), "v": same}),
                  pd.DataFrame({"t": stamps.astype("datetime64[us]"), "v": same})))
    values = rng.normal(10, 2, 600)
    pairs.append(("column becomes all null", pd.DataFrame({"x": values, "y": values * 2}),
                  pd.DataFrame({"x": np.full(600, np.nan), "y": values * 2})))
    ref = pd.DataFrame({1: rng.normal(0, 1, 400), "1": rng.choice(["a", "b"], 400)})
    cur = pd.DataFrame({1: rng.normal(0, 1, 400), "1": rng.choice(["a", "b"], 400, p=[0.8, 0.2])})
    pairs.append(("columns 1 and '1'", ref, cur))
    pairs.append(("scaled column, 1000 rows", pd.DataFrame({"x": rng.normal(0, 1, 1000)}),
                  pd.DataFrame({"x": rng.normal(0, 1, 1000) * 1.3})))
    pairs.append(("tiny shift, 50,000 rows", pd.DataFrame({"x": rng.normal(0, 1, 50_000)}),
                  pd.DataFrame({"x": rng.normal(0.04, 1, 50_000)})))
    filled = rng.normal(0, 1, 3000)
    holes = filled.copy()
    holes[rng.random(3000) < 0.3] = np.nan
    pairs.append(("30 % nulls appear", pd.DataFrame({"x": filled}), pd.DataFrame({"x": holes})))
    pairs.append(("category mix changes", pd.DataFrame({"c": rng.choice(list("abc"), 5000)}),
                  pd.DataFrame({"c": rng.choice(list("abc"), 5000, p=[0.5, 0.3, 0.2])})))
    whole = pd.DataFrame({"x": rng.exponential(3, 4000), "c": rng.choice(list("pq"), 4000)})
    pairs.append(("halves of one table", whole.iloc[:2000], whole.iloc[2000:].reset_index(drop=True)))
    pairs.append(_wine_pair())
    return pairs


def _wine_pair() -> Pair:
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame
    changed = wine.copy()
    changed["alcohol"] = changed["alcohol"] * 1.1  # a recalibrated sensor
    changed["magnesium"] = changed["magnesium"].astype("float64")  # retyped, same values
    return "wine@1 -> wine@2 (alcohol x1.1)", wine, changed


WHY = {
    ("timestamps ns vs us", "t"): "the preset tests no datetime column (a table of timestamps alone "
                                  "fails: ZeroDivisionError, no column to share drift over)",
    ("column becomes all null", "y"): "the whole report fails on the empty column x (Evidently #1480)",
    ("columns 1 and '1'", 1): "labels 1 and '1' in one frame: Evidently fails on the mixed labels; as "
                              "text they would collapse into one column",
    ("columns 1 and '1'", "1"): "see the column 1",
    ("column becomes all null", "x"): "Evidently drops nulls first: an empty column is an error or "
                                      "'no drift'; mlcontext counts losing every value as drift",
    ("30 % nulls appear", "x"): "the non-null values keep their shape; only mlcontext tests the null "
                                "fraction (Evidently #187)",
    ("tiny shift, 50,000 rows", "x"): "significant but immaterial: both require an effect size here",
    ("scaled column, 1000 rows", "x"): "Evidently uses the KS p-value alone up to 1000 rows; mlcontext "
                                       "also needs KS or PSI >= 0.1",
}


def _ours(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[Any, str]:
    report = drift(ref, cur)
    verdicts = {c: ("drift" if d else "no drift") for c, d in report.columns["drifted"].items()}
    verdicts |= {c: "retyped, not compared" for c in report.incomparable}
    return verdicts


def _load_evidently() -> Callable[[pd.DataFrame, pd.DataFrame], dict[Any, str]] | None:
    import pandas.core.dtypes.common as common

    if not hasattr(common, "infer_dtype_from_object"):  # removed in pandas 3, imported by Evidently 0.7
        common.infer_dtype_from_object = lambda dtype: pd.api.types.pandas_dtype(dtype).type
    try:
        from evidently import Report
        from evidently.presets import DataDriftPreset
    except ImportError as exc:
        print(f"Evidently is not installed ({exc}): pip install 'mlcontext[bench]'")
        return None

    def run(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[Any, str]:
        try:
            return verdicts_of(ref, cur, "")
        except ZeroDivisionError:
            # Labels that are not text leave the preset with no column to test; users rename them.
            if all(isinstance(c, str) for c in ref.columns):
                raise
            return verdicts_of(ref.rename(columns=str), cur.rename(columns=str), ", labels as text")

    def verdicts_of(ref: pd.DataFrame, cur: pd.DataFrame, note: str) -> dict[Any, str]:
        result = Report([DataDriftPreset()]).run(cur, ref).dict()
        verdicts: dict[Any, str] = {}
        for metric in result["metrics"]:
            config = metric["config"]
            if not config["type"].endswith("ValueDrift"):
                continue
            value, threshold = metric["value"], config["threshold"]
            by_p = "p_value" in config["method"]
            drifted = value < threshold if by_p else value >= threshold
            verdicts[config["column"]] = f"{'drift' if drifted else 'no drift'} ({config['method']}{note})"
        return verdicts

    return run


def _timed(function: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    try:
        value = function()
    except Exception as exc:  # noqa: BLE001 - a peer failing on an input is a result to report
        value = exc
    return value, time.perf_counter() - start


def _verdict(found: Any, column: Any) -> str:
    if isinstance(found, Exception):
        return f"error: {type(found).__name__}: {str(found)[:60]}"
    for key in (column, str(column)):
        if key in found:
            return found[key]
    return "not reported"


def main() -> None:
    evidently = _load_evidently()
    if evidently is None:
        return
    rows, ours_s, theirs_s = [], 0.0, 0.0
    for name, ref, cur in _pairs():
        ours, t_ours = _timed(lambda ref=ref, cur=cur: _ours(ref, cur))
        theirs, t_theirs = _timed(lambda ref=ref, cur=cur: evidently(ref, cur))
        ours_s, theirs_s = ours_s + t_ours, theirs_s + t_theirs
        for column in ref.columns:
            a, b = _verdict(ours, column), _verdict(theirs, column)
            same = a.split(" (")[0] == b.split(" (")[0]
            rows.append((name, column, a, b, "" if same else "DIFFERS", WHY.get((name, column), "")))
    width = max(len(r[0]) for r in rows)
    cwidth = max(len(repr(r[1])) for r in rows)
    print(f"{'pair':<{width}}  {'column':<{cwidth}}  {'mlcontext':<21}  Evidently")
    for name, column, a, b, flag, why in rows:
        print(f"{name:<{width}}  {column!r:<{cwidth}}  {a:<21}  {b[:70]:<70} {flag}")
        if flag and why:
            print(f"{'':<{width}}  why: {why}")
    differing = sum(1 for r in rows if r[4])
    print(f"\n{differing} of {len(rows)} column verdicts differ; time for all pairs: mlcontext "
          f"{ours_s:.2f} s, Evidently {theirs_s:.2f} s (ratio {theirs_s / ours_s:.1f}x, same run)")


if __name__ == "__main__":
    main()

"""The main job of `make demo`: a small ridge-regression sweep, recorded by mlcontext.

Runs on scikit-learn's bundled diabetes data (nothing is downloaded), records four runs into the
embedded default store (.mlcontext/ at the project root), then shows what was recorded and where to
look next. Run it again: new runs are added, nothing is overwritten.
"""

from __future__ import annotations

import numpy as np
from rich.console import Console
from sklearn.datasets import load_diabetes

import mlcontext as mc
from mlcontext.cli.render import frame_table

console = Console()


def train(lam: float, epochs: int = 20, batches: int = 8) -> str:
    """Fit ridge regression by mini-batch gradient descent; returns the run id."""
    X, y = load_diabetes(return_X_y=True)
    X = np.hstack([X, np.ones((len(X), 1))])
    split = int(0.8 * len(X))
    with mc.run("ridge-gd", project="demo") as run:
        lam = mc.param("lambda", lam)
        lr = mc.param("lr", 0.5)
        w = np.zeros(X.shape[1])
        for _epoch in mc.loop("epoch", range(epochs)):
            for batch in mc.loop("batch", np.array_split(np.arange(split), batches)):
                Xb, yb = X[batch], y[batch]
                grad = Xb.T @ (Xb @ w - yb) / len(batch) + lam * w
                w -= lr * grad
                mc.log("train_mse", float(np.mean((Xb @ w - yb) ** 2)))
        test_mse = float(np.mean((X[split:] @ w - y[split:]) ** 2))
        mc.log("test_mse", test_mse)
        mc.artifact("weights.npy", w)
    return run.id


def closed_form_sweep(lambdas: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)) -> str:
    """Ridge in closed form on traced data: lineage per operation, X.T @ X computed once."""
    frame = load_diabetes(as_frame=True).frame
    with mc.run("ridge-closed-form", project="demo") as run:
        train = mc.dataset(frame.iloc[:350], name="diabetes-train", role="train")
        test = mc.dataset(frame.iloc[350:], name="diabetes-test", role="test")
        mc.param("lambdas", list(lambdas))
        data = train.frame()
        features = data.drop(columns=["target"]).to_numpy()
        X = np.hstack([features, np.ones((len(features), 1))])  # an intercept column (a deferred stack)
        y = data["target"].to_numpy()
        test_frame = test.load()
        X_test = np.hstack([test_frame.drop(columns=["target"]).to_numpy(), np.ones((len(test_frame), 1))])
        penalty = np.eye(X.shape[1])
        penalty[-1, -1] = 0.0  # the intercept is not shrunk
        best = None
        for lam in lambdas:
            w = np.linalg.solve(X.T @ X + lam * penalty, X.T @ y)
            mse = float(np.mean((X_test @ np.asarray(w) - test_frame["target"].to_numpy()) ** 2))
            best = min(best or (mse, lam, w), (mse, lam, w), key=lambda b: b[0])
        mc.log("test_mse", best[0])
        mc.log("best_lambda", best[1])
        mc.artifact("weights", best[2])
    return run.id


def main() -> None:
    ids = [train(lam) for lam in (0.0, 0.01, 0.1)]
    closed = closed_form_sweep()
    store = mc.get_store()
    console.rule("[bold]mlcontext demo")
    console.print(f"Recorded {len(ids) + 1} runs into {store.metadata.engine.url} "
                  f"(artifacts in {store.artifacts.url}).\n")
    runs = mc.runs(project="demo", limit=len(ids) + 1)
    shown = runs[["id", "name", "status", "param.lambda", "metric.best_lambda", "metric.test_mse"]]
    console.print(frame_table(shown.assign(id=shown["id"].str[:8]), title="mc.runs(project='demo')"))
    curve = mc.metrics("train_mse", run=ids[-1])
    console.print(f"\nmc.metrics('train_mse') of the last run: {len(curve)} values with their loop "
                  f"context (columns {list(curve.columns)})")
    stats = mc.reuse_stats()
    console.print(f"\nClosed-form sweep over 4 lambdas on traced data: {stats.hits} operations served "
                  f"from the lineage cache, {stats.misses} computed (mc.reuse_stats()).")
    console.print(f"\nHow were the best weights derived? mc.derivation('{closed[:8]}:weights'):")
    console.print(mc.derivation(f"{closed}:weights").tree())
    console.print("\nWhere to look next:")
    for command in ("mlcontext runs --project demo", f"mlcontext show {ids[-1][:8]}",
                    f"mlcontext diff {ids[0][:8]} {ids[-1][:8]}", f"mlcontext lineage {closed[:8]}:weights",
                    "mlcontext impact diabetes-train", "mlcontext testuse", "mlcontext cache"):
        console.print(f"  [bold cyan].venv/bin/{command}[/]")
    console.print("  docs/getting-started.md, docs/architecture.md, docs/lineage.md, docs/reuse.md")


if __name__ == "__main__":
    main()

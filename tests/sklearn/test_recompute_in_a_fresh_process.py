"""A model's lineage log recomputes in a fresh process that has not traced any estimator yet.

A newcomer stored a model's log and recomputed it in a new script: ``no registered operation
'sklearn.fit_transform'``, because scikit-learn's operations registered only when ``mc.traced`` was
first called; recompute now asks for them.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlcontext as mc


def test_a_stored_log_recomputes_where_no_estimator_was_traced(tmp_path):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    y = pd.Series((X.a + 0.3 * X.b > 0).astype(int), name="y")
    model = mc.traced(make_pipeline(StandardScaler(), LogisticRegression()))
    model.fit(mc.frame(X, name="X"), mc.frame(y, name="y"))
    log = tmp_path / "pred.log"
    log.write_text(mc.lineage.dumps(model.predict_proba(mc.frame(X, name="X"))))
    (tmp_path / "inputs.pkl").write_bytes(pickle.dumps({"X": X, "y": y}))
    expected = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y).predict_proba(X)
    script = textwrap.dedent(f"""
        import pickle, sys
        import numpy as np
        import mlcontext as mc
        assert "mlcontext.ops.sklearn_steps" not in sys.modules
        got = mc.recompute(open({str(log)!r}).read(),
                           inputs=pickle.load(open({str(tmp_path / "inputs.pkl")!r}, "rb")))
        np.save({str(tmp_path / "got.npy")!r}, np.asarray(got))
    """)
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path)
    assert np.array_equal(np.load(tmp_path / "got.npy"), expected)

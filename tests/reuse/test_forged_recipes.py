"""A recipe a lineage log claims is never used in place of an array's own elements (issue 14 review).

A data leaf is shared by content hash, and a leaf read from a log keeps the log's ``extra``
unchecked (recompute checks a rebuilt leaf against its hash; nothing else reads it). The reuse layer
used that recipe in two places: to rebuild a constant block of a deferred stack instead of copying
it, and to compute ``T(X) @ ones`` as column sums. A log read first (``mlcontext.lineage.loads``, or a
step entry of the persistent tier) that claimed ``np.ones((n, 1))`` was ``full(2.0)`` — or that a
``full(2.0)`` column was ones — made later stacks and Grams wrong without a word. Both now read only
the recipe this process matched against the bytes (``ops.dispatch.verified_recipe``).

Each case runs in a fresh interpreter: the log must be the first to make the leaf.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")

MAKE_LOG = """
import numpy as np, mlcontext as mc
from mlcontext.lineage import log
import sys
sys.stdout.write(log.dumps(mc.asarray(np.zeros((700, 1))) + np.full((700, 1), {value})))
"""

USE = """
import json, sys
import numpy as np, mlcontext as mc
from mlcontext.lineage import log
log.loads(sys.stdin.read())  # the forged recipe is now on the shared leaf of this content
rng = np.random.default_rng(0)
XN = rng.normal(size=(700, 3))
with mc.reuse("hybrid", min_compute_s=0, eager_s_per_byte=0):
    X = mc.asarray(XN)
    X.T @ X
    c = np.full((700, 1), {value})
    Z = np.hstack([X, c])
    G = np.asarray(Z.T @ Z)
    Zv = np.asarray(Z)
want = np.hstack([XN, np.full((700, 1), {value})])
print(json.dumps({{"stack": bool(np.array_equal(Zv, want)),
                  "gram": bool(np.allclose(G, want.T @ want, rtol=1e-12, atol=0))}}))
"""


def _run(code: str, stdin: str = "") -> str:
    done = subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True, text=True,
                          env={"PYTHONPATH": SRC, "OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _forged(value: float, claimed_hex: str) -> str:
    text = _run(MAKE_LOG.format(value=value))
    honest = {1.0: "000000000000f03f", 2.0: "0000000000000040"}[value]
    assert text.count(honest) == 1
    return text.replace(honest, claimed_hex)


def test_a_forged_recipe_does_not_rebuild_a_stack_block():
    log = _forged(1.0, "0000000000000040")  # ones claimed to be full(2.0)
    assert json.loads(_run(USE.format(value=1.0), log)) == {"stack": True, "gram": True}


def test_a_forged_ones_recipe_does_not_turn_products_into_column_sums():
    log = _forged(2.0, "000000000000f03f")  # full(2.0) claimed to be ones
    assert json.loads(_run(USE.format(value=2.0), log)) == {"stack": True, "gram": True}

"""Loop and step deduplication: patches per control path, hashes equal to the expanded lineage,
recompute from deduplicated logs."""

from __future__ import annotations

import numpy as np

import mlcontext as mc
from mlcontext.lineage.item import walk
from mlcontext.lineage.patch import DEDUP

X = np.random.default_rng(0).normal(size=(40, 3))
Y = X @ np.array([1.0, -2.0, 0.5])


def sgd(steps: int, branchy: bool = False, seed: int | None = None):
    X_t, y_t = mc.array(X, name="X"), mc.array(Y, name="y")
    w = mc.array(np.zeros(3), name="w0")
    rng = mc.random.default_rng(seed) if seed is not None else None
    for i in mc.loop("step", range(steps)):
        s = (i % 4) * 10
        xb, yb = X_t[s:s + 10], y_t[s:s + 10]
        g = xb.T @ (xb @ w - yb) / 10
        if branchy and i % 3 == 0:
            g = np.clip(g, -0.5, 0.5)  # another control path
        if rng is not None:
            g = g + rng.normal(scale=0.01, size=3)
        w = w - 0.1 * g
    return w


def _inputs() -> dict:
    return {"X": X, "y": Y, "w0": np.zeros(3)}


def test_dedup_hash_equals_expanded_hash() -> None:
    deduped = sgd(20, branchy=True, seed=3)
    with mc.lineage.no_dedup():
        expanded = sgd(20, branchy=True, seed=3)
    assert deduped.lineage.opcode == "lineage.output"
    assert expanded.lineage.opcode == "numpy.subtract"
    assert deduped.lineage == expanded.lineage
    assert np.array_equal(np.asarray(deduped), np.asarray(expanded))


def test_one_patch_per_control_path() -> None:
    text = mc.lineage.dumps(sgd(12, branchy=True))
    patches = [line for line in text.splitlines() if line.startswith('["p"')]
    assert len(patches) == 2  # with and without the clip
    items = list(walk(mc.lineage.loads(text)))
    assert sum(1 for i in items if i.opcode == DEDUP) == 12  # one item per iteration


def test_recompute_from_dedup_log_is_bit_identical() -> None:
    for branchy, seed in ((False, None), (True, None), (True, 11)):
        w = sgd(15, branchy=branchy, seed=seed)
        text = mc.lineage.dumps(w)
        assert np.array_equal(mc.recompute(text, inputs=_inputs()), np.asarray(w))
        back = mc.lineage.loads(text)
        assert back == w.lineage and mc.lineage.dumps(back) == text


def test_dedup_log_is_much_smaller() -> None:
    deduped = mc.lineage.dumps(sgd(200))
    with mc.lineage.no_dedup():
        plain = mc.lineage.dumps(sgd(200))
    assert len(deduped) * 20 < len(plain)
    assert sum(1 for line in deduped.splitlines() if line.startswith('["d"')) == 1  # one run


def test_runs_break_and_resume_with_control_paths() -> None:
    w = sgd(30, branchy=True, seed=2)
    text = mc.lineage.dumps(w)
    assert any(line.startswith('["d"') for line in text.splitlines())
    back = mc.lineage.loads(text)
    assert back == w.lineage and mc.lineage.dumps(back) == text


def test_nested_loops_and_steps() -> None:
    @mc.step
    def update(w, xb, yb, lr):
        g = xb.T @ (xb @ w - yb) / len(xb)
        return w - lr * g, np.linalg.norm(g)

    def train(dedup: bool):
        X_t, y_t = mc.array(X, name="X"), mc.array(Y, name="y")
        w = mc.array(np.zeros(3), name="w0")
        norms = []
        with (mc.lineage.no_dedup() if not dedup else _nothing()):
            for _ in mc.loop("epoch", range(3)):
                for b in mc.loop("batch", range(4)):
                    w, n = update(w, X_t[b * 10:(b + 1) * 10], y_t[b * 10:(b + 1) * 10], 0.05)
                    norms.append(n)
        return w, norms[-1]

    (w, n), (w2, n2) = train(True), train(False)
    assert w.lineage == w2.lineage and n.lineage == n2.lineage
    text = mc.lineage.dumps([w, n])
    got_w, got_n = mc.recompute(text, inputs=_inputs())
    assert np.array_equal(got_w, np.asarray(w)) and got_n == np.asarray(n)
    assert w.lineage.inputs[0].literals[1][1][1] == "loop:epoch"


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_step_identity_and_dedup() -> None:
    @mc.step
    def f(a):
        return np.sqrt(a * a + 1)

    info = f.__mlcontext_step__
    assert info.qualname.endswith("f") and len(info.code_hash) == 32
    x = mc.array(np.arange(4.0), name="x")
    r1, r2 = f(x), f(x + 1)
    p1 = r1.lineage.inputs[0].literals[1][0][1]
    p2 = r2.lineage.inputs[0].literals[1][0][1]
    assert p1 == p2  # the same control path: one patch
    assert r1.lineage.inputs[0].literals[1][1][1] == info.label
    assert np.array_equal(mc.recompute(mc.lineage.dumps(r2), inputs={"x": np.arange(4.0)}),
                          np.sqrt((np.arange(4.0) + 1) ** 2 + 1))


def test_code_hash_changes_with_code_not_location() -> None:
    from mlcontext.lineage.step import code_hash

    def a(x):
        return x + 1

    def b(x):
        return x + 1

    def c(x):
        return x + 2

    assert code_hash(a) == code_hash(b) != code_hash(c)


def test_loop_without_traced_work_and_with_break() -> None:
    total = 0
    for i in mc.loop("plain", range(5)):
        total += i
    assert total == 10
    x = mc.array(np.ones(2), name="x")
    for i in mc.loop("brk", range(10)):
        x = x * 2
        if i == 2:
            break
    assert np.array_equal(np.asarray(x), [8.0, 8.0])
    assert np.array_equal(mc.recompute(mc.lineage.dumps(x), inputs={"x": np.ones(2)}), [8.0, 8.0])


def test_setitem_on_outer_array_inside_loop() -> None:
    acc = mc.array(np.zeros(4), name="acc")
    for i in mc.loop("fill", range(4)):
        acc[i] = i * 1.5
    assert np.array_equal(np.asarray(acc), [0, 1.5, 3, 4.5])
    text = mc.lineage.dumps(acc)
    assert text.count('["p"') == 1
    assert np.array_equal(mc.recompute(text, inputs={"acc": np.zeros(4)}), [0, 1.5, 3, 4.5])


def test_dedup_can_be_switched_off() -> None:
    assert mc.lineage.dedup_enabled()
    mc.lineage.set_dedup(False)
    try:
        x = mc.array(np.ones(1))
        for _ in mc.loop("off", range(2)):
            x = x + 1
        assert x.lineage.opcode == "numpy.add"
    finally:
        mc.lineage.set_dedup(True)

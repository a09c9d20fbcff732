"""Hypothesis over generated programs: a function (a step, or one given to ``apply``) whose identity
changes between two calls in one of the ways people change it — a closure value, a global, a default,
a helper's body, a global read through a helper — on data of a generated dtype; with reuse on (cold,
then warm) every result equals the result with reuse off."""

from __future__ import annotations

import textwrap

from corpus_runner import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlcontext as mc

EAGER = {"min_compute_s": 0.0, "eager_s_per_byte": 0.0}

VALUES = st.sampled_from([0.0, 1.0, 2.0, -1.0, 0.5, 1e-9, 3])
DTYPES = st.sampled_from(["<f8", "<f4", "<i8", ">i4", "<u2"])
BODIES = st.sampled_from(["a * v", "a + v", "a - v", "(a * 2) + v", "a * v + 1"])
APPLIED = st.sampled_from(["step", "apply", "map", "transformer"])


def _call(applied: str) -> str:
    return {
        "step": "np.asarray(mc.step(f)(mc.array(data)))",
        "apply": "mc.frame(pd.DataFrame({'c': data})).c.apply(f).to_pandas().to_numpy()",
        "map": "mc.frame(pd.DataFrame({'c': data})).c.map(f).to_pandas().to_numpy()",
        "transformer": ("np.asarray(mc.traced(FunctionTransformer(f)).fit(mc.array(data[:, None]))"
                        ".transform(mc.array(data[:, None])))"),
    }[applied]


STYLES = {
    "closure": ("def make(v):\n    def f(a):\n        return {body}\n    return f\n"
                "f = make({v1})\nfirst = {call}\nf = make({v2})\n"),
    "global": "V = {v1}\ndef f(a):\n    return {body_g}\nfirst = {call}\nV = {v2}\n",
    "default": "def f(a, v={v1}):\n    return {body}\nfirst = {call}\nf.__defaults__ = ({v2},)\n",
    "helper": ("def h(a):\n    return {body_h1}\ndef f(a):\n    return h(a)\nfirst = {call}\n"
               "def h(a):\n    return {body_h2}\n"),
    "helper_global": ("V = {v1}\ndef h(a):\n    return {body_g}\ndef f(a):\n    return h(a)\n"
                      "first = {call}\nV = {v2}\n"),
}


@st.composite
def programs(draw: st.DrawFn) -> str:
    style = draw(st.sampled_from(sorted(STYLES)))
    body, body2 = draw(BODIES), draw(BODIES)
    call = _call(draw(APPLIED))
    template = STYLES[style]
    source = template.format(
        v1=draw(VALUES), v2=draw(VALUES), body=body, body_g=body.replace("v", "V"),
        body_h1=body.replace("v", "2"), body_h2=body2.replace("v", "2"), call=call)
    n = draw(st.integers(1, 5))
    header = (f"from sklearn.preprocessing import FunctionTransformer\n"
              f"data = np.arange({n}).astype('{draw(DTYPES)}')\n")
    return header + source + f"result = [first, {call}]\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_generated_programs_give_the_same_results_with_and_without_reuse(source: str) -> None:
    source = textwrap.dedent(source)
    mc.reuse_clear()
    with mc.reuse("none"):
        want = run("generated", source)
    mc.reuse_clear()
    with mc.reuse("hybrid", **EAGER):
        assert run("generated", source) == want, source
        assert run("generated", source) == want, source

"""Fuzzing real lineage logs through ``loads -> hash -> dumps -> loads -> recompute`` (issue 13 item
10): every error a mutated log causes is an ``MLContextError``, and a log that parses keeps its hashes
through a dump and a parse. A few seconds here; ``python -m bench fuzz`` runs longer and reports the
count of inputs tried and of foreign errors (atheris-style harnesses: catch only the library's own
errors, hiero-ledger/hiero-sdk-python#2177).
"""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from log_fuzz import Outcome, corpus, mutate, run_one

LOGS, INPUTS = corpus()
EXAMPLES = int(os.environ.get("MLCONTEXT_FUZZ_EXAMPLES", "300"))


def test_the_corpus_recomputes_unmutated() -> None:
    outcome = Outcome()
    for text in LOGS:
        run_one(text, INPUTS, outcome)
    assert outcome.foreign == [] and outcome.recomputed == len(LOGS)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(which=st.integers(0, len(LOGS) - 1), seed=st.integers(0, 2**32 - 1))
def test_mutated_logs_raise_only_mlcontext_errors(which: int, seed: int) -> None:
    outcome = Outcome()
    text = mutate(LOGS[which], random.Random(seed))
    run_one(text, INPUTS, outcome)
    assert outcome.foreign == [], (outcome.foreign, text)


@pytest.mark.parametrize("text", [
    "",  # empty
    '["mlcontext-lineage",1]\n["l",0,"lineage.output",["k",0],null,null]\n["r",[0]]\n',  # found by the fuzzer
    '["mlcontext-lineage",1]\n["l",0,"lineage.data",["D",[["dtype",["s","4f<"]],["hash",["s","0"]],'
    '["shape",["T",[]]]]],null,null]\n["r",[0]]\n',
    '["mlcontext-lineage",1]\n["l",0,"lineage.data",["D",[["dtype",["s","<f8"]],["hash",["s","\\ud800"]],'
    '["shape",["T",[["i",-1]]]]]],"\\ud800",null]\n["r",[0]]\n',
    '["mlcontext-lineage",1]\n["i",0,"numpy.add",[],["T",[["T",[["r",0],["r",1]]],["D",[]]]]]\n["r",[0]]\n',
    '["mlcontext-lineage",1]\n["i",0,"numpy.ndarray.__getitem__",[],["T",[["T",[]],["D",[]]]]]\n["r",[0]]\n',
    # found by the fuzzer in a fresh clone's oldest-dependency pass: NumPy parses a malformed
    # comma-separated dtype ("(1,f8") with ast and raises SyntaxError, in a data leaf and in a literal
    '["mlcontext-lineage",1]\n["l",0,"lineage.data",["D",[["dtype",["s","(1,f8"]],["hash",["s","0"]],'
    '["shape",["T",[]]]]],null,null]\n["r",[0]]\n',
    '["mlcontext-lineage",1]\n["l",0,"lineage.data",["D",[["dtype",["s","<f8"]],["hash",["s","0"]],'
    '["shape",["T",[]]]]],null,null]\n["i",1,"numpy.add",[0],["T",[["T",[["r",0],["d","f8,(2"]]],'
    '["D",[]]]]]\n["r",[1]]\n',
])
def test_known_bad_logs(text: str) -> None:
    outcome = Outcome()
    run_one(text, INPUTS, outcome)
    assert outcome.foreign == []

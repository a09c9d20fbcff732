"""A project name that names no project is an error in the Python API as on the command line.

The third newcomer of the tenth session: ``mc.runs(project="typo")`` answered an empty frame, as if
nothing had been recorded, where ``mlcontext runs -p typo`` names the projects that exist. Peer kind:
konradjk/exac_browser#133 (a misspelt name searched answered nothing useful instead of saying so).
"""

from __future__ import annotations

import pandas as pd
import pytest

import mlcontext as mc
from mlcontext.errors import NotFoundError


@pytest.fixture
def recorded(store):
    with mc.run("train", project="churn"):
        mc.log("acc", 0.9)
        mc.param("lr", 0.1)
        mc.dataset(pd.DataFrame({"y": [0, 1]}), "holdout", role="test")
    return store


@pytest.mark.parametrize("query", [
    lambda: mc.runs(project="chrun"),
    lambda: mc.runs("chrun"),
    lambda: mc.metrics("acc", project="chrun"),
    lambda: mc.find(params=["lr>0"], project="chrun"),
    lambda: mc.testuse(project="chrun"),
])
def test_a_typo_in_a_project_names_the_projects_that_exist(recorded, query):
    with pytest.raises(NotFoundError, match=r"no project 'chrun': did you mean 'churn'\?.*projects: churn"):
        query()


def test_the_project_that_exists_still_answers(recorded):
    assert len(mc.runs(project="churn")) == 1
    assert mc.metrics("acc", project="churn")["value"].tolist() == [0.9]
    assert len(mc.find(params=["lr>0"], project="churn")) == 1
    assert mc.testuse(project="churn")["evaluations"].tolist() == [1]
    assert len(mc.runs()) == 1  # no project: every project


def test_an_empty_store_says_none_yet(store):
    with pytest.raises(NotFoundError, match=r"no project 'churn' \(projects: none yet\)"):
        mc.runs(project="churn")


def test_a_project_in_other_letters_or_empty_is_said_so(recorded):
    # The first newcomer of the eleventh session: `-p WINE` read "no project 'WINE': (projects: wine)",
    # a colon before nothing and no suggestion; `-p ""` the same.
    with pytest.raises(NotFoundError, match=r"no project 'CHURN': did you mean 'churn'\? \(projects: churn"):
        mc.runs(project="CHURN")
    with pytest.raises(NotFoundError, match=r"project name is empty: give one \(projects: churn\), or none"):
        mc.find(project="")


def test_a_condition_given_as_one_string_says_to_pass_a_list(recorded):
    # The first newcomer of the eleventh session: mc.find(params="C>=1") read "cannot read
    # condition 'C'" (the string taken letter by letter).
    from mlcontext.errors import UsageError

    with pytest.raises(UsageError, match=r"params is a list of conditions: params=\['lr>0'\]"):
        mc.find(params="lr>0")
    with pytest.raises(UsageError, match=r"metrics=\['acc>0'\]"):
        mc.find(metrics="acc>0")


def test_a_run_or_dataset_asked_in_a_project_that_does_not_exist_says_so(recorded):
    # The same newcomer: `show train -p wnie` said the project had no run of that name and pointed
    # at `mlcontext runs -p wnie`, which fails; dataset questions listed nothing about the typo.
    with pytest.raises(NotFoundError, match=r"no project 'chrun': did you mean 'churn'\?"):
        mc.get_run("train", project="chrun")
    with pytest.raises(NotFoundError, match=r"no project 'chrun': .*'holdout' is a dataset of project"):
        mc.versions("holdout", project="chrun")
    with pytest.raises(NotFoundError, match=r"no project 'chrun': .*so no dataset 'nothing' there"):
        mc.versions("nothing", project="chrun")


def test_a_metric_name_no_run_logged_is_an_error_listing_those_logged(recorded):
    # The second newcomer of the eleventh session: mc.metrics("test_r3") answered an empty frame,
    # where find and tried say "did you mean 'test_r2'".
    with pytest.raises(NotFoundError, match=r"no run in project 'churn' logged a metric 'acx': "
                                            r"did you mean 'acc'\? \(metrics logged: acc\)"):
        mc.metrics("acx", project="churn")
    run_id = mc.runs(project="churn")["id"].iloc[0]
    with pytest.raises(NotFoundError, match=r"no run of 1 run\(s\) asked logged a metric 'loss'"):
        mc.metrics("acc", "loss", run=run_id)
    assert mc.metrics("acc", run=run_id)["value"].tolist() == [0.9]
    assert len(mc.metrics(project="churn")) == 1  # every metric: no name to be wrong

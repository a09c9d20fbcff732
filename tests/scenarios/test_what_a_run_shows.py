"""What ``show`` and ``diff`` tell a user about a small project: the answers a newcomer found wrong.

A git project registers a dataset from a plain frame (``prepare.py``), reads it back in a training run
(``train.py --param lr=1.0``), then adds an untracked helper and runs again, also from a sub-folder.
Found by the last newcomer trial, each kept here:

- a run's dataset reads were not among its artifacts, although ``RunRecord.artifacts`` promises "what
  the run wrote and read" (``show`` listed only the code; ``RUN:NAME`` could not name the read);
- a float param 1.0 printed as ``1`` in the tables (``--json`` said 1.0);
- an added or deleted file's diff header named one side twice (``diff --git b/x.py b/x.py``);
- the environment part of ``diff`` was raw JSON, printed even when nothing differed.

Peers of the kind, each kept as a small input of ours: mlflow/mlflow#23478 (dataset inputs logged
for a run not visible where the run is shown), elyra-ai/elyra#3088 (a FLOAT parameter 0.0 displayed
as 0), gitpython-developers/GitPython#423 (the sides of an added file confused in a diff), and
mwaskom/seaborn#2604 (a DataFrame passed where a dataset name belongs gave a useless message).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import mlcontext as mc
from mlcontext.errors import NameTypeError

PREPARE = """
import pandas as pd
import mlcontext as mc

with mc.run("prepare", project="show"):
    raw = pd.DataFrame({"a": [1, 2, 3, 4], "b": [0.5, 1.5, 2.5, 3.5]})
    mc.dataset(raw, "clean")
"""

TRAIN = """
import mlcontext as mc

with mc.run("train", project="show") as run:
    lr = mc.param("lr", 0.1)
    frame = mc.dataset_version("clean", project="show").frame()
    mc.log("score", float(frame["a"].sum()) * lr)
    print(run.id)
"""


@pytest.fixture(scope="module")
def project(make_project):
    project = make_project("show", {"prepare.py": PREPARE, "train.py": TRAIN})
    project.run("prepare.py")
    first = project.run("train.py", params={"lr": 1.0}).last_line
    project.write("helper.py", "SCALE = 2\n")  # untracked: in the snapshot of the next run
    second = project.run("train.py", params={"lr": 1.0}).last_line
    (project.root / "notebooks").mkdir()
    elsewhere = project.run("../train.py", params={"lr": 1.0}, cwd=project.root / "notebooks").last_line
    return project, first, second, elsewhere


def test_a_run_lists_the_dataset_versions_it_read(project):
    project, first, _, _ = project
    record = project.cli_json("show", first)
    reads = [a for a in record["artifacts"] if a["direction"] == "input"]
    assert [(a["name"], a["meta"]["dataset"], a["meta"]["version"]) for a in reads] == [("clean", "clean", 1)]
    version = project.cli_json("versions", "clean", "--project", "show")[0]
    table = project.cli("show", first).stdout
    assert "clean@1" in table and "input" in table
    # RUN:NAME names what the run read: the same node as the dataset version itself.
    assert project.cli_json("lineage", f"{first}:clean")["root"] == \
        project.cli_json("lineage", "clean@1", "--project", "show")["root"]
    with project.store():
        assert [a.name for a in mc.get_run(first).artifacts if a.direction == "input"] == ["clean"]
    assert version["run_id"] != first  # registered by prepare.py, only read here


def test_a_whole_float_param_keeps_its_point_in_tables(project):
    project, first, _, _ = project
    assert project.cli_json("show", first)["params"]["lr"] == 1.0
    params = project.cli("show", first).stdout
    assert re.search(r"lr\s+│\s+1\.0\s", params), params
    runs = project.cli("runs", "--project", "show", env={"COLUMNS": "250"}).stdout
    assert re.search(r"│\s+1\.0\s+│", runs), runs


def test_an_added_and_a_deleted_file_have_git_s_headers(project):
    project, first, second, _ = project
    added = project.cli("diff", first, second).stdout
    assert "diff --git a/helper.py b/helper.py" in added and "new file mode" in added
    deleted = project.cli("diff", second, first).stdout
    assert "diff --git a/helper.py b/helper.py" in deleted and "deleted file mode" in deleted
    for text in (added, deleted):
        assert not re.search(r"^diff --git ([ab])/(\S+) \1/\2$", text, re.MULTILINE), text


def test_the_environment_part_of_diff_is_a_table_or_says_same(project):
    project, first, second, elsewhere = project
    same = project.cli("diff", first, second, env={"COLUMNS": "200"}).stdout
    assert "same environment" in same and '"fields"' not in same
    moved = project.cli("diff", second, elsewhere, env={"COLUMNS": "200"}).stdout
    environment = moved.split("environment", 1)[1]
    assert '"fields"' not in environment and re.search(r"cwd\s+│", environment), environment
    assert second[:8] in environment and elsewhere[:8] in environment
    as_json = project.cli_json("diff", second, elsewhere)["environment"]
    assert set(as_json["fields"]) == {"cwd", "argv"}


def test_data_given_where_the_name_belongs_gets_a_short_message():
    frame = pd.DataFrame({"a": np.arange(1000)})
    with pytest.raises(NameTypeError,
                       match=r"got a DataFrame of shape \(1000, 1\): the data comes first") as err:
        mc.dataset("clean", frame)
    assert len(str(err.value)) < 160 and "\n" not in str(err.value)
    with pytest.raises(NameTypeError, match=r"str\(3\)"):
        mc.dataset(frame, 3)


def test_mc_pd_dataframe_says_how_to_make_a_traced_frame():
    with pytest.raises(AttributeError, match=r"mc\.frame\(pd\.DataFrame"):
        mc.pd.DataFrame({"a": [1]})
    with pytest.raises(AttributeError, match="read_csv"):
        mc.pd.no_such_function  # noqa: B018

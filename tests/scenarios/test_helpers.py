"""The scenario helpers themselves: strict JSON, a project's scripts record into the project's store."""

from __future__ import annotations

import pytest

import mlcontext as mc

SCRIPT = """
    import mlcontext as mc
    with mc.run("hello", project="helpers") as run:
        n = mc.param("n", 1)
        mc.log("twice", 2 * n)
        if mc.param("crash", False):
            raise RuntimeError("asked to crash")
        print(run.id)
"""


@pytest.mark.parametrize("text", ['{"a": NaN}', "[Infinity]", "[-Infinity]"])
def test_strict_json_rejects_non_finite_constants(text, strict_json):
    with pytest.raises(ValueError, match="not strict JSON"):
        strict_json(text)


def test_strict_json_accepts_rfc_8259(strict_json):
    assert strict_json('{"a": [1, 2.5e-3, null, true, "x"]}') == {"a": [1, 0.0025, None, True, "x"]}


def test_scripts_record_into_the_projects_store(make_project):
    project = make_project("helpers", {"hello.py": SCRIPT})
    first = project.run("hello.py", params={"n": 3}).last_line
    crashed = project.run("hello.py", params={"crash": True}, check=False)
    assert crashed.returncode != 0 and "asked to crash" in crashed.stderr
    assert (project.store_dir / "mlcontext.db").is_file()
    rows = project.cli_json("runs", "--project", "helpers")
    assert [(r["status"], r.get("param.n")) for r in rows] == [("failed", 1), ("finished", 3)]
    assert rows[1]["id"] == first
    with project.store():
        runs = mc.runs(project="helpers")
        assert sorted(runs["status"]) == ["failed", "finished"]
        assert mc.get_run(first).params == {"n": 3, "crash": False}

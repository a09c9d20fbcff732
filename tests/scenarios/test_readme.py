"""The README's examples run as written, in order, in a fresh git repository (issue 11, "Done when").

Python blocks run in one namespace, as a reader pasting them into one session would; each console line
runs as its own ``mlcontext`` process between them, in the same repository and so on the same store.
Only the ``make`` lines (which build this project's own environment) are left out.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"

DRIVER = """
import json, shlex, subprocess, sys

blocks = json.loads(open("blocks.json").read())
namespace = {"__name__": "__readme__"}
for kind, text in blocks:
    if kind == "python":
        exec(compile(text, "README.md", "exec"), namespace)
        continue
    for line in text.splitlines():
        command = line.split("  #")[0].strip()
        if not command or command.startswith("make "):
            continue
        args = shlex.split(command)
        assert args[0] == "mlcontext", command
        done = subprocess.run([sys.executable, "-m", "mlcontext", *args[1:]], capture_output=True, text=True)
        print(f"$ {command} -> exit {done.returncode}")
        if done.returncode != 0:
            sys.exit(f"README command failed: {command}\\n{done.stdout}\\n{done.stderr}")
print("README OK")
"""


def readme_blocks() -> list[tuple[str, str]]:
    return re.findall(r"```(python|console)\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_examples_run_in_order_in_a_fresh_repository(make_project):
    blocks = readme_blocks()
    assert [kind for kind, _ in blocks].count("python") >= 2 and len(blocks) >= 4
    project = make_project("readme", {"tour.py": DRIVER})
    project.write("blocks.json", json.dumps(blocks), dedent=False)
    result = project.run("tour.py")
    assert result.last_line == "README OK", str(result)
    commands = [line for line in result.stdout.splitlines() if line.startswith("$ mlcontext")]
    assert any("diff trips@1 trips@2" in c for c in commands) and len(commands) >= 10

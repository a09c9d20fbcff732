"""Every ``mc.name`` and ``mc.module.name`` written in the docs' Python examples resolves after a plain
``import mlcontext as mc`` in a fresh process.

The docs tests run the examples in the test process, where other tests have already imported
submodules such as ``mlcontext.fingerprint``: docs/lineage.md's ``mc.fingerprint.hash_array`` passed
there and raised AttributeError for a newcomer (the package loads its submodules lazily).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
NAME = re.compile(r"(?<![\w.])mc\.([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?")


def _documented_names() -> set[tuple[str, str | None]]:
    names = set()
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in BLOCK.findall(page.read_text()):
            names.update((first, second or None) for first, second in NAME.findall(block))
    return names


CHECK = """\
import json, sys, types
import mlcontext as mc
missing = []
for first, second in json.loads(sys.argv[1]):
    value = getattr(mc, first, None)
    if value is None:
        missing.append(first)
    elif second is not None and isinstance(value, types.ModuleType) and not hasattr(value, second):
        missing.append(first + "." + second)
print(json.dumps(missing))
"""


def test_every_name_the_docs_use_resolves_after_a_plain_import() -> None:
    names = _documented_names()
    assert ("fingerprint", "hash_array") in names  # the newcomer's example is among them
    proc = subprocess.run([sys.executable, "-c", CHECK, json.dumps(sorted(names, key=str))],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []

"""``mc.restore_code``: recreate the source tree a run executed, dirty changes and untracked files
included, from its recorded code snapshot (``mlcontext restore RUN DEST``).

The snapshot is data from the store: restoring never writes or follows anything outside ``dest``
(``tracking/safe_tree.py``, docs/security.md). Refusal is per entry: every safe entry is restored,
and the refused ones (a link to ``/mnt/data``, a path through a link) are named.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from ..errors import NotFoundError, UnsafeArchiveError
from ..store import RunRecord, Store
from .code import CodeSnapshot, RefusedEntry, restore_tree
from .refs import run_id_ref
from .stores import get_store

__all__ = ["restore_code", "restore_run_code"]


def restore_code(run: Any, dest: str | os.PathLike[str], *, repo: str | os.PathLike[str] | None = None,
                 outside_links: Literal["refuse", "keep"] = "refuse", store: Store | None = None) -> Path:
    """Recreate the code ``run`` executed in ``dest``: its git commit, the uncommitted changes and the
    untracked files byte for byte, or its script outside git.

    Parameters
    ----------
    run : str, Run or RunRecord
        A run's id, id prefix or name, a ``Run`` or a ``RunRecord``.
    dest : str or os.PathLike
        A folder that does not exist or is empty.
    repo : str or os.PathLike, optional
        Where to clone the commit from (a path or URL); default: the repository the run was recorded
        in. Untracked files and the diff come from the store.
    outside_links : {"refuse", "keep"}
        Links of the restored commit resolving outside ``dest``: removed and named (``"refuse"``), or
        kept (``"keep"``: for comparing trees, never following them).
    store : Store, optional
        Where the run is recorded (default: :func:`mlcontext.get_store`).

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    NotFoundError
        No such run, it recorded no code, or its repository or commit cannot be found.
    ConfigError
        ``dest`` exists and is not an empty folder, or git is needed and missing.
    UnsafeArchiveError
        Some entries would have left ``dest`` (a recorded link to ``/mnt/data``): each is named;
        everything else is restored.
    UsageError
        ``run`` is not a reference to a run (``None``, a number).

    Examples
    --------
    >>> import os, pathlib, subprocess, sys
    >>> mc.set_store("store")  # a folder; the script below records into it too
    >>> _ = pathlib.Path("train.py").write_text(
    ...     "import mlcontext as mc\\nwith mc.run('ridge'):\\n    mc.log('loss', 0.5)\\n")
    >>> _ = subprocess.run([sys.executable, "train.py"], check=True,
    ...                    env={**os.environ, "MLCONTEXT_HOME": "store"})
    >>> dest = mc.restore_code("ridge", "restored")
    >>> sorted(p.name for p in dest.iterdir())
    ['train.py']
    >>> (dest / "train.py").read_text() == pathlib.Path("train.py").read_text()
    True
    """
    refused = restore_run_code(run, dest, repo=repo, outside_links=outside_links, store=store)[1]
    if refused:
        raise UnsafeArchiveError(
            f"restored the code in {str(dest)!r} except {len(refused)} entr"
            f"{'y' if len(refused) == 1 else 'ies'} that would leave it, never written or followed: "
            + "; ".join(map(str, refused)))
    return Path(dest)


def restore_run_code(run: Any, dest: str | os.PathLike[str], *, repo: str | os.PathLike[str] | None = None,
                     outside_links: Literal["refuse", "keep"] = "refuse",
                     store: Store | None = None) -> tuple[RunRecord, list[RefusedEntry]]:
    """:func:`restore_code` returning the run and the refused entries instead of raising for them
    (what ``mlcontext restore`` prints)."""
    store = store or get_store()
    record = store.metadata.get_run(run_id_ref(run))
    if record.code_hash is None:
        raise NotFoundError(f"run {record.id[:8]} ({record.name}) recorded no code to restore")
    snapshot = CodeSnapshot.from_archive(store.artifacts.get(record.code_hash))
    return record, restore_tree(snapshot, Path(dest), repo=repo, outside_links=outside_links)

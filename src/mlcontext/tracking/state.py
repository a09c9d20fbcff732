"""The tracking layer's process state, in one object (``STATE``) whose lifetime the runtime
(:mod:`mlcontext.runtime`) owns: reset to a fresh process's by ``mc._reset_state()``.

What stays in ``tracking/run.py`` by nature: the interpreter-wide hooks (``atexit``, ``sys.excepthook``,
the SIGTERM handler, installed once and never removed) and the fork handling (a lock held across
``fork()``, the child's signal watcher), which belong to the process, not to a runtime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store import Store, StoreConfig

__all__ = ["TrackingState", "RunUses", "STATE"]


@dataclass
class RunUses:
    """What one run registered and read (``tracking/uses.py``); released when the run ends.

    Attributes
    ----------
    registry : dict
        Lineage hash -> the data (a ``Source``) the run recorded with that lineage.
    recorded : set
        ``(use, version id)`` accesses already recorded.
    walked : set
        ``(use, item hash)`` lineage already walked (a grid search predicts on the same data often).
    pending : dict
        Test version id -> ``Source`` read as plain data, counted as evaluated if the run finishes.
    made : dict
        Artifact hash -> None, in order: the outputs the run derived with traced lineage, sources of
        the plain outputs it makes later (``derivation._add_run_edges``).
    warned : set
        Test version ids this run was already warned about (past the budget): once per run, not at
        the read and again at the evaluation.
    made_tests : set
        Test version ids the run made (a split it registered) and then took out of lineage: counted
        as evaluated when it finishes, but no source of its outputs and no read when it fails.
    models : dict
        Artifact hash of a saved model -> a weak reference to the object saved, to tell a part of
        a saved model (a search's ``best_estimator_``) from a model built from a saved component.
    """

    registry: dict[str, Any] = field(default_factory=dict)
    recorded: set[tuple[str, int]] = field(default_factory=set)
    walked: set[tuple[str, str]] = field(default_factory=set)
    models: dict[str, Any] = field(default_factory=dict)
    pending: dict[int, Any] = field(default_factory=dict)
    made: dict[str, None] = field(default_factory=dict)
    warned: set[int] = field(default_factory=set)
    made_tests: set[int] = field(default_factory=set)


class TrackingState:
    """What the tracking layer keeps between calls.

    Attributes
    ----------
    active : Run or None
        The active run, from ``mc.run()`` (or a first ``mc.log``) to its end; read on every
        ``mc.log``.
    explicit_store : Store or None
        The store given to ``set_store``/``use_store``.
    opened : dict
        Stores opened from configuration (``StoreConfig`` -> ``Store``), kept open until reset.
    written_here : set of str
        Digests of pickles this process wrote (safe for it to read back).
    no_unpickling : int
        Depth of ``no_unpickling()`` blocks (> 0: nothing is unpickled, trusted or not).
    uses : dict
        Run id -> :class:`RunUses`, for runs that registered or read data; dropped at the run's end.
    command_line : tuple of three lists, or None
        ``(sys.argv as the process got it, the sys.argv list the first run took its --param pairs
        out of, its content then)``: the later runs of the process read the same overrides while the
        script leaves that list as it was (a sweep's second run used the defaults, a newcomer's
        finding).
    """

    __slots__ = ("active", "explicit_store", "opened", "written_here", "no_unpickling", "uses",
                 "command_line")

    def __init__(self) -> None:
        self.active: Any = None
        self.explicit_store: Store | None = None
        self.opened: dict[StoreConfig, Store] = {}
        self.written_here: set[str] = set()
        self.no_unpickling = 0
        self.uses: dict[str, RunUses] = {}
        self.command_line: tuple[list[str], list[str], list[str]] | None = None

    def reset(self) -> None:
        """As a fresh process has it: no active run (the runtime ends one first), no store set, the
        stores opened from configuration closed and forgotten, nothing written or registered."""
        opened, self.opened = self.opened, {}
        for store in opened.values():
            store.close()
        self.active = None
        self.explicit_store = None
        self.written_here = set()
        self.no_unpickling = 0
        self.uses = {}
        self.command_line = None


STATE = TrackingState()

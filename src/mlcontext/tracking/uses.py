"""Which registered data a value came from, and which data a run fit on and evaluated on.

Lineage items know operations and leaves; users know *datasets*: ``wine-raw`` read from a file,
``wine-clean`` computed from it, ``wine-train`` and ``wine-test`` split from that. Every dataset and
artifact a run records from a traced value is registered here (for that run) by the hash of its
lineage item, so the data an output came from is found by walking its lineage down to the *nearest*
data the run registered (:func:`data_sources`), not to the leaves: ``wine-train`` comes from
``wine-clean``, which comes from ``wine-raw``. A leaf (a file read, a frame handed in) maps to its
dataset version by content hash. A value another run registered is not a source of this run's
outputs: edges say what each run did.

Estimators tell this module when they are fitted and when they predict or score
(:func:`mlcontext.ops.sklearn_steps.set_use_hook`); a metric logged as a traced value tells it too.
Each registered dataset read that way is an *access* of the run with the dataset's own role, so a
test set counts as evaluated however it was made (read from a file or split inside the script), and
reading one more often than the budget warns (:class:`~mlcontext.errors.TestSetOveruseWarning`).
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from ..errors import ConfigError, TestSetOveruseWarning
from ..lineage.item import Item, walk
from ..lineage.literals import Literals
from ..lineage.patch import OUTPUT
from ..ops.sklearn_steps import FIT, FIT_TRANSFORM, METHOD_OPCODES, set_use_hook
from ..store import Store
from ..store.context import ContextStore
from .state import STATE, RunUses

__all__ = ["Source", "register", "registered_any", "data_sources", "explained_by_lineage", "leaf_hash",
           "record_use", "note_metric",
           "note_made", "made_by",
           "check_test_budget", "test_budget", "install", "defer_test_read", "settle_test_reads", "end_run",
           "pending_reads", "part_of_saved", "register_fits", "note_plain_use"]

@dataclass(frozen=True)
class Source:
    """Registered data an output or a use came from: the stored artifact, and its dataset version."""

    artifact_hash: str
    lineage_hash: str | None = None
    version_id: int | None = None
    role: str | None = None
    ref: str | None = None


# Per run (``STATE.uses``: run id -> RunUses): the data the run registered by lineage hash, the
# accesses already recorded and the lineage already walked (a grid search predicts on the same data
# many times), and the test versions it read as plain data (no traced evaluation seen yet; they count
# as evaluated only if the run finishes: a run that crashes before it predicts evaluated nothing, and
# one that evaluated them untraced, a plain model, is counted at its end). A run registers few values
# (datasets and artifacts), so each stays small; all of it is released when the run ends
# (:func:`end_run`).
_lock = threading.Lock()


def _of(run_id: str) -> RunUses:
    """The registries of run ``run_id`` (made on first use; call with ``_lock`` held)."""
    uses = STATE.uses.get(run_id)
    if uses is None:
        uses = STATE.uses[run_id] = RunUses()
    return uses


def register(run_id: str, item: Item, source: Source) -> None:
    """Remember that run ``run_id`` recorded the value with lineage ``item`` as ``source``."""
    with _lock:
        _of(run_id).registry[item.hash] = source


def registered_any(run_id: str) -> bool:
    """Whether run ``run_id`` has registered data computed from a traced value."""
    with _lock:
        uses = STATE.uses.get(run_id)
        return uses is not None and bool(uses.registry)


def leaf_hash(item: Item) -> str | None:
    """The content hash a data leaf is identified by (a file's bytes, a frame's fingerprint)."""
    node = Literals(item.literals).field("hash")
    return node[1] if isinstance(node, tuple) and node[0] == "s" else None


def register_fits(run_id: str, model: Any, fits: list[Item], digest: str,
                  source: Source | None = None) -> None:
    """Remember that run ``run_id`` saved ``model`` as ``digest`` holding ``fits`` (as ``source``
    when it is a dataset version, else as the artifact with each fit's lineage)."""
    try:
        ref: Any = weakref.ref(model)
    except TypeError:  # (an object without weak references: never told apart as a component)
        ref = None
    with _lock:
        own = _of(run_id)
        for fit in fits:
            own.registry[fit.hash] = source or Source(digest, fit.hash)
        if ref is not None:
            own.models[digest] = ref


def part_of_saved(run_id: str, model: Any, fits: Iterable[Item]) -> frozenset[str]:
    """The fit items of ``model`` that another model saved in run ``run_id`` holds as a part: every
    fit of the model (``uses_of``: a Pipeline lists each step's, a ``fit_transform``'s output 0 is
    its fit) was registered by one saved model that is not among ``model``'s own components (a
    search saved before its ``best_estimator_``: the refit is the search's). That saved model is
    then no source of this one. A component saved on its own (a fitted PCA, then a Pipeline built
    from it) stays a source: empty then."""
    fits = list(fits)
    mine = {f.hash for f in fits}
    with _lock:
        uses = STATE.uses.get(run_id)
        registry = dict(uses.registry) if uses is not None else {}
        models = dict(uses.models) if uses is not None else {}
    holders = {registry[h].artifact_hash if h in registry else None for h in mine}
    if not fits or len(holders) != 1 or None in holders:
        return frozenset()
    ref = models.get(next(iter(holders)) or "")
    holder = ref() if ref is not None else None
    if holder is None or holder is model or any(holder is part for part in _components(model)):
        return frozenset()
    own = set(mine)
    own |= {f.inputs[0].hash for f in fits
            if f.opcode == OUTPUT and f.inputs and f.inputs[0].opcode == FIT_TRANSFORM}
    return frozenset(own)


def _components(model: Any) -> list[Any]:
    """The estimators ``model`` is built from (scikit-learn's deep parameters: a Pipeline's steps)."""
    try:
        return list(model.get_params(deep=True).values())
    except Exception:  # noqa: BLE001 - any get_params: no components known
        return []


def data_sources(store: Store, run_id: str, roots: Iterable[Item], *, output: str | None = None,
                 exclude: frozenset[str] = frozenset(), used: bool = False) -> list[Source]:
    """The registered data nearest to ``roots`` along their lineage, each once, in walk order.

    The walk stops at data the run ``run_id`` registered (a dataset or an artifact recorded from a
    traced value) and at leaves, which map to their dataset version by content hash; it never
    enters a fit (what a model was trained on is not the data it is applied to), but a model the run
    saved is the source of its predictions. Leaves that are not
    stored (a constant, an array never saved) are no sources. ``roots`` themselves are not looked up
    (they are the value whose sources are asked for) unless they are data ``used`` by a model: the
    split registered as ``train`` that a model is fitted on is its source, not the frame it was cut
    from (a newcomer's fit and evaluate edges skipped the registered splits, and ``testuse`` missed
    the test split). Nor is registered data with the same bytes as
    ``output`` (a no-op such as ``dropna`` on data without nulls): the walk goes on below it; nor
    are the ``exclude`` items (a model's own fits that another artifact holds whole,
    :func:`part_of_saved`: a search saved before its best estimator).
    """
    roots = list(roots)
    own = set() if used else {id(r) for r in roots}
    uses = STATE.uses.get(run_id)
    registry = uses.registry if uses is not None else {}
    registered = {h: s for h, s in registry.items() if s.artifact_hash != output and h not in exclude}

    def follow(item: Item) -> tuple[Item, ...]:
        if id(item) not in own and item.hash in registered:
            return ()
        if item.opcode == FIT:
            return ()
        if item.opcode in METHOD_OPCODES:  # input 0 is the fit: a source only as a saved model
            return item.inputs if item.inputs[0].hash in registered else item.inputs[1:]
        return item.inputs

    found: list[Source] = []
    leaves: list[str] = []
    for item in walk(roots, inputs=follow):
        if id(item) not in own and item.hash in registered:
            found.append(registered[item.hash])
        elif not item.inputs and (digest := leaf_hash(item)) is not None:
            leaves.append(digest)
    found.extend(_leaf_sources(store, leaves, run_id))
    return [s for s in {s.artifact_hash: s for s in found}.values() if s.artifact_hash != output]


def explained_by_lineage(store: Store, run_id: str, roots: Iterable[Item]) -> bool:
    """Whether the lineage of ``roots`` accounts for every value it was computed from: it applies no
    model (a prediction, a transform) and each of its data leaves is registered data (a dataset
    version, a stored array) or a constant built by recipe (``np.ones``). Then nothing the run read
    without lineage (a model it loaded) can be in the value, but through literals (a number taken
    from the model: not seen). ``False`` when a leaf is a plain array nobody stored (a loaded
    model's plain predictions wrapped again): where it came from is unknown."""
    uses = STATE.uses.get(run_id)
    registry = uses.registry if uses is not None else {}
    roots = list(roots)
    own = {id(r) for r in roots}

    def follow(item: Item) -> tuple[Item, ...]:
        if id(item) not in own and item.hash in registry:
            return ()
        return item.inputs

    leaves: list[str] = []
    for item in walk(roots, inputs=follow):
        if item.opcode in METHOD_OPCODES or _data_in_literal(item.literals):
            return False
        if item.inputs or (id(item) not in own and item.hash in registry):
            continue
        extra = getattr(item, "extra", None)
        if extra and "recipe" in extra:
            continue
        digest = leaf_hash(item)
        if digest is None:
            return False
        leaves.append(digest)
    unique = list(dict.fromkeys(leaves))
    return all(_leaf_sources(store, [digest], run_id) for digest in unique)


_NUMBERS = frozenset({"i", "f", "g", "b"})  # literal tags of numbers (int, float, NumPy scalar, bool)
DATA_IN_LITERAL = 5  # numbers in one literal list from which it may hold data, not a setting


def _data_in_literal(node: Any, depth: int = 0) -> bool:
    """Whether a literal holds a list of at least :data:`DATA_IN_LITERAL` numbers: positions or
    values taken from data (``rows.iloc[np.flatnonzero(pred == 1).tolist()]``, ``isin([...])``),
    which may come from anything the run read (a reviewer's rows picked by a loaded model's
    predictions lost the model from their lineage). Column names and settings are no such list."""
    if not isinstance(node, tuple) or len(node) != 2 or depth > 16:
        return False
    tag, payload = node
    if tag in ("L", "T") and isinstance(payload, tuple):
        numbers = sum(1 for n in payload if isinstance(n, tuple) and n and n[0] in _NUMBERS)
        return numbers >= DATA_IN_LITERAL or any(_data_in_literal(n, depth + 1) for n in payload)
    if tag == "D" and isinstance(payload, tuple):
        return any(isinstance(kv, tuple) and len(kv) == 2 and _data_in_literal(kv[1], depth + 1)
                   for kv in payload)
    return False


def _leaf_sources(store: Store, leaves: list[str], run_id: str) -> list[Source]:
    if not leaves:
        return []
    context = ContextStore(store.metadata)
    candidates = context.all_versions_by_hash(leaves)
    # A value stored in a data format (an .npy array) is found by its lineage identity.
    stored = store.metadata.artifacts_by_content([h for h in leaves if h not in candidates])
    sources = []
    run_project: str | None = None  # read once, and only for bytes held in several projects
    read: set[int] = set()
    for digest in dict.fromkeys(leaves):
        rows = candidates.get(digest, [])
        if len(rows) > 1:
            # The same bytes can be a version of several datasets: the one the run read (it asked
            # for wine's raw@1 by its project, and its own project keeps a byte copy), else its own
            # project's (a reviewer found another project's run counted by `tried`/`history -p`).
            if run_project is None:
                run_project = context.run_projects([run_id])[run_id]
                read = context.touched_versions([run_id])[run_id]
            rows = ([r for r in rows if r.id in read] or [r for r in rows if r.project == run_project]
                    or rows)
        version = rows[-1] if rows else None
        if version is not None:
            sources.append(Source(version.artifact_hash, None, version.id, version.role, version.ref))
        elif digest in stored:
            sources.append(Source(stored[digest]))
        elif store.metadata.artifact_info(digest) is not None:  # a file (or an older raw array)
            sources.append(Source(digest))
    return sources


# -- uses: fits, evaluations and metrics ------------------------------------------------------------

def record_use(run: Any, use: str, items: Iterable[Item]) -> list[Source]:
    """Record that ``run`` read the registered data behind ``items`` to ``use`` (``"fit"`` or
    ``"evaluate"``): an access with the dataset's role; a test set is checked against the budget."""
    with _lock:
        own = _of(run.id)
    items = [i for i in items if (use, i.hash) not in own.walked]
    if not items:  # a search fits and predicts on the same folds many times: walk each once
        return []
    own.walked.update((use, i.hash) for i in items)
    sources = [s for s in data_sources(run.store, run.id, items, used=True) if s.version_id is not None]
    context = ContextStore(run.store.metadata)
    for source in sources:
        version_id = source.version_id
        if version_id is None:  # (never: sources without a version were left out above)
            continue
        key = (use, version_id)
        if key in own.recorded:
            continue
        own.recorded.add(key)
        with _lock:
            own.pending.pop(version_id, None)
        context.record_access(run.id, source.artifact_hash, role=source.role, user=run.user,
                              version_id=version_id)
        if source.role == "test":
            _check_once(own, context, source)
    return sources


def defer_test_read(run: Any, source: Source, budget: int | None = None) -> None:
    """A test version registered or read as plain data in ``run``: warn now if one more evaluation
    would pass the budget; count it when the run finishes (:func:`settle_test_reads`) unless a traced
    evaluation counted it first."""
    assert source.version_id is not None
    context = ContextStore(run.store.metadata)
    with _lock:
        own = _of(run.id)
    _check_once(own, context, source, budget, run=run)
    with _lock:
        if not any((use, source.version_id) in own.recorded for use in ("fit", "evaluate")):
            own.pending[source.version_id] = source


def note_made(run_id: str, artifact_hash: str) -> None:
    """Run ``run_id`` derived the output ``artifact_hash`` with traced lineage: a source of the plain
    outputs it makes later (a batch it cut and registered, then scored untraced)."""
    with _lock:
        _of(run_id).made[artifact_hash] = None


def made_by(run_id: str) -> list[str]:
    """The outputs :func:`note_made` noted for run ``run_id``, in order."""
    with _lock:
        own = STATE.uses.get(run_id)
        return [] if own is None else list(own.made)


def pending_reads(run_id: str) -> list[str]:
    """The artifact hashes of the test versions run ``run_id`` read as plain data and has not counted
    yet (:func:`defer_test_read`): they are read already, so outputs made after them come from them
    too (their access is recorded only when the run ends). A test split the run made itself is not
    one of them (its outputs do not come from it: an audit of test-set use would read it as leakage)."""
    with _lock:
        own = STATE.uses.get(run_id)
        return [] if own is None else [s.artifact_hash for v, s in own.pending.items()
                                       if v not in own.made_tests]


def note_plain_use(run: Any, items: Iterable[Item]) -> None:
    """Traced values of ``run`` were taken out of lineage (``np.asarray``, ``to_pandas()``): a test split
    the run registered that they came from may now be evaluated by code mlcontext cannot see (a plain
    model), so it counts as evaluated if the run finishes, as a test set read as plain data does."""
    with _lock:
        own = STATE.uses.get(run.id)
        if own is None or not any(s.role == "test" for s in own.registry.values()):
            return  # (the common case, cheaply: the run registered no test split from traced data)
        items = [i for i in items if ("plain", i.hash) not in own.walked]
        own.walked.update(("plain", i.hash) for i in items)
    if not items:
        return
    for source in data_sources(run.store, run.id, items, used=True):
        if source.role != "test" or source.version_id is None:
            continue
        with _lock:
            counted = any((use, source.version_id) in own.recorded for use in ("fit", "evaluate"))
            if not counted and source.version_id not in own.pending:
                own.made_tests.add(source.version_id)
        if not counted:
            defer_test_read(run, source)


def _check_once(own: Any, context: ContextStore, source: Source, budget: int | None = None, *,
                run: Any = None) -> None:
    """:func:`check_test_budget` for the test version ``source``, warning a run once about it (not at
    its read and again at its evaluation)."""
    version_id = source.version_id
    assert version_id is not None
    if version_id not in own.warned and check_test_budget(
            context, version_id, source.ref or source.artifact_hash[:12], budget, run=run):
        own.warned.add(version_id)


def settle_test_reads(run: Any, finished: bool) -> None:
    """The run ends: a finished run counts the test versions it read as plain data as evaluated; a
    failed or killed one does not (it may have crashed before it evaluated anything), but its read is
    recorded without the role, so that the run is still among the version's readers (a newcomer
    found the crashed run's read gone from ``show`` and ``impact``)."""
    with _lock:
        own = STATE.uses.get(run.id)
        pending, own_recorded = ({}, set()) if own is None else (own.pending, own.recorded)
        if own is not None:
            own.pending = {}
    if not pending:
        return
    context = ContextStore(run.store.metadata)
    made = own.made_tests if own is not None else set()
    for version_id, source in pending.items():
        key = ("evaluate", version_id)
        if key not in own_recorded and (finished or version_id not in made):  # (no read of its own split)
            own_recorded.add(key)
            context.record_access(run.id, source.artifact_hash, role=source.role if finished else None,
                                  user=run.user, version_id=source.version_id)


def end_run(run: Any, finished: bool) -> None:
    """The run ends: settle its test reads (:func:`settle_test_reads`), then release everything this
    module kept for it (nothing outlives the run: a long process runs many)."""
    try:
        settle_test_reads(run, finished)
    finally:
        with _lock:
            STATE.uses.pop(run.id, None)


def note_metric(run: Any, value: Any) -> None:
    """A metric logged as a traced value: the registered data it was computed from was evaluated."""
    item = getattr(value, "lineage", None)
    if isinstance(item, Item):
        record_use(run, "evaluate", [item])


def _on_use(use: str, estimator: Any, items: tuple[Item, ...]) -> None:
    from .run import active_run  # run.py imports this module's importers

    run = active_run()
    if run is None:
        return
    if use == "plain":
        note_plain_use(run, items)
    else:
        record_use(run, use, items)


def install() -> None:
    """Listen to the estimators' fits and evaluations (called once when tracking is imported)."""
    set_use_hook(_on_use)


# -- the test-set budget ----------------------------------------------------------------------------

def test_budget() -> int:
    """How many runs may evaluate one test version before each further evaluation warns
    (``MLCONTEXT_TEST_BUDGET``, default 10).

    Raises
    ------
    ConfigError
        The variable is not a whole number of runs (0 or more).
    """
    raw = os.environ.get("MLCONTEXT_TEST_BUDGET", "").strip()
    if not raw:
        return 10
    try:
        budget = int(raw)
    except ValueError:
        budget = -1
    if budget < 0:
        raise ConfigError(f"MLCONTEXT_TEST_BUDGET={raw!r} is not a whole number of runs (0 or more); "
                          "unset it for the default (10)")
    return budget


test_budget.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def check_test_budget(context: ContextStore, version_id: int, ref: str, budget: int | None = None, *,
                      run: Any = None) -> bool:
    """Warn when more runs than ``budget`` evaluated the test version ``version_id`` (counting ``run``,
    which is about to evaluate it, when given); whether it warned."""
    budget = test_budget() if budget is None else budget
    reads = context.accesses(version_id=version_id, role="test")
    before = {r[0] for r in reads}
    runs = before | ({run.id} if run is not None else set())
    users = {r[1] for r in reads} | ({run.user} if run is not None else set())
    if len(runs) > budget:
        # Said before this run's evaluation is counted: a run that then fails is not counted
        # (``testuse`` would say one run fewer than "has been evaluated in" did).
        count = (f": this run makes {len(runs)} runs that evaluate it ({len(before)} before it),"
                 if len(runs) > len(before) else f" has been evaluated in {len(runs)} runs")
        warnings.warn(
            f"test set {ref}{count} by {len(users)} {'person' if len(users) == 1 else 'people'} "
            f"(budget {budget}): model selection on it overfits the test set; use a validation split, "
            "or a fresh test set (`mlcontext testuse` lists the evaluations)",
            TestSetOveruseWarning, stacklevel=_caller_level())
        return True
    return False


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside mlcontext and scikit-learn (the user's line)."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith(("mlcontext", "sklearn")):
        frame, level = frame.f_back, level + 1
    return level

"""Shared fixtures.

Store fixtures run every test twice: on SQLite (always) and on a real PostgreSQL when
``MLCONTEXT_TEST_POSTGRES`` holds its URL (``make test`` starts one with ``scripts/postgres.sh``). Under
CI (``MLCONTEXT_REQUIRE_POSTGRES=1``) a missing PostgreSQL fails the tests instead of skipping them.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import git_helpers
import mlcontext as mc
from mlcontext.store import Store

POSTGRES_URL = os.environ.get("MLCONTEXT_TEST_POSTGRES", "")

# The reuse cache's signing key of this test session (inherited by the processes tests start, which
# are the same writer), never the user's own ~/.config/mlcontext/writer.key.
os.environ.setdefault("MLCONTEXT_KEY_FILE", os.path.join(tempfile.mkdtemp(prefix="mc-key-"), "writer.key"))
REQUIRE_POSTGRES = os.environ.get("MLCONTEXT_REQUIRE_POSTGRES") == "1"

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture
def git_isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """git isolated from the machine's configuration, with an author (see ``git_helpers``)."""
    git_helpers.isolate(monkeypatch)


@pytest.fixture(autouse=True)
def fresh_process_state() -> Iterator[None]:
    """Every test starts from the process state a fresh process has (docs/state.md, "The runtime and
    its lifetime"): the runtime resets every layer's state object (no run left active, no store set,
    an empty reuse cache with the default settings, plain strict/dedup switches, no per-run
    registries) and wires the layers again as they were."""
    mc._reset_state()
    yield


def postgres_schema_url() -> Iterator[str]:
    """A URL whose connections use a fresh, empty PostgreSQL schema, dropped afterwards."""
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("PostgreSQL is required (MLCONTEXT_REQUIRE_POSTGRES=1) but "
                        "MLCONTEXT_TEST_POSTGRES is empty; run scripts/postgres.sh")
        pytest.skip("no PostgreSQL: set MLCONTEXT_TEST_POSTGRES or run `make test`")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = sa.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def metadata_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The URL of an empty metadata store on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mlcontext.db'}"
    else:
        yield from postgres_schema_url()


@pytest.fixture
def fresh_postgres_database() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("PostgreSQL is required (MLCONTEXT_REQUIRE_POSTGRES=1)")
        pytest.skip("no PostgreSQL: set MLCONTEXT_TEST_POSTGRES or run `make test`")
    name = f"mc_race_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_metadata_url(request, tmp_path) -> Iterator[str]:
    """The URL of a new, empty store on each backend: a SQLite file, or a new PostgreSQL *database*
    (not a schema: races of schema creation happen in the catalogue of a database)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        yield request.getfixturevalue("fresh_postgres_database")


def _as_default(opened: Store) -> Iterator[Store]:
    """Make ``opened`` the default store; afterwards end a run left open and close the store."""
    mc.set_store(opened)
    try:
        yield opened
    finally:
        current = mc.active_run()
        if current is not None:
            current.end()
        mc.set_store(None)
        opened.close()


@pytest.fixture
def store(metadata_url: str, tmp_path) -> Iterator[Store]:
    """An empty store (metadata on each backend, artifacts in a temporary folder), set as default."""
    yield from _as_default(Store.open(metadata_url=metadata_url, artifacts_url=str(tmp_path / "artifacts")))


@pytest.fixture
def sqlite_store(tmp_path) -> Iterator[Store]:
    """An embedded store in a temporary folder, set as the default."""
    yield from _as_default(Store.open(home=tmp_path / "home"))


DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture
def run_doc() -> Callable[[str, int], list[str]]:
    """``run_doc("reuse.md", at_least)``: run the page's ``python`` blocks in order in one namespace
    (a page reads as one session); return the blocks."""

    def run(name: str, at_least: int) -> list[str]:
        path = DOCS / name
        blocks = re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)
        assert len(blocks) >= at_least, f"{name}: expected at least {at_least} examples"
        namespace: dict = {}
        for block in blocks:
            exec(compile(block, str(path), "exec"), namespace)  # noqa: S102 - our own documentation
        return blocks

    return run

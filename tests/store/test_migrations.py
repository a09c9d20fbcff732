"""Schema versions: migrations agree with the models; old schemas name `mlcontext db upgrade`."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

from mlcontext.cli import cli
from mlcontext.errors import SchemaOutdatedError
from mlcontext.store import MetadataStore
from mlcontext.store.engine import make_engine
from mlcontext.store.migrate import current_revision, head_revision, upgrade
from mlcontext.store.schema import Base


def test_migrations_from_empty_give_exactly_the_models(metadata_url):
    engine = make_engine(metadata_url)
    upgrade(engine)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert differences == []


def test_a_schema_from_a_newer_mlcontext_says_so(metadata_url):
    engine = make_engine(metadata_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'zz99'"))
    with pytest.raises(SchemaOutdatedError, match="written by a newer mlcontext"):
        MetadataStore(metadata_url, engine=engine)
    engine.dispose()


def test_tables_without_revision_are_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with pytest.raises(SchemaOutdatedError, match="mlcontext db upgrade"):
        MetadataStore(url, engine=engine)
    engine.dispose()


def test_db_upgrade_command_and_current(tmp_path, monkeypatch):
    monkeypatch.setenv("MLCONTEXT_HOME", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"-> {head_revision()}" in result.output
    engine = make_engine(f"sqlite:///{tmp_path / 'mlcontext.db'}")
    assert current_revision(engine) == head_revision()
    engine.dispose()
    result = runner.invoke(cli, ["db", "current"])
    assert f"schema {head_revision()} (expected {head_revision()})" in result.output


def test_an_old_schema_names_the_upgrade_command_and_upgrade_keeps_the_data(metadata_url):
    engine = make_engine(metadata_url)
    upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO projects (name, created_at) VALUES ('old', 0)"))
    with pytest.raises(SchemaOutdatedError, match=r"revision 0001.*run `mlcontext db upgrade`"):
        MetadataStore(metadata_url, engine=engine)
    assert upgrade(engine) == ("0001", head_revision())
    store = MetadataStore(metadata_url, engine=engine)
    assert store.projects() == ["old"]
    engine.dispose()


def test_cache_entries_from_before_writers_are_kept_and_never_trusted(metadata_url, tmp_path):
    """0003 -> 0004: old entries keep their rows with no writer; no reader trusts an unsigned row."""
    from mlcontext.store import ArtifactStore, Store
    from mlcontext.store import cache_index as index
    from mlcontext.tracking.persistent_cache import StoreTier

    engine = make_engine(metadata_url)
    upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO artifacts (hash, size, kind, created_at, meta) "
                             "VALUES (:h, 3, 'cache', 0, '{}')"), {"h": "ab" * 16})
        conn.execute(sa.text("INSERT INTO cache_entries VALUES (:k, :h, 1.0, 3, 2, 0.5, 0, NULL)"),
                     {"k": "cd" * 16, "h": "ab" * 16})
    upgrade(engine)
    store = Store(MetadataStore(metadata_url, engine=engine), ArtifactStore(tmp_path / "a"))
    assert index.all_keys(store.metadata) == {"cd" * 16}
    (row,) = index.get_entries(store.metadata, "cd" * 16, [""])
    assert (row.writer, row.signature, row.hits) == ("", "", 2)
    tier = StoreTier(store)
    assert tier.keys() == set() and tier.get("cd" * 16) is None
    # and back down: one row per lineage hash again
    from alembic import command

    from mlcontext.store import migrate

    with engine.begin() as conn:
        command.downgrade(migrate._config(conn), "0003")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT lineage_hash, hits FROM cache_entries")).all() == [("cd" * 16, 2)]
    engine.dispose()


def test_the_head_constant_is_the_newest_migration():
    from alembic.script import ScriptDirectory

    from mlcontext.store.migrate import HEAD_REVISION, _config

    assert ScriptDirectory.from_config(_config()).get_current_head() == HEAD_REVISION


def test_a_store_stamped_without_alembic_reads_as_alembic_stamps_it(metadata_url):
    """New stores are stamped by hand (no Alembic import in a process that only logs): Alembic must
    read that stamp as its own, and upgrade must find nothing to do."""
    store = MetadataStore(metadata_url)
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()
    assert upgrade(store.engine) == (head_revision(), head_revision())
    store.close()

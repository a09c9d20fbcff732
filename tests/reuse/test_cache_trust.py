"""Issue 13 item 4: the shared reuse cache trusts only entries of writers the reader trusts.

A store writer could point the lineage hash of ``X.T @ X`` at other valid bytes and every reader got
them. Entries are now signed by their writer; a reader uses its own entries and those of the team keys
it was given, and only when the signature verifies. Peers with the kind: vercel/turborepo#12302
(remote cache poisoning: unsigned artifacts under a task hash are trusted by default),
kunobi-ninja/kache#179 (content verification alone does not pin a key's bytes: sign the
key -> artifact binding with Ed25519 and trust a list of keys), marimo-team/marimo#10123 (cache
entries signed with the user's Ed25519 key; an invalid signature is a miss).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

import mlcontext as mc
from mlcontext.errors import ConfigError
from mlcontext.fingerprint import persistent_key
from mlcontext.reuse import get_cache
from mlcontext.reuse.persistent import encode_value
from mlcontext.store import cache_index as index
from mlcontext.store.identity import load_writer_key, parse_trust
from mlcontext.tracking.persistent_cache import StoreTier, writer_key

XN = np.random.default_rng(13).normal(size=(300, 12))


def _persist(tier: StoreTier, persist: bool = True):
    return mc.reuse(persist=persist, tier=tier, min_compute_s=0.0, persist_min_s=0.0, disk_bytes_per_s=1e18)


def _gram_key(tier: StoreTier) -> tuple[str, np.ndarray]:
    """The lineage hash of X.T @ X and its true value (persisted by ``tier``)."""
    with _persist(tier), mc.reuse_events() as events:
        value = np.asarray(mc.array(XN).T @ mc.array(XN)).copy()
    (key,) = {persistent_key(bytes.fromhex(e.key)) for e in events if e.name == "numpy.matmul"}
    return key, value


def _again(tier: StoreTier, persist: bool = False) -> tuple[np.ndarray, list[str]]:
    """X.T @ X in a 'new process': memory empty, the tier's keys read afresh (written to when
    ``persist``)."""
    mc.reuse_clear()
    with _persist(tier, persist):
        get_cache().refresh_tier()
        with mc.reuse_events() as events:
            value = np.asarray(mc.array(XN).T @ mc.array(XN)).copy()
    return value, [e.kind for e in events if e.name == "numpy.matmul"]


@pytest.fixture
def mallory(tmp_path):
    return load_writer_key("mallory", tmp_path / "mallory.key")


def test_an_entry_of_an_untrusted_writer_is_never_reused(store, mallory) -> None:
    me = StoreTier(store)
    key, truth = _gram_key(me)
    index.delete_entry(store.metadata, key)  # only the attacker's entry is left
    StoreTier(store, key=mallory).put(key, encode_value(np.zeros_like(truth)), 1.0, truth.nbytes)
    assert index.all_keys(store.metadata) == {key}  # the attack is there ...
    value, kinds = _again(me)
    assert kinds == ["computed"] and np.array_equal(value, truth)  # ... and not taken
    # Trusting Mallory's key (a teammate) does reuse the entry: the filter is what protected us.
    value, kinds = _again(StoreTier(store, trust={"mallory": mallory.public}))
    assert kinds == ["reused"] and not value.any()


def test_a_row_claiming_to_be_mine_without_my_signature_is_not_reused(store, mallory) -> None:
    me = StoreTier(store)
    key, truth = _gram_key(me)
    other = store.artifacts.put(encode_value(np.zeros_like(truth)))
    with store.metadata.write() as conn:  # someone with write access to the database edits my row
        conn.execute(sa.text("INSERT INTO artifacts (hash, size, kind, created_at, meta) "
                             "VALUES (:h, 1, 'cache', 0, '{}')"), {"h": other})
        conn.execute(sa.text("UPDATE cache_entries SET artifact_hash = :h WHERE lineage_hash = :k"),
                     {"h": other, "k": key})
    value, kinds = _again(me)
    assert kinds == ["computed"] and np.array_equal(value, truth)
    # A row with my name and key but Mallory's signature is refused the same way.
    with store.metadata.write() as conn:
        conn.execute(sa.text("UPDATE cache_entries SET signature = :s"),
                     {"s": mallory.sign(b"anything")})
    assert _again(me)[1] == ["computed"]


def test_a_teammate_entry_is_reused_only_with_their_key_in_the_trust_list(store, tmp_path, monkeypatch):
    bob = load_writer_key("bob", tmp_path / "bob.key")
    key, truth = _gram_key(StoreTier(store, key=bob))
    assert _again(StoreTier(store))[1] == ["computed"]  # not trusted by default
    monkeypatch.setenv("MLCONTEXT_TRUST", bob.label)
    value, kinds = _again(StoreTier(store))
    assert kinds == ["reused"] and np.array_equal(value, truth)
    # A key named "bob" that is not Bob's does not make his entries trusted.
    assert _again(StoreTier(store, trust={"bob": load_writer_key("x", tmp_path / "x.key").public}))[1] \
        == ["computed"]


def test_each_writer_keeps_its_own_entry_for_a_lineage_hash(store, mallory) -> None:
    """Someone who wrote first cannot block my entry (the old primary key was the lineage hash)."""
    key, truth = _gram_key(StoreTier(store, key=mallory))
    me = StoreTier(store)
    assert _again(me, persist=True)[1] == ["computed"]  # computed here, and persisted as my own entry
    writers = {e.writer for e in index.get_entries(store.metadata, key, [mallory.public, me.key.public])}
    assert writers == {"mallory", me.key.name}
    assert _again(me)[1] == ["reused"]


def test_trust_lists_are_checked(tmp_path) -> None:
    key = load_writer_key("alice", tmp_path / "a.key")
    assert parse_trust(f"{key.label}, bob:{'ab' * 32}") == {key.public: "alice", "ab" * 32: "bob"}
    assert parse_trust({"alice": key.public}) == {key.public: "alice"}
    for bad in ["alice", "alice:123", f":{key.public}", ["bob:" + "zz" * 32]]:
        with pytest.raises(ConfigError, match="name:<64 hex"):
            parse_trust(bad)


def test_the_key_is_created_once_and_private(tmp_path) -> None:
    path = tmp_path / "k" / "writer.key"
    first, second = load_writer_key("a", path), load_writer_key("a", path)
    assert first.public == second.public
    assert path.stat().st_mode & 0o077 == 0
    path.write_text("not a key")
    with pytest.raises(ConfigError, match="MLCONTEXT_KEY_FILE"):
        load_writer_key("a", path)


def test_whoami_prints_the_label_teammates_trust(store) -> None:
    from mlcontext.cli import cli

    result = CliRunner().invoke(cli, ["cache", "--whoami"])
    assert result.exit_code == 0, result.output
    assert parse_trust(result.output.strip()) == {writer_key().public: writer_key().name}
    summary = json.loads(CliRunner().invoke(cli, ["cache", "--json"]).output)
    assert summary["entries"] == 0

"""Error messages say what is wrong and what would help (a newcomer's findings on a shared store).

Each test is one message that was misleading: advice that could not help (``pass trusted=True`` when it
was passed), a wrong diagnosis (a missing class called corruption), the library's internal name for the
user's column, advice more drastic than needed, 400 digits quoted back, a silently accepted
world-readable signing key, a silently ignored option. Peers of the kind: tconbeer/sqlfmt #692 (a
pickle naming a module that is gone reported as if the environment were broken) and pypa/pip #5098 (a
misleading ImportError from unpickling a cache entry).
"""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import mlcontext as mc
from mlcontext.cli import cli
from mlcontext.errors import (
    ArtifactCorruptedError,
    ConfigError,
    DataFormatError,
    LineageError,
    MLContextWarning,
    ParamError,
    UntrustedArtifactError,
)
from mlcontext.store.identity import load_writer_key
from mlcontext.tracking.formats import decode, encode, encode_frame

# (a) advice that cannot help ------------------------------------------------------------------

class _Marker:
    def __reduce__(self):
        return (print, ("unpickled",))


def test_a_torch_file_labelled_weights_only_does_not_advise_trusted_when_trusted(capsys) -> None:
    torch = pytest.importorskip("torch")
    buffer = io.BytesIO()
    torch.save({"w": torch.zeros(2), "x": _Marker()}, buffer)
    with pytest.raises(UntrustedArtifactError) as raised:
        decode(buffer.getvalue(), "torch", {"weights_only": True}, trusted=True)
    message = str(raised.value)
    assert "pass trusted=True" not in message
    assert "trusted=True does not change" in message and "state_dict" in message
    assert "unpickled" not in capsys.readouterr().out


def test_a_function_leaf_refused_under_trusted_says_to_pass_it_in(tmp_path) -> None:
    """trusted=True only reuses functions traced in this process: a log written by another process
    names a function this one never saw, so the advice is inputs=, not trusted=True."""
    script = textwrap.dedent("""
        import pandas as pd, mlcontext as mc
        def speed(row):
            return row.x / row.y
        t = mc.frame(pd.DataFrame({"x": [1.0, 2.0], "y": [2.0, 4.0]}), name="df")
        import sys; sys.stdout.write(mc.lineage.dumps(t.apply(speed, axis=1)))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": [2.0, 4.0]})
    with pytest.raises(LineageError) as raised:
        mc.recompute(proc.stdout, inputs={"df": frame}, trusted=True)
    message = str(raised.value)
    assert "not traced in this process" in message and "inputs=" in message
    assert "or trusted=True" not in message
    with pytest.raises(LineageError, match="or trusted=True"):  # untrusted: trusted=True is an option
        mc.recompute(proc.stdout, inputs={"df": frame})


# (g) no raw torch warning ---------------------------------------------------------------------------

def test_a_pickle_labelled_as_torch_weights_raises_without_torchs_protocol_warning(recwarn) -> None:
    """A plain pickle (protocol 5) labelled as torch weights: torch's unpickler warned "Detected pickle
    protocol 5 ..." before refusing it; the refusal is ours, with no raw UserWarning."""
    pytest.importorskip("torch")
    data = pickle.dumps({"w": [1.0, 2.0], "x": _Marker()}, protocol=5)
    with pytest.raises((UntrustedArtifactError, ArtifactCorruptedError)):
        decode(data, "torch", {"weights_only": True}, trusted=False)
    leaked = [w for w in recwarn if "pickle protocol" in str(w.message)]
    assert leaked == []


# (b) a class that cannot be imported is not corruption -----------------------------------------

def test_a_pickle_of_a_class_the_reader_lacks_names_the_module(tmp_path) -> None:
    module = tmp_path / "writers_module_xyz.py"
    module.write_text("class Thing:\n    pass\n")
    script = ("import sys, pickle; sys.path.insert(0, sys.argv[1]); import writers_module_xyz as w; "
              "sys.stdout.buffer.write(pickle.dumps(w.Thing()))")
    data = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, check=True,
                          timeout=60).stdout
    with pytest.raises(DataFormatError) as raised:
        decode(data, "pickle", {"class": "writers_module_xyz.Thing"}, trusted=True)
    assert not isinstance(raised.value, ArtifactCorruptedError)
    assert "'writers_module_xyz'" in str(raised.value) and "install or import" in str(raised.value)
    # A class defined in the writer's script (__main__) that this process lacks:
    data = pickle_of_main_class(tmp_path)
    with pytest.raises(DataFormatError, match="__main__"):
        decode(data, "pickle", {"class": "__main__.Gone"}, trusted=True)


def pickle_of_main_class(tmp_path: Path) -> bytes:
    script = ("import sys, pickle\nclass Gone:\n    pass\nsys.stdout.buffer.write(pickle.dumps(Gone()))\n")
    return subprocess.run([sys.executable, "-c", script], capture_output=True, check=True, timeout=60).stdout


# (c) the user's column, not c0 ----------------------------------------------------------------

def test_an_arrow_refusal_names_the_users_column() -> None:
    frame = pd.DataFrame({"z": [1.0, 2.0, 3.0], "a": [1, "x", 2.5]})
    with pytest.raises(DataFormatError) as raised:
        encode_frame(frame)
    message = str(raised.value)
    assert "'a'" in message and "c1" not in message and "c0" not in message


# (d) corruption: storing the same content again repairs it ------------------------------------

def test_the_corruption_message_says_storing_again_repairs(sqlite_store) -> None:
    digest = sqlite_store.artifacts.put(b"original bytes")
    path = Path(sqlite_store.artifacts.path(digest))
    path.chmod(0o644)
    path.write_bytes(b"damaged bytes!")
    with pytest.raises(ArtifactCorruptedError) as raised:
        sqlite_store.artifacts.get(digest)
    assert "storing the same content again repairs it" in str(raised.value)
    assert "delete it" not in str(raised.value)
    sqlite_store.artifacts.put(b"original bytes")  # what the message says works
    assert sqlite_store.artifacts.get(digest) == b"original bytes"


# (e), (h) key files -----------------------------------------------------------------------------

def test_a_malformed_key_file_says_so_and_how_to_regenerate(tmp_path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("not hex\n")
    bad.chmod(0o600)
    with pytest.raises(ConfigError) as raised:
        load_writer_key("me", bad)
    message = str(raised.value)
    assert "malformed" in message and "delete the file" in message
    assert "a file you can write" not in message


def test_a_key_file_others_can_read_is_warned_about(tmp_path) -> None:
    loose = tmp_path / "loose.key"
    load_writer_key("me", loose)  # created with mode 0600: no warning
    loose.chmod(0o644)
    with pytest.warns(MLContextWarning, match="chmod 600"):
        load_writer_key("me", loose)


# (f) 10**400 is not quoted in full ---------------------------------------------------------------

def test_a_huge_metric_is_abbreviated_in_the_error(sqlite_store) -> None:
    with mc.run("big", project="messages"):
        with pytest.raises(ParamError) as raised:
            mc.log("big", 10**400)
        with pytest.raises(ParamError) as not_a_number:
            mc.log("text", "x" * 5000)
    assert "0000000000" not in str(raised.value) and "401 digits" in str(raised.value)
    assert len(str(not_a_number.value)) < 300


# (i) options that cannot go together ------------------------------------------------------------

def test_cache_whoami_with_clear_is_refused(sqlite_store, monkeypatch) -> None:
    monkeypatch.setenv("MLCONTEXT_STORE", sqlite_store.metadata.url)
    monkeypatch.setenv("MLCONTEXT_ARTIFACTS", sqlite_store.artifacts.url)
    result = CliRunner().invoke(cli, ["cache", "--whoami", "--clear"])
    assert result.exit_code != 0 and "one at a time" in result.output
    assert CliRunner().invoke(cli, ["cache", "--whoami"]).exit_code == 0


def test_a_pickled_artifact_round_trip_still_works() -> None:
    """The narrowed except clauses leave ordinary pickles alone."""
    encoded = encode({1, 2, 3})
    assert decode(encoded.data, encoded.format, encoded.meta, trusted=True) == {1, 2, 3}


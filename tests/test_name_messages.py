"""A refused name's message lists only characters that name may hold (a newcomer was told ':' was
allowed in a run name, then refused for it; and that names are made of "letters", then refused 'é')."""

from __future__ import annotations

import pytest

from mlcontext.errors import InvalidNameError
from mlcontext.names import check_name


@pytest.mark.parametrize("what, refused", [("run", ":"), ("dataset", ":@"), ("metric", "")])
def test_the_message_lists_what_this_kind_of_name_takes(what, refused):
    with pytest.raises(InvalidNameError, match="ASCII letters") as caught:
        check_name("entraînement-été", what)
    listed = str(caught.value).split("spaces and ")[1].split(",")[0]
    for char in refused:
        assert char not in listed
    for char in listed.strip("'"):  # everything listed is taken
        assert check_name(f"a{char}b", what) == f"a{char}b"

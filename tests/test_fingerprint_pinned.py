"""The fingerprint scheme is versioned (issue 12 point 7): the digests of a table of values are pinned.

A library upgrade (NumPy, pandas, pyarrow: :mod:`mlcontext.fingerprint` reads pandas' private
layouts) or a change in this code that changes any digest fails here instead of silently
invalidating, or worse aliasing, every persistent cache entry. When it fails on purpose: bump
``SCHEME_VERSION`` and re-pin (``python tests/test_fingerprint_pinned.py`` prints the table).
"""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from mlcontext.fingerprint import SCHEME_VERSION, hash_value, persistent_key

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from fingerprint_table import values  # noqa: E402

PLAIN = {
    "none": "c2651e49f0f2e8bd3447097fe07bf6f2",
    "true": "d0893945311f00e0804af6bfe71f7cc3",
    "int": "7a048325cbc3649af5baf46f8cc4795f",
    "neg_int": "71d27f31df33ff7da12ed47a3b400446",
    "float": "454b27df7bc01098a210fa30031144d9",
    "nan": "9fc4ac7e22ca06df4fd3613eb4f8cd31",
    "neg_zero": "a51368d38ded768320db9afee24cd7fa",
    "inf": "2da0041d555d2ee1e10d2cb2fc224175",
    "complex": "81d426789f82a567410989cebff15b0a",
    "str": "305962c85244664c136534b482004a53",
    "bytes": "b0eaa8ecd7e0fe3c6eb87685e4d81a47",
    "tuple": "ba8df30242650e27d65a94c0572d17dd",
    "list": "1d2aeed28cc451fc19b984b6aa83b850",
    "dict": "61ff726b45fb7bc54f18e0a6764bacf5",
    "set": "76e4fb16711a0ac57c35dbd658f35ddc",
    "slice": "907f400ac27b3dbea7182fc50c61bcae",
    "ellipsis": "c4010bca4e224aa2f0e70b7504ffc245",
    "type": "2febecf793d000955f7feba7ce217275",
    "date": "db373defc2da72e8ecc0b871dd380cbf",
    "datetime": "98b93f555f3f6883b82dae07118ffe03",
    "datetime_utc": "6c6ac54fd52e3bcd1cab940cf7870757",
    "time": "a0d19be62facbe5b99db9185359f1723",
    "timedelta": "5a1eb862f3f37532a7a0c68e368cb56c",
    "decimal": "c70c4b9e4e12cafc6bf9fb7dbb9f7122",
    "uuid": "d2a0fdb81b5600e97ac122bfffec62d5",
    "np_f8": "f974c3749397a12b58ffb37e54af2c0d",
    "np_f8_fortran": "567c53b41cc9f5e7c0288f3012eba70c",
    "np_f8_strided": "7935ba070abb57f3659430f709c71c86",
    "np_i4_big": "14281aab29dc797c9d08a60bfe7ba625",
    "np_bool": "de85bd5dabe9cb93b6f6e0e161c78e03",
    "np_M8": "5da8545de9aeb2210a248d6d0d12d86e",
    "np_m8": "ff2f6a8f618977c2a29730a6c1bf8c68",
    "np_U": "c77a5eaa43c4029b4f232af593d1bc01",
    "np_S": "15e9748d8d0a931653cea628b6ac98f8",
    "np_record": "cd5a03382f9a89e2f8b8ad6b5d46e6af",
    "np_object": "9532f05a05c76c702a39cb895ca9e973",
    "np_object_str": "a59dbf9e41ffc7ba639d580b2879bfb4",
    "np_empty": "2cf0d7712263943f5759b4aafed20754",
    "np_scalar_f4": "51d67e5ff219cef6197fe5df9b52376e",
    "np_dtype_record": "0f3ba56c85b37f29e1ec982e80f6234d",
}

# pandas' own layouts change between major versions (string columns are Arrow-backed in pandas 3):
# one table per major version.
PANDAS = {"3": {
    "frame": "b172e22c46282d0f363be61206c67500",
    "frame_nullable": "70c4ef9250803f970a99840672a20dcb",
    "frame_category": "8d871c9823874160ec7dc54bde25ce55",
    "frame_tz": "8db2852a8ebc2a6a792cb7c731975e5b",
    "index_with_freq": "53f32d4c20f318dadadad58be850e129",
    "frame_objects": "bdcd1e9a1465c1fad79b19b03a7a47e8",
    "frame_multi": "c8c8ddfa16b4b66ab1614b4dd7669d58",
    "series": "af4b6bac3aa408504e06c80c580a1c37",
    "index_range": "5223d993eb646281a3a2838151051173",
    "timestamp_ns": "13145395bc0e2c85a0fd13454a63c765",
    "timestamp_tz": "694ea288cc1a9ebb905606b0a733430a",
    "nat": "78a9a3b9c2cd88d312abe72c35babed4",
    "na": "ddc0aace77769457825e7685781510e1",
    "timedelta_pd": "0da1f7a8e6e223dad75f5a8376bc4897",
    "period": "e90c1c3dade80145d3650edb2cc8e288",
    "interval": "506c92a76131a9461f21b1cf825e2c33",
}}


def test_scheme_version_is_part_of_persistent_keys() -> None:
    assert SCHEME_VERSION == 6
    assert persistent_key(bytes(range(16))) == "f6.000102030405060708090a0b0c0d0e0f"


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_plain_digests_are_pinned(name: str) -> None:
    assert hash_value(values()[name]) == PLAIN[name], f"{name}: digest changed; bump SCHEME_VERSION"


@pytest.mark.parametrize("name", sorted(PANDAS["3"]))
def test_pandas_digests_are_pinned(name: str) -> None:
    table = PANDAS.get(pd.__version__.split(".")[0])
    if table is None:
        pytest.skip(f"no pinned digests for pandas {pd.__version__}: add a table for its major version")
    assert hash_value(values()[name]) == table[name], f"{name}: digest changed; bump SCHEME_VERSION"


def test_the_table_covers_every_value() -> None:
    assert set(values()) == set(PLAIN) | set(PANDAS["3"])


if __name__ == "__main__":
    for key, value in values().items():
        print(f'    "{key}": "{hash_value(value)}",')

"""The 128-bit hash of one lineage node, from its opcode, its inputs' hashes and its literals alone.

Kept apart from :mod:`.item` so that dedup patches (:mod:`.patch`) hash their template nodes with the
very same function: a deduplicated item then has the hash of the lineage it stands for, by construction.
"""

from __future__ import annotations

from collections.abc import Sequence

import xxhash

from .literals import Node, dumps_literal

__all__ = ["node_digest", "DIGEST_SIZE"]

DIGEST_SIZE = 16
_digest = xxhash.xxh3_128_digest


# Literal trees recur (``x + 1.0`` in a loop): their JSON is kept. Trees compare exactly as keys
# (zeros and NaN are strings in them, see ``literals.float_node``), so equal keys mean equal text.
_TEXT: dict[Node, bytes] = {}
_TEXT_MAX = 50_000


def node_digest(opcode: str, input_digests: Sequence[bytes], literals: Node) -> bytes:
    """Hash ``(opcode, inputs, literals)``; input count and fixed-size digests keep parts apart."""
    head = b"%s\x00%d\x00" % (opcode.encode(), len(input_digests))
    try:
        text = _TEXT.get(literals)
    except TypeError:  # an unhashable tree (lists from a hand-made log): not kept
        text = None
        literals_key = None
    else:
        literals_key = literals
    if text is None:
        text = dumps_literal(literals).encode()
        if literals_key is not None and len(text) <= 1024:  # (an index list of 20k ints is not kept)
            if len(_TEXT) >= _TEXT_MAX:
                _TEXT.clear()
            _TEXT[literals_key] = text
    return _digest(head + b"".join(input_digests) + b"\x00" + text)

"""The 128-bit hash of one lineage node, from its opcode, its inputs' hashes and its literals alone.

Kept apart from :mod:`.item` so that dedup patches (:mod:`.patch`) hash their template nodes with
the
very same function: a deduplicated item then has the hash of the lineage it stands for, by
construction.
"""

from __future__ import annotations

from collections.abc import Sequence

import xxhash

from .literals import Node, dumps_literal

__all__ = ["node_digest", "DIGEST_SIZE"]

DIGEST_SIZE = 16
_digest = xxhash.xxh3_128_digest


def node_digest(opcode: str, input_digests: Sequence[bytes], literals: Node) -> bytes:
    """Hash ``(opcode, inputs, literals)``; input count and fixed-size digests keep parts apart."""
    head = b"%s\x00%d\x00" % (opcode.encode(), len(input_digests))
    return _digest(head + b"".join(input_digests) + b"\x00" + dumps_literal(literals).encode())

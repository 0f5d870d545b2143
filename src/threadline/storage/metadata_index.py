"""SQLite's stand-in for a GIN index: hashed (path, typed value) terms of each metadata leaf.

A containment filter ``{"a": {"b": 1}, "tags": ["x"]}`` matches only rows that hold every
leaf term of the filter; the exact containment test then runs on those candidates. Arrays
contribute their elements under the path ``...[]``, so array-subset filters use the index too.
Rows with more leaves than :data:`MAX_TERMS` are marked with :data:`OVERFLOW` and always checked.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from typing import Any

MAX_TERMS = 256


def _hash(text: str) -> int:
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    value: int = struct.unpack(">q", digest)[0]
    return value


OVERFLOW = _hash("\x00overflow")


def _scalar(value: Any) -> str:
    if value is None:
        return "z"
    if isinstance(value, bool):
        return "b1" if value else "b0"
    if isinstance(value, int | float):
        return "n" + repr(float(value))
    return "s" + str(value)


def exact_leaf(value: Any) -> bool:
    """Whether holding ``value``'s term means holding ``value``: numbers hash through a float,
    so an integer beyond 2^53 shares its term with the neighbours that round to the same float
    (Discord or Twitter ids, say); a filter on one must check the JSON itself."""
    return not (isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53)


def _leaves(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, path + "\x1f." + str(key).replace("\x1f", "\x1f\x1f"))
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, path + "\x1f[]")
    else:
        yield path + "\x1e" + _scalar(value)


def row_terms(metadata: dict[str, Any]) -> list[int]:
    """Terms to store for a row's metadata (deduplicated)."""
    terms: set[int] = set()
    for leaf in _leaves(metadata, ""):
        terms.add(_hash(leaf))
        if len(terms) > MAX_TERMS:
            return [OVERFLOW]
    return sorted(terms)


def filter_terms(containment: dict[str, Any]) -> list[int]:
    """Terms that every row containing ``containment`` must hold (may be empty)."""
    return sorted({_hash(leaf) for leaf in _leaves(containment, "")})

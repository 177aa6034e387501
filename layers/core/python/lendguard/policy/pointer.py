"""JSON Pointer (RFC 6901): how the HTTP adapter maps a vendor's JSON onto a typed response."""

from __future__ import annotations

import re
from typing import Any

_ESCAPE = re.compile(r"~(?![01])")
_INDEX = re.compile(r"^(0|[1-9][0-9]*)$")


class PointerError(ValueError):
    """A pointer that is not valid RFC 6901 syntax."""


class PointerNotFound(LookupError):
    """A valid pointer that names nothing in this document."""


def parse_pointer(pointer: str) -> list[str]:
    """The reference tokens of ``pointer``; ``""`` is the whole document."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PointerError(f"JSON pointer {pointer!r} must be empty or start with '/'")
    if _ESCAPE.search(pointer):
        raise PointerError(f"JSON pointer {pointer!r}: '~' must be followed by 0 or 1")
    # RFC 6901 section 4: decode ~1 before ~0, so "~01" becomes "~1" and not "/".
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]


def resolve_pointer(document: Any, pointer: str) -> Any:
    """The value ``pointer`` names in ``document``, or :class:`PointerNotFound`."""
    node = document
    for token in parse_pointer(pointer):
        if isinstance(node, dict):
            if token not in node:
                raise PointerNotFound(f"{pointer}: no member {token!r}")
            node = node[token]
        elif isinstance(node, list):
            # "-" (past the end) and leading zeros never name an existing element.
            if not _INDEX.match(token) or int(token) >= len(node):
                raise PointerNotFound(f"{pointer}: no element {token!r} in an array of {len(node)}")
            node = node[int(token)]
        else:
            raise PointerNotFound(f"{pointer}: {token!r} is below a {type(node).__name__}, not an object")
    return node

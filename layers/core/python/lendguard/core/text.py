"""Text a user sends: names and free text without invisible or direction-changing characters,
identifiers in ASCII digits.

Control characters (NUL, ESC, ...), bidirectional overrides and isolates (U+202A-202E,
U+2066-2069) and zero-width characters (U+200B-200D, U+2060, U+FEFF) make a name look like
another on a reviewer's screen or break the terminals and logs it is shown in, so they are
refused, never silently stripped. Messages say which kind of character and where, never the
text itself (it may be personal data).
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

# Unicode general categories refused anywhere: controls, format characters (which include the
# bidi controls and zero-width characters), surrogates, and line / paragraph separators.
_REFUSED_CATEGORIES = {"Cc": "a control character", "Cf": "an invisible formatting character "
                       "(bidi override or zero-width)", "Cs": "a surrogate", "Zl": "a line separator",
                       "Zp": "a paragraph separator"}  # fmt: skip
_FREE_TEXT_CONTROLS = frozenset("\n\t")  # a note may have lines and tabs; a name may not


def _check(value: str, allowed: frozenset[str]) -> str:
    for position, char in enumerate(value, start=1):
        if char in allowed:
            continue
        what = _REFUSED_CATEGORIES.get(unicodedata.category(char))
        if what is not None:
            raise ValueError(f"must not contain {what} (U+{ord(char):04X} at character {position})")
    return value


def single_line(value: str) -> str:
    """A name or a label: no control, bidi-override or zero-width character."""
    return _check(value, frozenset())


def free_text(value: str) -> str:
    """A note or a reason: as :func:`single_line`, but newlines and tabs are allowed."""
    return _check(value, _FREE_TEXT_CONTROLS)


SafeName = Annotated[str, AfterValidator(single_line)]
SafeText = Annotated[str, AfterValidator(free_text)]


def nfkc(value: str) -> str:
    """NFKC normal form: full-width digits and letters typed on CJK input methods become ASCII."""
    return unicodedata.normalize("NFKC", value)


def is_ascii_digits(value: str) -> bool:
    """Only the digits 0-9 (``str.isdigit`` also accepts the digits of other scripts)."""
    return value.isascii() and value.isdigit()

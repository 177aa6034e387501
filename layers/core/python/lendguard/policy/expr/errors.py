"""Errors of the expression language: compile errors and evaluation type errors."""

from __future__ import annotations

from typing import Any


class ExpressionError(ValueError):
    """An expression that cannot be compiled; the message says what is wrong and at which column.

    ``column`` is 1-based (``None`` when the problem has no position), ``source`` the expression text.
    """

    def __init__(
        self, message: str, *, column: int | None = None, source: str | None = None, hint: str | None = None
    ) -> None:
        self.message = message
        self.column = column
        self.source = source
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        text = self.message
        if self.column is not None:
            text += f" at column {self.column}"
        if self.hint:
            text += f"; {self.hint}"
        return text


_NO_ROW = object()


class ExpressionTypeError(ExpressionError):
    """A value of the wrong type met an operator while evaluating (``1 and true``, ``"a" < 1``).

    ``row`` is the index label of the offending row when a frame was evaluated.
    """

    def __init__(
        self, message: str, *, column: int | None = None, source: str | None = None, row: Any = _NO_ROW
    ) -> None:
        self.row = None if row is _NO_ROW else row
        self._has_row = row is not _NO_ROW
        super().__init__(message, column=column, source=source)

    def _render(self) -> str:
        text = self.message
        if self.column is not None:
            text += f" at column {self.column}"
        if self.source is not None:
            text += f" in {self.source!r}"
        if self._has_row:
            text += f" (row {self.row!r})"
        return text

"""A module imported on first use: keeps heavy services out of a handler's import.

The API function registers every route at import (the route table in ``http/access.py`` stays
the single source), but each route's services (case service, lifecycle, loan book, lists) are
imported only when a request first reaches them, or by the warm-up in SnapStart's
before-snapshot hook. ``service = lazy_module("lendguard.cases.service")`` reads like the plain
import at every use (``service.decide(...)``); the real module is looked up in ``sys.modules``
on each attribute read, so tests that patch the real module are seen.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module ``name`` until an attribute is read, then imports it (once)."""

    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}{'' if self._module is None else ' (loaded)'}>"


def lazy_module(name: str) -> Any:
    """A stand-in for ``import name`` whose import happens at the first attribute read."""
    return LazyModule(name)

"""Pydantic models built from values already known to be valid, without validating them again.

The decision's hot path builds its states, trace entries, reasons, schedules and offers from
values it computed itself (or that were validated on the way in); validating them again only
costs. :func:`trusted` assembles what ``model_construct`` would, cheaper (it resolves defaults
once per class), so dumping, equality and a later validation behave exactly as for a validated
instance. Pydantic stays at the boundaries: events and requests are parsed and validated there.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)
_new_model = object.__new__
_set = object.__setattr__
_FILLERS: dict[type[BaseModel], tuple[tuple[str, Callable[[], Any] | None, Any], ...]] = {}


def _fillers(cls: type[BaseModel]) -> tuple[tuple[str, Callable[[], Any] | None, Any], ...]:
    """Per field of ``cls``, in order: its name, its default factory (or None) and its default."""
    spec = _FILLERS.get(cls)
    if spec is None:
        spec = _FILLERS[cls] = tuple(
            (name, info.default_factory, info.default)  # type: ignore[misc]
            for name, info in cls.model_fields.items()
        )
    return spec


def trusted(cls: type[M], **given: Any) -> M:
    """An instance of ``cls`` from values known to be valid: what ``model_construct`` makes.

    The same ``__dict__`` (defaults filled, mutable ones fresh, in field order), fields-set (the
    names given) and (absent) extras and private attributes. For models without private
    attributes or extras (the decision state's).
    """
    fields: dict[str, Any] = {}
    for name, factory, default in _fillers(cls):
        if name in given:
            fields[name] = given[name]
        elif factory is not None:
            fields[name] = factory()  # type: ignore[call-arg]
        elif isinstance(default, list | dict | set):
            fields[name] = copy.deepcopy(default)
        else:
            fields[name] = default
    obj = _new_model(cls)
    _set(obj, "__dict__", fields)
    _set(obj, "__pydantic_fields_set__", set(given))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj

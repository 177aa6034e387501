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
_Spec = tuple[tuple[str, Callable[[], Any] | None, Any], ...]
_FILLERS: dict[type[BaseModel], tuple[list[str], _Spec]] = {}


def _fillers(cls: type[BaseModel]) -> tuple[list[str], _Spec]:
    """The field names of ``cls`` in order, and per field its default factory (or None) and default."""
    found = _FILLERS.get(cls)
    if found is None:
        spec = tuple(
            (name, _plain(info.default_factory), info.default)  # type: ignore[misc]
            for name, info in cls.model_fields.items()
        )
        found = _FILLERS[cls] = ([name for name, _, _ in spec], spec)
    return found


def _plain(factory: Any) -> Any:
    """A default factory that is itself a model with nothing to check (``Trace``) is built trusted."""
    if isinstance(factory, type) and issubclass(factory, BaseModel):
        decorators = factory.__pydantic_decorators__
        if not (decorators.model_validators or decorators.field_validators or decorators.validators):
            return lambda: trusted(factory)
    return factory


def trusted(cls: type[M], **given: Any) -> M:
    """An instance of ``cls`` from values known to be valid: what ``model_construct`` makes.

    The same ``__dict__`` (defaults filled, mutable ones fresh, in field order), fields-set (the
    names given) and (absent) extras and private attributes. For models without private
    attributes or extras (the decision state's).
    """
    names, spec = _fillers(cls)
    # Field order matters: the serialiser writes a model's ``__dict__`` in its order.
    if len(given) == len(names) and list(given) == names:  # all of them, in order
        return _assemble(cls, given, set(given))
    fields: dict[str, Any] = {}
    for name, factory, default in spec:
        if name in given:
            fields[name] = given[name]
        elif factory is not None:
            fields[name] = factory()  # type: ignore[call-arg]
        elif isinstance(default, list | dict | set):
            fields[name] = copy.deepcopy(default)
        else:
            fields[name] = default
    return _assemble(cls, fields, set(given))


def _assemble(cls: type[M], fields: dict[str, Any], fields_set: set[str]) -> M:
    obj = _new_model(cls)
    _set(obj, "__dict__", fields)
    _set(obj, "__pydantic_fields_set__", fields_set)
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj

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
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)
_new_model = object.__new__
_set = object.__setattr__


class _Fields(NamedTuple):
    """How to fill a model's ``__dict__``: its field names in order, the fixed defaults (in that
    order, holding a placeholder where a fresh value is made per instance) and those makers."""

    names: list[str]
    defaults: dict[str, Any]
    fresh: tuple[tuple[str, Callable[[], Any]], ...]


_FIELDS: dict[type[BaseModel], _Fields] = {}


def _fields(cls: type[BaseModel]) -> _Fields:
    found = _FIELDS.get(cls)
    if found is None:
        defaults: dict[str, Any] = {}
        fresh: list[tuple[str, Callable[[], Any]]] = []
        for name, info in cls.model_fields.items():
            defaults[name] = info.default
            if info.default_factory is not None:
                fresh.append((name, _plain(info.default_factory)))  # type: ignore[arg-type]
            elif isinstance(info.default, list | dict | set):
                fresh.append((name, lambda value=info.default: copy.deepcopy(value)))
        found = _FIELDS[cls] = _Fields(list(defaults), defaults, tuple(fresh))
    return found


def _plain(factory: Callable[[], Any]) -> Callable[[], Any]:
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
    spec = _fields(cls)
    # Field order matters: the serialiser writes a model's ``__dict__`` in its order.
    if len(given) == len(spec.names) and list(given) == spec.names:  # all of them, in order
        return _assemble(cls, given, set(given))
    fields = spec.defaults.copy()
    fields.update(given)  # existing keys: the order stays the fields'
    for name, make in spec.fresh:
        if name not in given:
            fields[name] = make()
    return _assemble(cls, fields, set(given))


def _assemble(cls: type[M], fields: dict[str, Any], fields_set: set[str]) -> M:
    obj = _new_model(cls)
    _set(obj, "__dict__", fields)
    _set(obj, "__pydantic_fields_set__", fields_set)
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj

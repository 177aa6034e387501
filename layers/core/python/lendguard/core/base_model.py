"""The project's pydantic base: every model's validator and serializer are built on first use.

Building a model's core schema is most of what importing a module of models costs (about half of
what an online handler adds to the boto3 + Powertools floor). Deferred, a handler's import only
declares its models; :func:`build_models` builds every model the container has imported, and the
warm-up (``lendguard.decision.warmup``: SnapStart's before-snapshot hook or the first invocation)
calls it, so no request pays for it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """``pydantic.BaseModel`` with ``defer_build``: subclasses set their own config as usual."""

    model_config = ConfigDict(defer_build=True)


def _subclasses(cls: type[Model]) -> list[type[Model]]:
    found, todo = [], list(cls.__subclasses__())
    while todo:
        sub = todo.pop()
        found.append(sub)
        todo.extend(sub.__subclasses__())
    return found


def build_models() -> int:
    """Build the validator and serializer of every imported model not built yet; how many were."""
    built = 0
    for model in _subclasses(Model):
        if not model.__pydantic_complete__ and "[" not in model.__name__:
            model.model_rebuild()
            built += 1
    return built

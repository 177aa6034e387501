"""Imports of the runtime package point down only: shared types below what uses them.

The layers, lowest first. A module may import modules of its own layer or below; nothing in
the runtime package imports ``lendguard.offline`` (which never ships to Lambda).
"""

from __future__ import annotations

import ast
from pathlib import Path

import lendguard

PACKAGE = Path(lendguard.__file__).resolve().parent

LAYERS: list[tuple[str, ...]] = [
    ("lendguard", "lendguard.deployment", "lendguard.settings", "lendguard.core"),
    ("lendguard.models",),
    ("lendguard.decision.state",),
    ("lendguard.policy",),
    ("lendguard.vendors", "lendguard.lists", "lendguard.outcomes", "lendguard.book", "lendguard.internal"),
    # The batch run's shared types (messages, errors, dates, S3 layout): the store's batch
    # tables and objects use them.
    ("lendguard.batch.model", "lendguard.batch.errors", "lendguard.batch.dates", "lendguard.batch.layout"),
    (
        "lendguard.decision.stages",
        "lendguard.decision.offer",
        "lendguard.decision.pipeline",
        "lendguard.decision.telemetry",
    ),
    ("lendguard.cases.record", "lendguard.cases.review", "lendguard.cases.response", "lendguard.cases"),
    ("lendguard.store",),
    (
        "lendguard.cases.service",
        "lendguard.cases.appeal",
        "lendguard.cases.privacy",
        "lendguard.lifecycle",
        "lendguard.decision.wiring",
        "lendguard.decision.handlers",
        "lendguard.cases.service",
        "lendguard.decision",
    ),
    # The daily monitor reads case records through the store; nothing online imports it.
    ("lendguard.monitoring", "lendguard.internal.job"),
    # Batch runs over the loan book (planner, shard, summary): above the store and the handlers.
    ("lendguard.batch",),
    ("lendguard.http",),
]
# Below the decision stages but above the layering's reach of "may import": these never use stage code.
NO_STAGES = ("lendguard.policy", "lendguard.vendors", "lendguard.store", "lendguard.cases", "lendguard.lists")


def layer_of(module: str) -> int:
    best, level = "", -1
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            # "lendguard" alone is the package's __init__, not everything below it.
            below = prefix != "lendguard" and module.startswith(prefix + ".")
            if (module == prefix or below) and len(prefix) > len(best):
                best, level = prefix, i
    assert level >= 0, f"{module} is in no layer: add it to LAYERS"
    return level


def runtime_modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[1:2] == ("offline",):
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports_of(path: Path) -> set[str]:
    """Every lendguard module imported anywhere in the file (function-local imports too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.startswith("lendguard")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lendguard"):
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names if a.name.islower()}
    return names


def test_every_runtime_module_imports_only_its_layer_or_below():
    modules = runtime_modules()
    problems = []
    for name, path in sorted(modules.items()):
        mine = layer_of(name)
        for imported in sorted(imports_of(path)):
            target = imported if imported in modules else imported.rsplit(".", 1)[0]
            if target.startswith("lendguard.offline"):
                problems.append(f"{name} imports {imported} (offline code never ships to Lambda)")
            elif target in modules and layer_of(target) > mine:
                problems.append(f"{name} (layer {mine}) imports {imported} (layer {layer_of(target)})")
            elif name.startswith(NO_STAGES) and target.startswith("lendguard.decision.stages"):
                problems.append(f"{name} imports stage code {imported}")
    assert not problems, "\n".join(problems)


def test_the_check_sees_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from lendguard.store import cases\n")
    assert "lendguard.store.cases" in imports_of(bad)
    assert layer_of("lendguard.store.cases") > layer_of("lendguard.policy.loader")

"""Where the project's own files are: the ASL, the function folders, policies and examples.

Only offline code (the CLI, the local runtime, the CDK app, tests and benchmarks) reads these
files; the runtime package never computes repository paths, because in Lambda it lives in
``/opt/python`` and from a wheel in ``site-packages``, with no repository around it.

The root is ``LENDGUARD_PROJECT_ROOT`` if set, else the nearest folder above the working
directory that holds ``statemachines/decision.asl.json`` and ``functions/``, else (an editable
install) the checkout this file belongs to.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from lendguard import deployment

ROOT_ENV = "LENDGUARD_PROJECT_ROOT"


def _is_root(path: Path) -> bool:
    return (path / "statemachines" / "decision.asl.json").is_file() and (path / "functions").is_dir()


@cache
def project_root() -> Path:
    """The lendguard checkout; fails with a clear message outside one."""
    explicit = os.environ.get(ROOT_ENV)
    if explicit:
        root = Path(explicit).resolve()
        if not _is_root(root):
            raise FileNotFoundError(f"{ROOT_ENV}={explicit} is not a lendguard checkout")
        return root
    for start in (Path.cwd().resolve(), Path(__file__).resolve().parent):
        for candidate in (start, *start.parents):
            if _is_root(candidate):
                return candidate
    raise FileNotFoundError(
        f"no lendguard checkout found above {Path.cwd()}: run from the repository or set {ROOT_ENV}"
    )


def statemachines_dir() -> Path:
    return project_root() / "statemachines"


def functions_dir() -> Path:
    return project_root() / "functions"


def policies_dir() -> Path:
    return project_root() / "policies"


def examples_dir() -> Path:
    return project_root() / "examples"


def default_policy_path() -> Path:
    return policies_dir() / "default.yaml"


def function_dir(spec: deployment.FunctionSpec) -> Path:
    """The folder CDK packages as the function's code asset."""
    return functions_dir() / spec.name


def definition_path(spec: deployment.StateMachineSpec) -> Path:
    return statemachines_dir() / spec.file


def render_definition(spec: deployment.StateMachineSpec, substitutions: dict[str, str]) -> str:
    """Return the ASL text of ``spec`` with every ``${Key}`` replaced from ``substitutions``.

    The CDK stack passes the same keys as ``definition_substitutions``; this function is the
    local runtime's equivalent and fails if a key is left unresolved.
    """
    text = definition_path(spec).read_text()
    for key, value in substitutions.items():
        text = text.replace("${" + key + "}", value)
    if "${" in text:
        start = text.index("${")
        raise ValueError(f"{spec.file}: unresolved substitution {text[start : text.index('}', start) + 1]}")
    return text

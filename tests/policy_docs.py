"""Versions of the default policy for lifecycle tests: the same document with one parameter moved."""

from __future__ import annotations

from typing import Any

import yaml

from lendguard.offline.project import default_policy_path

DEFAULT = default_policy_path()


def admission_param(name: str) -> Any:
    """The default policy's value of the admission parameter ``name``."""
    doc = yaml.safe_load(DEFAULT.read_text())
    return next(r["params"][name] for r in doc["admission"] if name in r.get("params", {}))


def variant(version: int, **admission_params: Any) -> str:
    """The default policy as version ``version``, with admission parameters changed."""
    doc = yaml.safe_load(DEFAULT.read_text())
    doc["version"] = version
    for rule in doc["admission"]:
        for key, value in admission_params.items():
            if key in rule.get("params", {}):
                rule["params"][key] = value
    return yaml.safe_dump(doc, sort_keys=False)


def stricter(version: int) -> str:
    """The default policy as ``version`` with its minimum income raised by 500."""
    return variant(version, min_income=admission_param("min_income") + 500)

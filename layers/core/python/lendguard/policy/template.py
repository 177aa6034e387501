"""Request templates of the HTTP adapter: JSON with ``${path}`` placeholders.

A placeholder that is a whole string keeps the type of the value it names (a number stays a
number); one inside a longer string is interpolated as text. Paths start at ``application``
(the validated application, identifiers in clear: a bureau needs them) or ``subject`` (the
keyed hashes). Templates are checked when the policy loads, so a typo fails the load.
"""

from __future__ import annotations

import re
from typing import Any

PLACEHOLDER = re.compile(r"\$\{([^{}]*)\}")
_PATH = re.compile(r"^(application|subject)(\.[A-Za-z_][A-Za-z0-9_]*)+$")
ROOTS = ("application", "subject")


class TemplateError(ValueError):
    """A template that cannot be rendered: bad placeholder syntax, or a path absent at run time."""


def _strings(template: Any) -> list[str]:
    if isinstance(template, str):
        return [template]
    if isinstance(template, dict):
        return [s for value in template.values() for s in _strings(value)]
    if isinstance(template, list):
        return [s for value in template for s in _strings(value)]
    return []


def placeholders(template: Any) -> list[str]:
    """Every placeholder path in a template (nested objects and arrays included)."""
    return [m.group(1) for text in _strings(template) for m in PLACEHOLDER.finditer(text)]


def check_template(template: Any) -> list[str]:
    """Problems with a template's placeholders, each naming the placeholder."""
    problems = []
    for text in _strings(template):
        for match in PLACEHOLDER.finditer(text):
            if not _PATH.match(match.group(1)):
                problems.append(
                    f"placeholder {match.group(0)} must be a dotted path starting with one of {list(ROOTS)}"
                )
        if "${" in PLACEHOLDER.sub("", text):
            problems.append(f"unterminated placeholder in {text!r}")
    return problems


def _lookup(context: dict[str, Any], path: str) -> Any:
    node: Any = context
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise TemplateError(f"placeholder ${{{path}}}: '{part}' is not in the request context")
        node = node[part]
    return node


def render(template: Any, context: dict[str, Any]) -> Any:
    """The template with every placeholder replaced from ``context``."""
    if isinstance(template, str):
        whole = PLACEHOLDER.fullmatch(template)
        if whole:
            return _lookup(context, whole.group(1))
        return PLACEHOLDER.sub(lambda m: str(_lookup(context, m.group(1))), template)
    if isinstance(template, dict):
        return {key: render(value, context) for key, value in template.items()}
    if isinstance(template, list):
        return [render(value, context) for value in template]
    return template

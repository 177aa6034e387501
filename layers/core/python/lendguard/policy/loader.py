"""Load a policy from YAML and check it, with errors that name the rule and what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from lendguard.core.errors import PolicyError
from lendguard.core.facts import (
    APPLICATION_FACTS,
    CUSTOMER_FACTS,
    INTERNAL_FACTS,
    LIST_FACTS,
    SCORE_FACTS,
    FactType,
    vendor_facts,
)
from lendguard.core.stages import STAGES, Provides
from lendguard.policy.book_checks import book_rule_problems
from lendguard.policy.schema import Policy, Rule, VendorGroup


def load_policy_text(text: str, source: str = "<policy>") -> Policy:
    """Parse and validate a policy document."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: must be a mapping at the top level")
    return load_policy_data(data, source)


def load_policy(path: str | Path) -> Policy:
    """Load a policy file."""
    path = Path(path)
    return load_policy_text(path.read_text(), str(path))


def load_policy_data(data: dict[str, Any], source: str = "<policy>") -> Policy:
    """Validate a parsed policy and check every rule only reads facts its stage has."""
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(f"{source}: " + _describe(exc, data)) from None
    problems = check_fact_availability(policy)
    if not problems:  # types are checked against facts that exist where the rule runs
        problems = check_types(policy)
    problems += book_rule_problems(policy)
    if problems:
        raise PolicyError(f"{source}: " + "; ".join(problems))
    return policy


def _describe(exc: ValidationError, data: dict[str, Any]) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        where = ".".join(str(p) for p in loc)
        rule_id = _rule_id_at(data, loc)
        if rule_id:
            where += f" (rule {rule_id})"
        msg = err["msg"].removeprefix("Value error, ").removeprefix(f"rule {rule_id}: ")
        parts.append(f"{where}: {'unknown field' if err['type'] == 'extra_forbidden' else msg}")
    return "; ".join(parts)


def _rule_id_at(data: Any, loc: list[Any]) -> str | None:
    node = data
    found = None
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and isinstance(node.get("id"), str) and "expression" in node:
            found = node["id"]
    return found


def stage_facts(policy: Policy) -> list[tuple[str, list[Rule], dict[str, FactType]]]:
    """Each rule section in flow order (from the stage registry), with the facts known when it runs.

    Sections are named as in the trace's ``stage`` labels' policy form: ``admission``, ``lists``,
    ``internal_data``, ``vendor_groups.<group id>``, ``post_model``.
    """
    available: dict[str, FactType] = {}
    sections: list[tuple[str, list[Rule], dict[str, FactType]]] = []
    for stage in STAGES:
        if stage.provides is Provides.APPLICATION:
            available |= APPLICATION_FACTS
        elif stage.provides is Provides.LISTS:
            available |= LIST_FACTS
        elif stage.provides is Provides.INTERNAL:
            available |= INTERNAL_FACTS | CUSTOMER_FACTS
        elif stage.provides is Provides.FEATURES:
            # Features are computed in order; a feature may read the ones before it.
            available |= {feature.fact: FactType.NUMBER for feature in policy.features}
        elif stage.provides is Provides.SCORE:
            available |= SCORE_FACTS
        for section in stage.sections:
            if section == "vendor_groups":
                _add_groups(policy, policy.groups_before_model, available, sections)
            else:
                sections.append((section, getattr(policy, section), dict(available)))
            if section == "post_model":
                # The Decision stage calls the after_model groups once the cut-offs leave an offer.
                _add_groups(policy, policy.groups_after_model, available, sections)
    return sections


def _add_groups(
    policy: Policy,
    groups: list[VendorGroup],
    available: dict[str, FactType],
    sections: list[tuple[str, list[Rule], dict[str, FactType]]],
) -> None:
    for group in groups:
        for vendor_id in group.vendors:
            vendor = policy.vendor_by_id[vendor_id]
            available |= vendor_facts(vendor.id, vendor.service)
        sections.append((f"vendor_groups.{group.id}", group.rules, dict(available)))


def _post_model_facts(
    sections: list[tuple[str, list[Rule], dict[str, FactType]]],
) -> dict[str, FactType]:
    # What the features (and the score) may read: everything known before the after_model groups.
    return next(facts for name, _, facts in sections if name == "post_model")


def check_types(policy: Policy) -> list[str]:
    """What would fail at run time: type errors in rules and features (against the typed fact
    catalogue, as available at each section), and vendor groups too slow for the flow's limits."""
    from lendguard.policy.typecheck import BOOL, NUM, expression_problems, worst_case_problems

    problems = []
    sections = stage_facts(policy)
    for stage, rules, available in sections:
        for rule in rules:
            for p in expression_problems(rule.compiled, available, BOOL):
                problems.append(f"rule {rule.id} in {stage}: {p.message} at column {p.column}")
    feature_facts = _post_model_facts(sections)
    for feature in policy.features:
        for p in expression_problems(feature.compiled, feature_facts, NUM):
            problems.append(f"feature {feature.name}: {p.message} at column {p.column}")
    return problems + worst_case_problems(policy)


def check_fact_availability(policy: Policy) -> list[str]:
    """Problems where a rule or feature reads a fact not yet known at its stage (or at all)."""
    problems = []
    for stage, rules, available in stage_facts(policy):
        for rule in rules:
            for fact in sorted(rule.compiled.facts - set(available)):
                problems.append(
                    f"rule {rule.id} in {stage} reads '{fact}', which is not available at that stage"
                )
    feature_view = set(_post_model_facts(stage_facts(policy))) - set(SCORE_FACTS)
    seen: set[str] = set()
    for feature in policy.features:
        for fact in sorted(
            feature.compiled.facts - (feature_view - {f.fact for f in policy.features} | seen)
        ):
            problems.append(f"feature {feature.name} reads unknown or later fact '{fact}'")
        seen.add(feature.fact)
    return problems

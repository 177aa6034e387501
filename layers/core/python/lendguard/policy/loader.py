"""Load a policy from YAML and check it, with errors that name the rule and what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from lendguard.core.errors import PolicyError
from lendguard.decision.stages.lists import LIST_FACTS
from lendguard.decision.stages.scoring import SCORE_FACTS
from lendguard.decision.stages.validate import APPLICATION_FACTS
from lendguard.policy.schema import Policy, Rule
from lendguard.vendors.responses import response_facts


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


def stage_facts(policy: Policy) -> list[tuple[str, list[Rule], set[str]]]:
    """Each rule stage in flow order, with the facts available when it runs."""
    available = set(APPLICATION_FACTS)
    stages = [("admission", policy.admission, set(available))]
    available |= set(LIST_FACTS)
    stages.append(("lists", policy.lists, set(available)))
    for group in policy.vendor_groups:
        for vendor_id in group.vendors:
            vendor = policy.vendor_by_id[vendor_id]
            available |= set(response_facts(vendor.id, vendor.service))
        stages.append((f"vendor_groups.{group.id}", group.rules, set(available)))
    for feature in policy.features:
        available.add(feature.fact)
    available |= set(SCORE_FACTS)
    stages.append(("post_model", policy.post_model, set(available)))
    return stages


def check_fact_availability(policy: Policy) -> list[str]:
    """Problems where a rule or feature reads a fact not yet known at its stage (or at all)."""
    problems = []
    for stage, rules, available in stage_facts(policy):
        for rule in rules:
            for fact in sorted(rule.compiled.facts - available):
                problems.append(
                    f"rule {rule.id} in {stage} reads '{fact}', which is not available at that stage"
                )
    feature_view = stage_facts(policy)[-1][2] - set(SCORE_FACTS)
    seen: set[str] = set()
    for feature in policy.features:
        for fact in sorted(
            feature.compiled.facts - (feature_view - {f.fact for f in policy.features} | seen)
        ):
            problems.append(f"feature {feature.name} reads unknown or later fact '{fact}'")
        seen.add(feature.fact)
    return problems

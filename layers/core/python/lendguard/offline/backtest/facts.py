"""The facts a policy reads, and the type of every fact a data file may hold.

Names are the online stages' own: the application facts of ``validate``, the list facts of
``lists``, ``<vendor id>.<field>`` of each vendor's response model. Features and scores are
never read from data: a backtest computes them with the policy under test.
"""

from __future__ import annotations

import types
import typing
from typing import Literal

from lendguard.decision.stages.lists import LIST_FACTS
from lendguard.decision.stages.scoring import SCORE_FACTS
from lendguard.decision.stages.validate import APPLICATION_FACTS
from lendguard.models.artifact import ModelArtifact
from lendguard.policy.schema import Policy
from lendguard.vendors.responses import RESPONSE_MODELS

FactType = Literal["number", "boolean", "string"]

# The type of each application fact (``validate.application_facts``); a test checks that every
# name in APPLICATION_FACTS has one, so a new application fact cannot be forgotten here.
APPLICATION_FACT_TYPES: dict[str, FactType] = {
    "applicant.age": "number",
    "applicant.sex": "string",
    "applicant.province": "string",
    "applicant.monthly_income": "number",
    "applicant.employment": "string",
    "applicant.city": "string",
    "application.requested_amount": "number",
    "application.term_months": "number",
    "application.product": "string",
    "application.channel": "string",
    "application.local_hour": "number",
    "consents.bureau": "boolean",
    "consents.telco": "boolean",
    "device.os": "string",
}
# What the decision stage reads besides rules: the product, the term, the amount, the income.
OFFER_FACTS = (
    "application.product", "application.term_months", "application.requested_amount",
    "applicant.monthly_income",
)  # fmt: skip


def _annotation_type(annotation: object) -> FactType:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if annotation is bool:
        return "boolean"
    if annotation in (int, float):
        return "number"
    return "string"


def fact_types(policy: Policy) -> dict[str, FactType]:
    """Every fact a data file may carry for ``policy``, with its type."""
    out: dict[str, FactType] = {name: APPLICATION_FACT_TYPES[name] for name in APPLICATION_FACTS}
    out.update(dict.fromkeys(LIST_FACTS, "boolean"))
    for vendor in policy.vendors:
        for name, field in RESPONSE_MODELS[vendor.service].model_fields.items():
            out[f"{vendor.id}.{name}"] = _annotation_type(field.annotation)
    return out


def computed_facts(policy: Policy) -> set[str]:
    """Facts the policy computes itself (features, scores): never read from data."""
    return {f.fact for f in policy.features} | set(SCORE_FACTS)


def required_facts(policy: Policy, model: ModelArtifact) -> list[str]:
    """The data columns a backtest of ``policy`` needs, in a stable order.

    Facts read by enabled rules and by features, the model's inputs, the facts the limit and
    price need, the consents of consent-bound vendors, and the white-list flag where a rule or
    group is skipped for white-listed applicants.
    """
    needed: set[str] = set(OFFER_FACTS) | {policy.limits.existing_debt_fact}
    for rule in policy.all_rules():
        if rule.enabled:
            needed |= rule.compiled.facts
            if rule.skip_if_white:
                needed.add("lists.white.any")
    for feature in policy.features:
        needed |= feature.compiled.facts
    for group in policy.vendor_groups:
        if group.skip_if_white:
            needed.add("lists.white.any")
    for vendor in policy.vendors:
        if vendor.needs_consent:
            needed.add(f"consents.{vendor.needs_consent}")
    card = policy.scoring.scorecard
    if card is not None:
        needed |= set(card.feature_names)
    elif model.metadata.kind == "scorecard":
        needed |= set(model.scorecard().feature_names)
    else:
        needed |= set(model.metadata.feature_names)
    order = {name: i for i, name in enumerate(fact_types(policy))}
    return sorted(needed - computed_facts(policy), key=lambda n: (order.get(n, len(order)), n))

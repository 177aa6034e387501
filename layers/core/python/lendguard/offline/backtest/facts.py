"""The facts a policy reads, and the type of every fact a data file may hold.

Names are the online stages' own: the application facts of ``validate``, the list facts of
``lists``, ``<vendor id>.<field>`` of each vendor's response model. Features and scores are
never read from data: a backtest computes them with the policy under test.
"""

from __future__ import annotations

from lendguard.core.facts import (
    APPLICATION_FACTS,
    CUSTOMER_FACTS,
    INTERNAL_FACTS,
    LIST_FACTS,
    SCORE_FACTS,
    FactType,
    vendor_facts,
)
from lendguard.models.artifact import ModelArtifact
from lendguard.policy.schema import Policy

# What the decision stage reads besides rules: the product, the term, the amount, the income.
OFFER_FACTS = (
    "application.product", "application.term_months", "application.requested_amount",
    "applicant.monthly_income",
)  # fmt: skip


def fact_types(policy: Policy) -> dict[str, FactType]:
    """Every fact a data file may carry for ``policy``, with its type (the fact catalogue's)."""
    out: dict[str, FactType] = {**APPLICATION_FACTS, **LIST_FACTS, **INTERNAL_FACTS, **CUSTOMER_FACTS}
    for vendor in policy.vendors:
        out |= vendor_facts(vendor.id, vendor.service)
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

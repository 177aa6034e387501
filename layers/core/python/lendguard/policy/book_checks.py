"""Load-time checks of the loan-book sections: every rule reads only facts the book provides
(:mod:`lendguard.core.book_facts`), with the right types, and its condition is a boolean."""

from __future__ import annotations

from lendguard.core.facts import FactType
from lendguard.policy.schema import Policy, Rule


def book_rule_problems(policy: Policy) -> list[str]:
    """Problems in ``in_loan`` and ``post_loan`` rules, each naming the rule and its section."""
    from lendguard.core.book_facts import IN_LOAN_FACTS, POST_LOAN_FACTS
    from lendguard.policy.typecheck import BOOL, expression_problems

    post = policy.post_loan
    sections: list[tuple[str, list[Rule], dict[str, FactType]]] = [
        ("in_loan.rules", list(policy.in_loan.rules), IN_LOAN_FACTS),
        ("post_loan.segments", list(post.segments), POST_LOAN_FACTS),
        ("post_loan.complaint_rules", list(post.complaint_rules), POST_LOAN_FACTS),
        ("post_loan.contact_rules", list(post.contact_rules), POST_LOAN_FACTS),
    ]
    problems: list[str] = []
    for section, rules, facts in sections:
        for rule in rules:
            unknown = sorted(rule.compiled.facts - set(facts))
            for fact in unknown:
                problems.append(
                    f"rule {rule.id} in {section} reads '{fact}', which the loan book does not provide"
                )
            if unknown:
                continue
            for p in expression_problems(rule.compiled, facts, BOOL):
                problems.append(f"rule {rule.id} in {section}: {p.message} at column {p.column}")
    return problems

"""Repayment outcomes of an experiment's cases: which approved cases are bad, and which are not yet known.

An approved case is *labelled* under a bad definition (:mod:`lendguard.outcomes.bad`) once its
account is drawn and either matured for the definition (the whole window observed) or already
bad (bad is final once reached). A case never drawn, or drawn and still inside its window without
having gone bad, carries no label: counting it as good would flatter an arm whose loans are
younger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from lendguard.cases.record import CaseRecord
from lendguard.outcomes.bad import BadDefinition, label
from lendguard.outcomes.events import LoanEvent


def approved_ids(cases: Iterable[CaseRecord], policy_id: str) -> list[str]:
    """The approved cases of ``policy_id`` (the only ones that can have repayment outcomes)."""
    return [c.case_id for c in cases if c.decision == "APPROVE" and (c.policy or {}).get("id") == policy_id]


def bad_labels(
    events: Mapping[str, Sequence[LoanEvent]], definition: BadDefinition, as_of: date
) -> dict[str, bool]:
    """Case id → bad, for every case whose events give it a label at ``as_of``."""
    out: dict[str, bool] = {}
    for case_id, case_events in events.items():
        account = label(case_events, definition, as_of)
        if account.drawn and (account.bad or account.matured):
            out[case_id] = account.bad
    return out

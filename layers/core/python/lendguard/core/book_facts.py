"""The loan book's snapshot columns and what book rules may read, typed.

:data:`SNAPSHOT_COLUMNS` (column -> Arrow type name) is the snapshot's schema, documented and
re-exported by :mod:`lendguard.book.snapshot`; it sits here, with the facts derived from it, so
the policy loader can check book rules without importing the book.

What rules read: the snapshot's columns, the job's score, the planned contact.

- ``account.<column>`` for every :data:`~lendguard.book.snapshot.SNAPSHOT_COLUMNS` column but the
  dates (numbers, strings, booleans as the snapshot types them);
- in-loan: ``score.behaviour`` (points: higher is better), ``score.behaviour_pd``;
  ``offer.new_limit`` and ``offer.increase`` (the limit-up table's proposal for the account);
- post-loan: ``score.repay_prob``; ``contact.hour`` (local hour, Asia/Shanghai, of the planned
  contact) and ``contact.party`` (``borrower``, ``emergency_contact`` or ``third_party``).

The policy loader checks every in-loan and post-loan rule against these (unknown facts and type
errors fail the load, naming the rule), as it checks the pre-loan rules against the fact catalogue.
"""

from __future__ import annotations

from lendguard.core.facts import FactType

SNAPSHOT_COLUMNS: dict[str, str] = {
    "account_id": "string",
    "customer_key": "string",
    "product": "string",
    "mode": "string",
    "status": "string",
    "opened_on": "date32",
    "as_of": "date32",
    "credit_limit": "float64",
    "balance": "float64",
    "available": "float64",
    "apr": "float64",
    "months_on_book": "int64",
    "utilisation": "float64",
    "days_past_due": "int64",
    "max_dpd_3m": "int64",
    "max_dpd_12m": "int64",
    "payment_ratio_3m": "float64",
    "draws_3m": "int64",
    "limit_changes_12m": "int64",
    "days_since_limit_change": "int64",
    "loans_repaid": "int64",
    "arrears": "float64",
    "complaints_12m": "int64",
    "contacts_today": "int64",
    "vulnerable": "bool",
    "disputed": "bool",
    "emergency_contact_only": "bool",
}

_TYPES = {
    "string": FactType.STRING,
    "int64": FactType.NUMBER,
    "float64": FactType.NUMBER,
    "bool": FactType.BOOLEAN,
}

ACCOUNT_FACTS: dict[str, FactType] = {
    f"account.{name}": _TYPES[kind] for name, kind in SNAPSHOT_COLUMNS.items() if kind in _TYPES
}
IN_LOAN_FACTS: dict[str, FactType] = {
    **ACCOUNT_FACTS,
    "score.behaviour": FactType.NUMBER,
    "score.behaviour_pd": FactType.NUMBER,
    "offer.new_limit": FactType.NUMBER,
    "offer.increase": FactType.NUMBER,
}
POST_LOAN_FACTS: dict[str, FactType] = {
    **ACCOUNT_FACTS,
    "score.repay_prob": FactType.NUMBER,
    "contact.hour": FactType.NUMBER,
    "contact.party": FactType.STRING,
}

"""What book rules may read, typed: the snapshot's columns, the job's score, the planned contact.

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

from lendguard.book.snapshot import SNAPSHOT_COLUMNS
from lendguard.core.facts import FactType

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

"""Lists: black / grey / white hits on the applicant's hashed identifiers become facts."""

from __future__ import annotations

from datetime import datetime

from lendguard.core.facts import LIST_FACTS
from lendguard.decision.stages.rules import apply_rules
from lendguard.decision.state import DecisionState, Subject
from lendguard.lists.entries import ListHit, ListLookup
from lendguard.lists.keys import KeyType
from lendguard.policy.schema import Policy

# Which hashed identifier of the subject is looked up under which key type.
SUBJECT_KEYS: tuple[tuple[str, KeyType], ...] = (
    ("id_number", KeyType.ID_NUMBER),
    ("phone", KeyType.PHONE),
    ("device_id", KeyType.DEVICE_ID),
    ("ip", KeyType.IP),
    ("bank_card", KeyType.BANK_CARD),
)
# The same with the key types as plain strings (an enum member's ``.value`` is a descriptor call).
_SUBJECT_KEY_TYPES = tuple((attr, key_type.value) for attr, key_type in SUBJECT_KEYS)


def list_facts(hits: list[ListHit]) -> dict[str, bool]:
    """``lists.<kind>.<key type>`` and ``lists.<kind>.any`` for every kind and key type."""
    facts = dict.fromkeys(LIST_FACTS, False)
    for hit in hits:
        kind = hit.kind.lower()
        facts[f"lists.{kind}.any"] = True
        facts[f"lists.{kind}.{hit.key_type.lower()}"] = True
    return facts


def subject_keys(subject: Subject) -> list[tuple[str, str]]:
    """(key type, hash) for every identifier the subject carries (IP and payout card are optional)."""
    keys = []
    for attr, key_type in _SUBJECT_KEY_TYPES:
        value_hash = getattr(subject, attr)
        if value_hash:
            keys.append((key_type, value_hash))
    return keys


def run(state: DecisionState, policy: Policy, lookup: ListLookup, now: datetime) -> DecisionState:
    """Look up every identifier in one batch, expose the hits as facts, apply the list rules."""
    hits = lookup.find(subject_keys(state.subject), now)
    state.facts.update(list_facts(hits))
    # The trace names the list, key type and reason of each hit, never the value or its hash.
    state.trace.list_hits.extend(
        {"kind": h.kind, "key_type": h.key_type, "reason_code": h.reason_code, "reason": h.reason,
         "source": h.source, "expires_at": h.expires_at}
        for h in hits
    )  # fmt: skip
    apply_rules(state, "lists", policy.lists)
    return state

"""Lists: black / grey / white hits on the applicant's hashed identifiers become facts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel

from lendguard.policy.schema import Policy
from lendguard.stages.rules import apply_rules
from lendguard.stages.state import DecisionState

ListKind = Literal["BLACK", "GREY", "WHITE"]
KEY_TYPES = ("ID_NUMBER", "PHONE", "DEVICE_ID")
LIST_FACTS = tuple(
    f"lists.{kind}.{key}"
    for kind in ("black", "grey", "white")
    for key in ("any", "id_number", "phone", "device_id")
)


class ListHit(BaseModel):
    """A live list entry that matched one of the applicant's identifiers."""

    kind: ListKind
    key_type: str
    reason_code: str
    reason: str = ""
    added_at: datetime | None = None
    expires_at: int | None = None


class ListLookup(Protocol):
    def find(self, keys: list[tuple[str, str]], now: datetime) -> list[ListHit]:
        """Live entries (not past ``expires_at`` at ``now``) for (key type, hash) pairs."""
        ...


def list_facts(hits: list[ListHit]) -> dict[str, bool]:
    """``lists.<kind>.<key type>`` and ``lists.<kind>.any`` for every kind and key type."""
    facts = dict.fromkeys(LIST_FACTS, False)
    for hit in hits:
        kind = hit.kind.lower()
        facts[f"lists.{kind}.any"] = True
        facts[f"lists.{kind}.{hit.key_type.lower()}"] = True
    return facts


def run(state: DecisionState, policy: Policy, lookup: ListLookup, now: datetime) -> DecisionState:
    """Look up every identifier in one batch, expose the hits as facts, apply the list rules."""
    keys = [
        ("ID_NUMBER", state.subject.id_number),
        ("PHONE", state.subject.phone),
        ("DEVICE_ID", state.subject.device_id),
    ]
    hits = lookup.find(keys, now)
    state.facts.update(list_facts(hits))
    # The trace names the list, key type and reason of each hit, never the value.
    state.trace.list_hits.extend(
        {"kind": h.kind, "key_type": h.key_type, "reason_code": h.reason_code, "expires_at": h.expires_at}
        for h in hits
    )
    apply_rules(state, "lists", policy.lists)
    return state

"""Where the InternalData stage gets our own data: the protocol, the reader that turns stored
records into facts, an in-memory record store, and assumed facts (policy test suites, replays).

:class:`OwnDataReader` is the one place the stored records become facts, for DynamoDB
(``lendguard.store.own_data.DynamoOwnDataRecords``) and memory alike.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Protocol, TypeVar

from lendguard.core.facts import CUSTOMER_FACTS, INTERNAL_FACTS, SHARED_KEYS, VELOCITY_KEYS, VELOCITY_WINDOWS
from lendguard.decision.state import FactValue, Subject
from lendguard.internal.features import FeatureRead, FeatureRow, feature_facts
from lendguard.internal.history import PastCase, history_facts, loan_facts, may_have_loans, previous
from lendguard.internal.velocity import LONGEST_WINDOW, local_day, velocity_facts, window_days
from lendguard.outcomes.events import LoanEvent
from lendguard.outcomes.snapshot import LoanSnapshot, account_snapshots

logger = logging.getLogger(__name__)
OWN_FACTS: dict[str, Any] = {**INTERNAL_FACTS, **CUSTOMER_FACTS}
_T = TypeVar("_T")


class InternalSettings(Protocol):
    """The policy's ``internal`` section (``lendguard.policy.schema.InternalDataSettings``)."""

    history_days: int
    max_history_loans: int
    features_max_age_hours: float


class OwnData(Protocol):
    """What the flow needs of our own data: count a case as it opens, record it when decided,
    and read the facts of a subject."""

    def record_opening(self, subject: Subject, case_id: str, received_at: datetime) -> None: ...

    def record_decided(self, subject: Subject, case: PastCase) -> None: ...

    def facts(
        self, subject: Subject, case_id: str, received_at: datetime, now: datetime, settings: InternalSettings
    ) -> dict[str, FactValue]: ...


class OwnDataRecords(Protocol):
    """The stored records (DynamoDB or memory); every read is by key, never a scan."""

    def count_opening(self, keys: Mapping[str, str], id_number: str, case_id: str, day: date) -> None:
        """Add one application to each key's day (``keys``: velocity key -> hash), at most once per case,
        and the ID number to the day's set of each shared key."""
        ...

    def add_case(self, id_number: str, day: date, case: PastCase) -> None: ...

    def velocity(
        self, keys: Mapping[str, str], days: list[date]
    ) -> tuple[dict[str, dict[date, int]], dict[str, dict[date, set[str]]]]: ...

    def past_cases(self, id_number: str, days: list[date]) -> list[PastCase]: ...

    def loan_events(self, case_ids: list[str]) -> dict[str, list[LoanEvent]]: ...

    def features(self, id_number: str) -> FeatureRead: ...


def subject_keys(subject: Subject) -> dict[str, str]:
    """Velocity key -> hashed value, for the identifiers the subject carries."""
    keys = {}
    for key, attr in VELOCITY_KEYS.items():
        value = getattr(subject, attr)
        if value:
            keys[key] = value
    return keys


class OwnDataReader:
    """:class:`OwnData` over stored records: the velocity, history, loan and feature facts.

    A part whose records cannot be read leaves its facts missing (each rule's ``on_missing``
    decides) and is logged by kind only; the others still count.
    """

    def __init__(self, records: OwnDataRecords):
        self.records = records

    def record_opening(self, subject: Subject, case_id: str, received_at: datetime) -> None:
        self.records.count_opening(subject_keys(subject), subject.id_number, case_id, local_day(received_at))

    def record_decided(self, subject: Subject, case: PastCase) -> None:
        self.records.add_case(subject.id_number, local_day(case.received_at), case)

    def facts(
        self, subject: Subject, case_id: str, received_at: datetime, now: datetime, settings: InternalSettings
    ) -> dict[str, FactValue]:
        today = local_day(received_at)
        facts: dict[str, FactValue] = dict.fromkeys(OWN_FACTS)
        keys = subject_keys(subject)
        try:
            counts, ids = self.records.velocity(keys, window_days(today, LONGEST_WINDOW))
            facts.update(
                velocity_facts(
                    {k: counts.get(k, {}) if k in keys else None for k in VELOCITY_KEYS},
                    {k: ids.get(k, {}) if k in keys else None for k in SHARED_KEYS},
                    today,
                )
            )
        except Exception as exc:  # own data unavailable: the rules' on_missing decide
            logger.warning("velocity unavailable", extra={"case_id": case_id, "error": type(exc).__name__})
        try:
            past = previous(
                self.records.past_cases(subject.id_number, window_days(today, settings.history_days)),
                case_id,
                received_at,
            )
            facts.update(history_facts(past, today))
            events = self.records.loan_events(may_have_loans(past, settings.max_history_loans))
            loans: list[LoanSnapshot] = []
            for past_case, case_events in events.items():
                loans.extend(account_snapshots(past_case, case_events, today))
            facts.update(loan_facts(loans))
        except Exception as exc:
            logger.warning(
                "case history unavailable", extra={"case_id": case_id, "error": type(exc).__name__}
            )
        read: FeatureRead | None = None
        try:
            read = self.records.features(subject.id_number)
        except Exception as exc:
            logger.warning(
                "customer features unavailable", extra={"case_id": case_id, "error": type(exc).__name__}
            )
        facts.update(feature_facts(read, now, settings.features_max_age_hours))
        return facts


class MemoryOwnDataRecords:
    """:class:`OwnDataRecords` in memory (the in-process pipeline, tests, benchmarks).

    Records are indexed by identifier, then day, so a read touches only the days the identifier
    has records on (a year of history is 365 keyed reads in DynamoDB, not 365 lookups here).
    """

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], dict[date, int]] = {}  # (velocity key, hash) -> day -> count
        self.ids: dict[tuple[str, str], dict[date, set[str]]] = {}  # (shared key, hash) -> day -> ID numbers
        self.cases: dict[str, dict[date, set[str]]] = {}  # ID number -> day -> case members
        self.counted: set[str] = set()
        self.events: dict[str, list[LoanEvent]] = {}
        self.rows: dict[str, FeatureRow] = {}
        self.run_at: datetime | None = None

    def count_opening(self, keys: Mapping[str, str], id_number: str, case_id: str, day: date) -> None:
        if case_id in self.counted:
            return
        self.counted.add(case_id)
        for key, value in keys.items():
            per_day = self.counts.setdefault((key, value), {})
            per_day[day] = per_day.get(day, 0) + 1
            if key in SHARED_KEYS:
                self.ids.setdefault((key, value), {}).setdefault(day, set()).add(id_number)

    def add_case(self, id_number: str, day: date, case: PastCase) -> None:
        self.cases.setdefault(id_number, {}).setdefault(day, set()).add(case.member())

    def velocity(
        self, keys: Mapping[str, str], days: list[date]
    ) -> tuple[dict[str, dict[date, int]], dict[str, dict[date, set[str]]]]:
        wanted = set(days)
        counts = {k: _on(self.counts.get((k, v)), wanted) for k, v in keys.items()}
        ids = {
            k: {d: set(members) for d, members in _on(self.ids.get((k, v)), wanted).items()}
            for k, v in keys.items()
            if k in SHARED_KEYS
        }
        return counts, ids

    def past_cases(self, id_number: str, days: list[date]) -> list[PastCase]:
        per_day = self.cases.get(id_number)
        if not per_day:
            return []
        wanted = set(days)
        return [PastCase.from_member(m) for d in sorted(per_day) if d in wanted for m in per_day[d]]

    def loan_events(self, case_ids: list[str]) -> dict[str, list[LoanEvent]]:
        return {c: self.events[c] for c in case_ids if c in self.events}

    def features(self, id_number: str) -> FeatureRead:
        return FeatureRead(row=self.rows.get(id_number), run_at=self.run_at)


def _on(per_day: dict[date, _T] | None, wanted: set[date]) -> dict[date, _T]:
    """The entries of ``per_day`` on the wanted days, oldest first (as a per-day read returns them)."""
    if not per_day:
        return {}
    return {d: per_day[d] for d in sorted(per_day) if d in wanted}


def first_time_facts(subject: Subject | None = None) -> dict[str, FactValue]:
    """The facts of an applicant we have never seen, applying once (features fresh, all 0).

    Without a ``subject`` every identifier counts as given (training rows carry no identifiers).
    """
    keys = subject_keys(subject) if subject is not None else {*VELOCITY_KEYS, *SHARED_KEYS}
    facts: dict[str, FactValue] = {}
    for key in VELOCITY_KEYS:
        for w in VELOCITY_WINDOWS:
            facts[f"internal.apps_{key}_{w}d"] = 1 if key in keys else None
    for key in SHARED_KEYS:
        for w in VELOCITY_WINDOWS:
            facts[f"internal.ids_on_{key}_{w}d"] = 1 if key in keys else None
    facts.update(history_facts([], datetime.now(UTC).date()))
    facts.update(loan_facts([]))
    facts.update({"customer.features_fresh": True, "customer.feature_age_hours": 0.0})
    facts.update({name: 0 for name in CUSTOMER_FACTS if name not in facts})
    return facts


class AssumedOwnData:
    """Facts given outright: a first-time applicant's, overridden by ``assumed`` (test suites), or
    a case's recorded facts (``recorded``: replays and shadows decide on what the case saw)."""

    def __init__(
        self, assumed: Mapping[str, FactValue] | None = None, recorded: Mapping[str, FactValue] | None = None
    ):
        unknown = sorted(set(assumed or {}) - set(OWN_FACTS))
        if unknown:
            raise ValueError(f"not facts of our own data: {unknown}")
        self.assumed = dict(assumed or {})
        self.recorded = recorded

    def record_opening(self, subject: Subject, case_id: str, received_at: datetime) -> None:
        return None

    def record_decided(self, subject: Subject, case: PastCase) -> None:
        return None

    def facts(
        self, subject: Subject, case_id: str, received_at: datetime, now: datetime, settings: InternalSettings
    ) -> dict[str, FactValue]:
        if self.recorded is not None:
            return {name: self.recorded.get(name) for name in OWN_FACTS}
        return {**first_time_facts(subject), **self.assumed}

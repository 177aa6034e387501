"""List entries, their audit events, and the bodies the management API accepts and returns.

Nothing here holds a clear identifier: an entry knows its value only as ``value_hash``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Literal, Protocol

from pydantic import ConfigDict, Field, field_validator, model_validator

from lendguard.core.base_model import Model
from lendguard.core.text import SafeText
from lendguard.lists.keys import KeyType, ListKind, Source

Clock = Callable[[], datetime]
AuditAction = Literal["add", "extend", "update", "remove"]

REASON_CODE_PATTERN = r"^[A-Z][A-Z0-9_]{1,39}$"
REASON_CODE_RE = re.compile(REASON_CODE_PATTERN)
ACTOR_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9@._:+\-]{0,127}$"
MAX_REASON_CHARS = 500
MAX_TTL_DAYS = 3650
# Far enough for any real expiry, near enough that a typo in the year is caught.
MAX_EXPIRY_SECONDS = MAX_TTL_DAYS * 86_400

ReasonCode = Annotated[str, Field(pattern=REASON_CODE_PATTERN, description="e.g. FRAUD_RING")]
Actor = Annotated[str, Field(pattern=ACTOR_PATTERN, description="Who made the change (user or system)")]
ReasonText = Annotated[SafeText, Field(max_length=MAX_REASON_CHARS)]


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


def epoch(moment: datetime) -> int:
    """Whole epoch seconds (floor): the unit of DynamoDB TTL attributes."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def is_live(expires_at: int | None, now: datetime) -> bool:
    """An entry counts until its ``expires_at`` second: at ``expires_at == now`` it is gone.

    DynamoDB deletes expired items lazily (up to days later), so every read applies this.
    """
    return expires_at is None or expires_at > epoch(now)


class ListEntry(Model):
    """One entry as stored in the lists table."""

    model_config = ConfigDict(frozen=True)

    kind: ListKind
    key_type: KeyType
    value_hash: str
    reason_code: str
    reason: str = ""
    source: Source
    added_by: str
    added_at: datetime
    updated_by: str | None = None
    updated_at: datetime | None = None
    expires_at: int | None = Field(default=None, description="Epoch seconds; absent means permanent")
    import_id: str | None = None
    etag: str | None = Field(default=None, description="Changes on every write (optimistic locking)")

    @property
    def pk(self) -> str:
        return f"{self.kind.value}#{self.key_type.value}#{self.value_hash}"

    def live(self, now: datetime) -> bool:
        """Whether the entry counts at ``now`` (see :func:`is_live`)."""
        return is_live(self.expires_at, now)


class EntryView(Model):
    """An entry as the API shows it: the stored fields plus readable expiry."""

    kind: ListKind
    key_type: KeyType
    value_hash: str
    reason_code: str
    reason: str
    source: Source
    added_by: str
    added_at: datetime
    updated_by: str | None
    updated_at: datetime | None
    expires_at: int | None
    expires_at_iso: datetime | None
    permanent: bool
    import_id: str | None

    @classmethod
    def of(cls, entry: ListEntry) -> EntryView:
        """The view of a stored entry."""
        data = entry.model_dump(exclude={"etag"})
        expires = entry.expires_at
        return cls(
            **data,
            expires_at_iso=datetime.fromtimestamp(expires, UTC) if expires is not None else None,
            permanent=expires is None,
        )


class AuditEvent(Model):
    """One change to one entry: what, who, when, and the expiry before and after."""

    model_config = ConfigDict(frozen=True)

    action: AuditAction
    at: datetime
    by: str
    source: Source
    reason_code: str
    reason: str = ""
    expires_at: int | None = None
    previous_expires_at: int | None = None


class EntryRequest(Model):
    """The body of ``PUT /v1/lists/{kind}/{key_type}/{value}``.

    Without ``ttl_days`` and ``expires_at`` the entry is permanent. ``reason_code`` may be left
    out only when a live entry exists, whose code is then kept (extending an entry).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason_code: ReasonCode | None = None
    reason: ReasonText = ""
    ttl_days: Annotated[int, Field(ge=1, le=MAX_TTL_DAYS, strict=True)] | None = None
    expires_at: Annotated[int, Field(strict=True)] | datetime | None = Field(
        default=None, description="Epoch seconds, or ISO 8601 with a UTC offset"
    )
    source: Source = Source.MANUAL
    added_by: Actor

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: int | datetime | None) -> int | datetime | None:
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError("must include a UTC offset, e.g. 2027-01-31T00:00:00+08:00")
        return value

    @model_validator(mode="after")
    def _one_expiry(self) -> EntryRequest:
        if self.ttl_days is not None and self.expires_at is not None:
            raise ValueError("give ttl_days or expires_at, not both")
        return self

    def expiry(self, now: datetime) -> int | None:
        """The absolute expiry in epoch seconds, or ``None`` for a permanent entry."""
        if self.ttl_days is not None:
            return epoch(now) + self.ttl_days * 86_400
        if isinstance(self.expires_at, datetime):
            return epoch(self.expires_at)
        return self.expires_at


class RemoveRequest(Model):
    """Who removes an entry and why (query string of ``DELETE``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    removed_by: Actor
    reason: ReasonText = ""


class RowError(Model):
    """One rejected import row: ``row`` is the 1-based data row (the header is row 0)."""

    row: int
    field: str
    message: str


class ImportRecord(Model):
    """Who ran one import request, when, and with what outcome (kept as ``IMPORT#`` items)."""

    model_config = ConfigDict(frozen=True)

    import_id: str
    at: datetime
    by: str
    source: Source
    rows: int
    failed: int


class ImportReport(Model):
    """What one import request did: good rows are written, bad rows are listed."""

    import_id: str
    rows: int = Field(description="Data rows in the request")
    written: int = Field(description="Distinct entries written (upserted)")
    superseded: int = Field(description="Good rows overridden by a later row for the same entry")
    failed: int
    errors: list[RowError] = Field(default_factory=list)


class Lookup(Model):
    """``GET``: whether the value is listed now, the entry, and its change history."""

    kind: ListKind
    key_type: KeyType
    value_hash: str
    listed: bool
    entry: EntryView | None = None
    expired_entry: EntryView | None = Field(
        default=None, description="An entry past its expiry that TTL has not yet deleted"
    )
    history: list[AuditEvent] = Field(default_factory=list)


class ChangeResult(Model):
    """The answer to ``PUT`` and ``DELETE``."""

    action: AuditAction
    entry: EntryView


class ListHit(Model):
    """A live list entry that matched one of the applicant's identifiers."""

    kind: ListKind
    key_type: str
    reason_code: str
    reason: str = ""
    source: str | None = None
    added_at: datetime | None = None
    expires_at: int | None = None


class ListLookup(Protocol):
    def find(self, keys: Sequence[tuple[str, str]], now: datetime) -> list[ListHit]:
        """Live entries (not past ``expires_at`` at ``now``) for (key type, hash) pairs."""
        ...

"""List management: add, extend, remove, look up, import and export entries.

Every request is validated completely before anything is written, and each single change is
written together with its audit event in one transaction, so a bad or failed request leaves
nothing half-written. The only partial outcome is the documented one of bulk import: good rows
are written, bad rows are reported.

The clear value is used only to compute its keyed hash and is never stored, logged or echoed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError

from lendguard.core.errors import FieldError, InvalidInput, NotFound, json_object
from lendguard.core.hashing import keyed_hash
from lendguard.lists.csvio import ImportRow, check_expiry, mentions_value, parse_import
from lendguard.lists.entries import (
    ACTOR_PATTERN,
    AuditAction,
    AuditEvent,
    ChangeResult,
    Clock,
    EntryRequest,
    EntryView,
    ImportRecord,
    ImportReport,
    ListEntry,
    Lookup,
    RemoveRequest,
    epoch,
    utc_now,
)
from lendguard.lists.keys import KeyType, ListKind, Source, entry_key, normalize, parse_key_type, parse_kind

RequestT = TypeVar("RequestT", EntryRequest, RemoveRequest)


class ListStore(Protocol):
    """What the service needs from storage (``lendguard.store.lists.DynamoListStore``)."""

    def get(self, pk: str) -> ListEntry | None: ...

    def history(self, pk: str) -> list[AuditEvent]: ...

    def write(self, entry: ListEntry, event: AuditEvent, expected_etag: str | None, exists: bool) -> None: ...

    def delete(self, entry: ListEntry, event: AuditEvent) -> None: ...

    def write_import(self, record: ImportRecord, rows: Sequence[ImportRow]) -> int: ...

    def scan(
        self, kind: ListKind | None, now: datetime, limit: int = 1000, cursor: str | None = None
    ) -> tuple[list[ListEntry], str | None]: ...


class ListKey:
    """A validated (kind, key type, value): the normalised value and its hash, for one request."""

    __slots__ = ("key_type", "kind", "normalized", "raw", "value_hash")

    def __init__(self, kind: ListKind, key_type: KeyType, raw: str, normalized: str, value_hash: str):
        self.kind, self.key_type, self.raw = kind, key_type, raw
        self.normalized, self.value_hash = normalized, value_hash

    @property
    def pk(self) -> str:
        return entry_key(self.kind, self.key_type, self.value_hash)

    def label(self) -> str:
        """How messages name the entry: kind and key type, never the value."""
        return f"{self.kind.value} {self.key_type.value}"


_ACTOR_RE = re.compile(ACTOR_PATTERN)


def new_import_id(now: datetime) -> str:
    """Time-ordered and unique."""
    return f"I{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:10]}"


class ListService:
    """The management operations over a :class:`ListStore`, with an injectable clock."""

    def __init__(self, store: ListStore, secret: str, clock: Clock = utc_now):
        self.store, self.secret, self.clock = store, secret, clock

    # -- validation ----------------------------------------------------------------------
    def key(self, kind: str, key_type: str, value: str) -> ListKey:
        """Validate the path of a request; :class:`InvalidInput` names every bad part."""
        problems, parsed_kind, parsed_type, normalized = self._key_problems(kind, key_type, value)
        if problems:
            raise InvalidInput("invalid list request", problems)
        assert parsed_kind is not None and parsed_type is not None and normalized is not None
        value_hash = keyed_hash(parsed_type.value, normalized, self.secret)
        return ListKey(parsed_kind, parsed_type, value, normalized, value_hash)

    @staticmethod
    def _key_problems(
        kind: str, key_type: str, value: str
    ) -> tuple[list[FieldError], ListKind | None, KeyType | None, str | None]:
        problems: list[FieldError] = []
        parsed_kind = parsed_type = normalized = None
        try:
            parsed_kind = parse_kind(kind)
        except ValueError as exc:
            problems.append(FieldError(field="kind", message=str(exc)))
        try:
            parsed_type = parse_key_type(key_type)
        except ValueError as exc:
            problems.append(FieldError(field="key_type", message=str(exc)))
        if parsed_type is not None:
            try:
                normalized = normalize(parsed_type, value)
            except ValueError as exc:
                problems.append(FieldError(field="value", message=str(exc)))
        return problems, parsed_kind, parsed_type, normalized

    @staticmethod
    def _parse(model: type[RequestT], body: Any) -> RequestT:
        if isinstance(body, model):
            return body
        try:
            return model.model_validate(json_object(body, "invalid list request"))
        except ValidationError as exc:
            raise InvalidInput.from_validation_error("invalid list request", exc) from None

    def _key_and_body(
        self, kind: str, key_type: str, value: str, model: type[RequestT], body: Any
    ) -> tuple[ListKey, RequestT]:
        """Parse the path and the body together, so one error lists every bad field of both."""
        problems: list[FieldError] = []
        key = request = None
        try:
            key = self.key(kind, key_type, value)
        except InvalidInput as exc:
            problems.extend(exc.details)
        try:
            request = self._parse(model, body)
        except InvalidInput as exc:
            problems.extend(exc.details)
        if key is None or request is None:
            raise InvalidInput("invalid list request", problems)
        return key, request

    # -- operations ------------------------------------------------------------------------
    def put(
        self,
        kind: str,
        key_type: str,
        value: str,
        body: EntryRequest | Mapping[str, Any] | str | bytes | None,
    ) -> ChangeResult:
        """Add an entry, or extend / update the live one (an idempotent upsert).

        Without an expiry the entry is permanent. ``reason_code`` may be left out only to
        extend a live entry, whose code and reason are then kept.
        """
        key, request = self._key_and_body(kind, key_type, value, EntryRequest, body)
        problems: list[FieldError] = []
        now = self.clock()
        expires_at = request.expiry(now)
        if expires_at is not None and request.ttl_days is None:
            problems.extend(FieldError(field=f, message=m) for f, m in check_expiry(expires_at, epoch(now)))
        for field in ("reason", "added_by"):
            if mentions_value(getattr(request, field), key.raw, key.normalized):
                problems.append(
                    FieldError(
                        field=field, message="must not contain the listed value (it would be stored in clear)"
                    )
                )
        existing = self.store.get(key.pk)
        live = existing if existing is not None and existing.live(now) else None
        if request.reason_code is None and live is None:
            problems.append(FieldError(field="reason_code", message="required when adding an entry"))
        if problems:
            raise InvalidInput("invalid list request", problems)

        etag = uuid.uuid4().hex
        if live is None:
            action: AuditAction = "add"
            entry = ListEntry(
                kind=key.kind, key_type=key.key_type, value_hash=key.value_hash,
                reason_code=request.reason_code or "", reason=request.reason, source=request.source,
                added_by=request.added_by, added_at=now, expires_at=expires_at, etag=etag,
            )  # fmt: skip
        else:
            action = _change_action(live.expires_at, expires_at)
            keep_reason = request.reason_code is None
            entry = live.model_copy(
                update={
                    "reason_code": live.reason_code if keep_reason else request.reason_code,
                    "reason": live.reason if keep_reason and not request.reason else request.reason,
                    "source": request.source, "updated_by": request.added_by, "updated_at": now,
                    "expires_at": expires_at, "etag": etag,
                }
            )  # fmt: skip
        event = AuditEvent(
            action=action, at=now, by=request.added_by, source=request.source, reason_code=entry.reason_code,
            reason=entry.reason, expires_at=expires_at, previous_expires_at=live.expires_at if live else None,
        )  # fmt: skip
        self.store.write(entry, event, existing.etag if existing else None, exists=existing is not None)
        return ChangeResult(action=action, entry=EntryView.of(entry))

    def extend(
        self, kind: str, key_type: str, value: str, *, by: str, ttl_days: int | None = None,
        expires_at: int | datetime | None = None,
    ) -> ChangeResult:  # fmt: skip
        """Change only the expiry of a live entry (``None`` for both: make it permanent)."""
        key = self.key(kind, key_type, value)
        live = self._live(key)
        body = {"added_by": by, "source": live.source.value, "ttl_days": ttl_days, "expires_at": expires_at}
        return self.put(kind, key_type, value, body)

    def remove(
        self, kind: str, key_type: str, value: str, body: RemoveRequest | Mapping[str, Any]
    ) -> ChangeResult:
        """Delete a live entry and record who removed it and why; :class:`NotFound` if not listed."""
        key, request = self._key_and_body(kind, key_type, value, RemoveRequest, body)
        if mentions_value(request.reason, key.raw, key.normalized):
            raise InvalidInput(
                "invalid list request",
                [
                    FieldError(
                        field="reason",
                        message="must not contain the listed value (it would be stored in clear)",
                    )
                ],
            )
        now = self.clock()
        live = self._live(key, now)
        event = AuditEvent(
            action="remove", at=now, by=request.removed_by, source=Source.MANUAL, reason_code=live.reason_code,
            reason=request.reason, expires_at=None, previous_expires_at=live.expires_at,
        )  # fmt: skip
        self.store.delete(live, event)
        return ChangeResult(action="remove", entry=EntryView.of(live))

    def get(self, kind: str, key_type: str, value: str) -> Lookup:
        """Whether the value is listed now, since when, until when, why, and its history."""
        key = self.key(kind, key_type, value)
        now = self.clock()
        stored = self.store.get(key.pk)
        live = stored is not None and stored.live(now)
        return Lookup(
            kind=key.kind, key_type=key.key_type, value_hash=key.value_hash, listed=live,
            entry=EntryView.of(stored) if stored is not None and live else None,
            expired_entry=EntryView.of(stored) if stored is not None and not live else None,
            history=self.store.history(key.pk),
        )  # fmt: skip

    def _live(self, key: ListKey, now: datetime | None = None) -> ListEntry:
        stored = self.store.get(key.pk)
        if stored is None or not stored.live(now or self.clock()):
            raise NotFound(f"not listed: no live {key.label()} entry for this value")
        return stored

    def import_csv(self, text: str, *, added_by: str, source: Source | str = Source.IMPORT) -> ImportReport:
        """Upsert every good row of a CSV (at most 5,000 rows); report the bad ones by row and field.

        A request-level problem (header, size, malformed CSV, bad ``added_by`` / ``source``)
        writes nothing. Several rows for one entry: the last one wins, the earlier ones are
        counted as ``superseded``. Entries are overwritten whole, so ``added_at`` of an imported
        entry is the time of its latest import; the import record (``IMPORT#<id>`` items) keeps
        who imported which keys and when.
        """
        problems = []
        if not isinstance(added_by, str) or not _ACTOR_RE.match(added_by):
            problems.append(
                FieldError(field="added_by", message="required: 1-128 letters, digits and @ . _ : + -")
            )
        try:
            source = Source(source)
        except ValueError:
            allowed = ", ".join(s.value for s in Source)
            problems.append(FieldError(field="source", message=f"unknown source; expected one of {allowed}"))
        if problems:
            raise InvalidInput("invalid import", problems)
        assert isinstance(source, Source)
        now = self.clock()
        rows, good, errors = parse_import(text, self.secret, now)
        latest: dict[str, ImportRow] = {}
        for row in good:
            latest[row.pk] = row  # dict order: first appearance; value: the last row for that entry
        failed = len({e.row for e in errors})
        import_id = new_import_id(now)
        if latest:
            record = ImportRecord(
                import_id=import_id, at=now, by=added_by, source=source, rows=rows, failed=failed
            )
            self.store.write_import(record, list(latest.values()))
        return ImportReport(
            import_id=import_id, rows=rows, written=len(latest), superseded=len(good) - len(latest),
            failed=failed, errors=errors,
        )  # fmt: skip

    def export(
        self, kind: str | None = None, limit: int = 1000, cursor: str | None = None
    ) -> tuple[list[EntryView], str | None]:
        """Live entries (hashes only: the clear values were never stored), a page at a time."""
        parsed = None
        if kind:
            try:
                parsed = parse_kind(kind)
            except ValueError as exc:
                raise InvalidInput("invalid export", [FieldError(field="kind", message=str(exc))]) from None
        try:
            entries, next_cursor = self.store.scan(parsed, self.clock(), limit, cursor)
        except ValueError as exc:
            raise InvalidInput("invalid export", [FieldError(field="cursor", message=str(exc))]) from None
        return [EntryView.of(e) for e in entries], next_cursor


def _change_action(before: int | None, after: int | None) -> AuditAction:
    """``extend`` when the entry now lasts longer (or for ever), ``update`` otherwise."""
    if before is None:
        return "update"
    if after is None or after > before:
        return "extend"
    return "update"

"""The bulk-import CSV: parsing with a per-row error report, and splitting a file into requests.

Columns (header required, any order): ``kind``, ``key_type``, ``value`` (required) and
``reason``, ``reason_code``, ``ttl_days``, ``expires_at`` (optional). Without a ``reason_code``
column, a ``reason`` that looks like a code (``FRAUD_RING``) is the code; other text is kept as
the free-text reason under the code ``IMPORTED``. Empty ``ttl_days`` and ``expires_at`` make a
permanent entry. Rows are numbered from 1 after the header.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from lendguard.core.errors import FieldError, InvalidInput
from lendguard.core.hashing import keyed_hash
from lendguard.lists.entries import (
    MAX_EXPIRY_SECONDS,
    MAX_REASON_CHARS,
    MAX_TTL_DAYS,
    REASON_CODE_RE,
    RowError,
    epoch,
)
from lendguard.lists.keys import KeyType, ListKind, normalize, parse_key_type, parse_kind

MAX_IMPORT_ROWS = 5000
REQUIRED_COLUMNS = ("kind", "key_type", "value")
OPTIONAL_COLUMNS = ("reason", "reason_code", "ttl_days", "expires_at")
DEFAULT_REASON_CODE = "IMPORTED"
# Kept under the local server's request limit (256 KiB); API Gateway takes 10 MB.
MAX_CHUNK_BYTES = 200_000


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One good row, hashed: the clear value is not kept past :func:`parse_import`."""

    row: int
    kind: ListKind
    key_type: KeyType
    value_hash: str
    reason_code: str
    reason: str
    expires_at: int | None

    @property
    def pk(self) -> str:
        return f"{self.kind.value}#{self.key_type.value}#{self.value_hash}"


def mentions_value(text: str, raw: str, normalized: str) -> bool:
    """Whether free text repeats the listed value (which would store it in clear)."""
    if not text:
        return False
    compact = "".join(text.split())
    return any(len(v) >= 4 and (v in text or v in compact) for v in {raw.strip(), normalized})


def parse_expiry(ttl_days: str, expires_at: str, now: datetime) -> tuple[int | None, list[tuple[str, str]]]:
    """Absolute expiry from the CSV cells; the problems as (field, message) pairs."""
    ttl_days, expires_at = ttl_days.strip(), expires_at.strip()
    if ttl_days and expires_at:
        return None, [("ttl_days", "give ttl_days or expires_at, not both")]
    now_epoch = epoch(now)
    if ttl_days:
        if not ttl_days.isascii() or not ttl_days.isdigit() or not 1 <= int(ttl_days) <= MAX_TTL_DAYS:
            return None, [("ttl_days", f"must be a whole number of days from 1 to {MAX_TTL_DAYS}")]
        return now_epoch + int(ttl_days) * 86_400, []
    if expires_at:
        if expires_at.isascii() and expires_at.isdigit():
            value = int(expires_at)
        else:
            try:
                moment = datetime.fromisoformat(expires_at)
            except ValueError:
                return None, [("expires_at", "must be epoch seconds or ISO 8601 with a UTC offset")]
            if moment.tzinfo is None:
                return None, [("expires_at", "must include a UTC offset, e.g. 2027-01-31T00:00:00+08:00")]
            value = epoch(moment)
        return value, check_expiry(value, now_epoch)
    return None, []


def check_expiry(value: int, now_epoch: int) -> list[tuple[str, str]]:
    """An explicit expiry must lie in the future and within the longest allowed TTL."""
    if value <= now_epoch:
        return [("expires_at", "must be in the future")]
    if value > now_epoch + MAX_EXPIRY_SECONDS:
        return [("expires_at", f"must be within {MAX_TTL_DAYS} days")]
    return []


def _header(reader: Iterator[list[str]]) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput("invalid import", [FieldError(field="(body)", message="CSV is empty")]) from None
    columns = [c.strip().lower() for c in header]
    problems = []
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        problems.append(FieldError(field="(header)", message=f"missing column(s): {', '.join(missing)}"))
    unknown = [c for c in columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        allowed = ", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
        problems.append(
            FieldError(
                field="(header)", message=f"unknown column(s): {', '.join(unknown)[:200]}; allowed: {allowed}"
            )
        )
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        problems.append(
            FieldError(field="(header)", message=f"duplicated column(s): {', '.join(duplicated)}")
        )
    if problems:
        raise InvalidInput("invalid import", problems)
    return columns


def parse_import(text: str, secret: str, now: datetime) -> tuple[int, list[ImportRow], list[RowError]]:
    """Validate every row: (data rows, good rows hashed, errors of the bad ones).

    Problems with the request as a whole (no header, unknown columns, over
    :data:`MAX_IMPORT_ROWS` rows, malformed CSV) raise :class:`InvalidInput`: nothing is written.
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    columns = _header(reader)
    width = len(columns)
    index = {c: i for i, c in enumerate(columns)}
    good: list[ImportRow] = []
    errors: list[RowError] = []
    rows = 0
    try:
        for cells in reader:
            if not cells or all(not c.strip() for c in cells):
                continue  # blank lines, as spreadsheets leave at the end
            rows += 1
            if rows > MAX_IMPORT_ROWS:
                raise InvalidInput(
                    "invalid import",
                    [FieldError(field="(body)", message=f"more than {MAX_IMPORT_ROWS} rows; split the file")],
                )
            if len(cells) != width:
                errors.append(
                    RowError(
                        row=rows, field="(row)", message=f"has {len(cells)} fields; the header has {width}"
                    )
                )
                continue
            row, problems = _row(rows, cells, index, secret, now)
            if row is not None:
                good.append(row)
            errors.extend(RowError(row=rows, field=f, message=m) for f, m in problems)
    except csv.Error as exc:
        raise InvalidInput(
            "invalid import",
            [FieldError(field="(body)", message=f"malformed CSV after data row {rows}: {exc}")],
        ) from None
    return rows, good, errors


def _row(
    number: int, cells: list[str], index: dict[str, int], secret: str, now: datetime
) -> tuple[ImportRow | None, list[tuple[str, str]]]:
    def cell(name: str) -> str:
        i = index.get(name)
        return cells[i].strip() if i is not None else ""

    problems: list[tuple[str, str]] = []
    kind = key_type = None
    try:
        kind = parse_kind(cell("kind"))
    except ValueError as exc:
        problems.append(("kind", str(exc)))
    try:
        key_type = parse_key_type(cell("key_type"))
    except ValueError as exc:
        problems.append(("key_type", str(exc)))
    raw = cells[index["value"]]
    normalized = None
    if key_type is not None:
        try:
            normalized = normalize(key_type, raw)
        except ValueError as exc:
            problems.append(("value", str(exc)))
    reason, reason_code = cell("reason"), cell("reason_code")
    if reason_code:
        if not REASON_CODE_RE.match(reason_code):
            problems.append(("reason_code", "must be 2-40 of A-Z, 0-9 and _, starting with a letter"))
    elif REASON_CODE_RE.match(reason):
        reason_code, reason = reason, ""
    else:
        reason_code = DEFAULT_REASON_CODE
    if len(reason) > MAX_REASON_CHARS:
        problems.append(("reason", f"is longer than {MAX_REASON_CHARS} characters"))
    elif normalized is not None and mentions_value(reason, raw, normalized):
        problems.append(("reason", "must not contain the listed value (it would be stored in clear)"))
    expires_at, expiry_problems = parse_expiry(cell("ttl_days"), cell("expires_at"), now)
    problems.extend(expiry_problems)
    if problems or kind is None or key_type is None or normalized is None:
        return None, problems
    value_hash = keyed_hash(key_type.value, normalized, secret)
    return ImportRow(number, kind, key_type, value_hash, reason_code, reason, expires_at), []


def split_csv(
    lines: Iterable[list[str]], max_rows: int = MAX_IMPORT_ROWS, max_bytes: int = MAX_CHUNK_BYTES
) -> Iterator[tuple[int, int, str]]:
    """Split parsed CSV rows (header first) into request bodies: (first data row, rows, CSV text).

    Each body repeats the header and holds at most ``max_rows`` rows and about ``max_bytes``.
    """
    iterator = iter(lines)
    header = next(iterator, None)
    if header is None:
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    first, count, seen = 1, 0, 0
    for cells in iterator:
        if not cells or all(not c.strip() for c in cells):
            continue
        writer.writerow(cells)
        count += 1
        seen += 1
        if count == max_rows or buffer.tell() >= max_bytes:
            yield first, count, buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(header)
            first, count = seen + 1, 0
    if count:
        yield first, count, buffer.getvalue()

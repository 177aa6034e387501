"""The book snapshot: one row per account at an observation date, what the batch jobs score.

The planner exports it (Parquet on S3) so a run never reads the live table on its hot path;
:data:`SNAPSHOT_COLUMNS` is its schema (column -> Arrow type name), the one source for the
export, :func:`validate_snapshot`, the generator (:mod:`lendguard.offline.book_synthetic`) and
the facts book rules read (``account.<column>``, :mod:`lendguard.core.book_facts`, where the
dictionary itself lives so the policy loader can read it).

Derived from the account and its loan events (:mod:`lendguard.outcomes.snapshot`), never stored:

- ``balance``: outstanding principal of the account's loans; ``available``: limit less balance
  (0 for a FROZEN/CLOSED account or a used single draw); ``utilisation``: balance / limit;
- ``days_past_due``: the worst loan's dpd at ``as_of``; ``max_dpd_3m`` / ``max_dpd_12m``: the
  highest dpd on any day of the last 90 / 365 days; ``arrears``: instalments due not repaid;
- ``payment_ratio_3m``: repaid / due over the last 90 days (1.0 when nothing fell due);
- ``draws_3m``: draws in the last 90 days; ``loans_repaid``: loans settled;
- ``limit_changes_12m`` / ``days_since_limit_change``: from the account's audit trail (since
  opening when the limit never changed); ``months_on_book``: whole months since opening;
- ``complaints_12m``, ``contacts_today``, ``vulnerable``, ``disputed``,
  ``emergency_contact_only``: what servicing recorded on the account.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from lendguard.book.accounts import Account, AccountStore, available
from lendguard.core.book_facts import SNAPSHOT_COLUMNS
from lendguard.core.errors import FieldError, InvalidInput
from lendguard.outcomes.events import LoanEvent
from lendguard.outcomes.snapshot import account_snapshots, by_loan, max_days_past_due, months_on_book

__all__ = [
    "IDENTIFIERS",
    "SNAPSHOT_COLUMNS",
    "arrow_schema",
    "categorical_columns",
    "snapshot_row",
    "snapshot_rows",
    "validate_snapshot",
]
_ZERO = Decimal("0")


def snapshot_row(account: Account, events: list[LoanEvent], as_of: date) -> dict[str, Any]:
    """One account's snapshot row at ``as_of`` (events after ``as_of`` are ignored)."""
    seen = [e for e in events if e.date <= as_of]
    loans = account_snapshots(account.account_id, seen, as_of)
    balance = sum((s.outstanding_principal for s in loans), _ZERO)
    arrears = sum((s.arrears for s in loans), _ZERO)
    start_3m, start_12m = as_of - timedelta(days=90), as_of - timedelta(days=365)
    per_loan = by_loan(seen)
    max_3m = max((max_days_past_due(evs, start_3m, as_of) for evs in per_loan.values()), default=0)
    max_12m = max((max_days_past_due(evs, start_12m, as_of) for evs in per_loan.values()), default=0)
    window = [e for e in seen if e.date > start_3m]
    due = sum((e.amount or _ZERO for e in window if e.type == "instalment_due"), _ZERO)
    repaid = sum((e.amount or _ZERO for e in window if e.type == "repaid"), _ZERO)
    status = account.status
    if status == "ACTIVE" and any(s.status == "CHARGED_OFF" for s in loans):
        status = "CHARGED_OFF"
    elif status == "ACTIVE" and as_of > account.valid_until and balance == 0:
        status = "CLOSED"
    limit = float(account.credit_limit)
    changed = account.limit_changed_on or account.opened_on
    return {
        "account_id": account.account_id,
        "customer_key": account.customer_key,
        "product": account.product,
        "mode": account.mode,
        "status": status,
        "opened_on": account.opened_on,
        "as_of": as_of,
        "credit_limit": limit,
        "balance": float(balance),
        "available": float(available(account, seen, as_of)) if status == "ACTIVE" else 0.0,
        "apr": float(account.apr),
        "months_on_book": months_on_book(account.opened_on, as_of),
        "utilisation": float(balance) / limit if limit > 0 else 0.0,
        "days_past_due": max((s.days_past_due for s in loans), default=0),
        "max_dpd_3m": max_3m,
        "max_dpd_12m": max_12m,
        "payment_ratio_3m": float(repaid / due) if due > 0 else 1.0,
        "draws_3m": sum(1 for e in window if e.type == "drawn"),
        "limit_changes_12m": account.limit_changes_since(start_12m),
        "days_since_limit_change": max((as_of - changed).days, 0),
        "loans_repaid": sum(1 for s in loans if s.status == "SETTLED"),
        "arrears": float(arrears),
        "complaints_12m": account.complaints_12m,
        "contacts_today": account.contacts_today(as_of),
        "vulnerable": account.vulnerable,
        "disputed": account.disputed,
        "emergency_contact_only": account.emergency_contact_only,
    }


def snapshot_rows(store: AccountStore, as_of: date) -> Iterator[dict[str, Any]]:
    """A row (:data:`SNAPSHOT_COLUMNS`) for every account opened by ``as_of``: the planner's export.

    Pure Python (no pyarrow): the planner turns the rows into Parquet.
    """
    for account in store.accounts():
        if account.opened_on <= as_of:
            yield snapshot_row(account, store.events_of(account.account_id), as_of)


IDENTIFIERS = ("account_id", "customer_key")
"""Snapshot string columns unique to an account; every other string column is a category
(product, mode, status: a few values per shard), read as a dictionary by a shard."""


def categorical_columns() -> list[str]:
    """The snapshot's string columns that are categories (see :data:`IDENTIFIERS`)."""
    return [name for name, kind in SNAPSHOT_COLUMNS.items() if kind == "string" and name not in IDENTIFIERS]


def arrow_schema() -> Any:
    """:data:`SNAPSHOT_COLUMNS` as a ``pyarrow.Schema`` (pyarrow imported here only)."""
    import pyarrow as pa

    types = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(),
             "date32": pa.date32()}  # fmt: skip
    return pa.schema([(name, types[kind]) for name, kind in SNAPSHOT_COLUMNS.items()])


def _type_name(arrow_type: Any) -> str:
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):  # a categorical column read as a dictionary
        arrow_type = arrow_type.value_type
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_date32(arrow_type):
        return "date32"
    if pa.types.is_boolean(arrow_type):
        return "bool"
    return str(arrow_type)  # "int64", "float64", "double" ...


def validate_snapshot(table: Any, columns: Collection[str] | None = None) -> None:
    """Raise :class:`InvalidInput` naming every missing column and every column of the wrong type.

    ``table`` is a ``pyarrow.Table`` (or anything with a ``schema``) or a ``pyarrow.Schema`` (a
    Parquet file's footer, checked before any data is read); ``double`` reads as ``float64``.
    Extra columns are allowed (a newer export read by an older job). ``columns``: check only these
    snapshot columns (a job scoring the columns it reads), default all.
    """
    schema = table if hasattr(table, "names") and not hasattr(table, "schema") else table.schema
    present = {field.name: _type_name(field.type).replace("double", "float64") for field in schema}
    errors: list[FieldError] = []
    for name, kind in SNAPSHOT_COLUMNS.items():
        if columns is not None and name not in columns:
            continue
        if name not in present:
            errors.append(FieldError(field=name, message="column is missing"))
        elif present[name] != kind:
            errors.append(FieldError(field=name, message=f"must be {kind}, got {present[name]}"))
    if errors:
        raise InvalidInput("invalid book snapshot", errors)

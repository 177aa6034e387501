"""The one place the batch machinery reaches the loan-book domain (``lendguard.book``).

The contract it relies on: ``lendguard.book.snapshot`` (``SNAPSHOT_COLUMNS`` column -> arrow type
name, ``snapshot_rows(store, as_of)``, ``validate_snapshot(table)`` raising ``InvalidInput``),
``lendguard.book.jobs`` (``JOBS`` by name, ``JobContext``, ``BatchJob.score/apply/summarise``),
``lendguard.store.accounts.AccountStore`` and the EventBridge publisher ``lendguard.store.events``.
Imports are made when called, so ``JOBS`` is read at run time (tests register fake jobs).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pyarrow as pa

# Arrow types by the names SNAPSHOT_COLUMNS uses.
ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "date32": pa.date32(),
}


def snapshot_schema() -> pa.Schema:
    """The snapshot's Arrow schema, from ``SNAPSHOT_COLUMNS`` (its one source)."""
    from lendguard.book.snapshot import SNAPSHOT_COLUMNS

    return pa.schema([(name, ARROW_TYPES[kind]) for name, kind in SNAPSHOT_COLUMNS.items()])


def validate_snapshot(table: pa.Table) -> None:
    """``InvalidInput`` naming each missing column or wrong type."""
    from lendguard.book.snapshot import validate_snapshot as validate

    validate(table)


def snapshot_rows(as_of: date) -> Iterator[dict[str, Any]]:
    """The accounts as of ``as_of``, one dict per account, read from the accounts table."""
    from lendguard.book.snapshot import snapshot_rows as rows
    from lendguard.store.accounts import AccountStore

    return rows(AccountStore(), as_of)


def job(name: str) -> Any:
    """The registered ``BatchJob`` called ``name``."""
    from lendguard.book.jobs import JOBS

    try:
        return JOBS[name]
    except KeyError:
        raise KeyError(f"no batch job {name!r}; registered: {', '.join(sorted(JOBS))}") from None


def context(name: str, run_id: str, run_date: date, dry_run: bool) -> Any:
    """The job's ``JobContext``: the deployed policy version and the behaviour model it names."""
    from lendguard.book.jobs import JobContext
    from lendguard.settings import settings
    from lendguard.store import artifacts

    policy = artifacts.get_policy(*settings.policy)
    return JobContext(
        job=name, run_id=run_id, run_date=run_date, dry_run=dry_run, policy=policy, model=_model(policy, name)
    )


def _model(policy: Any, name: str) -> Any:
    """The behaviour model the job's policy section names (``model``: id and version), if any."""
    from lendguard.store import artifacts

    section = getattr(policy, {"inloan": "in_loan", "postloan": "post_loan"}.get(name, name), None)
    ref = getattr(section, "model", None)
    if ref is None:
        return None
    return artifacts.get_model(ref.id, ref.version)


def apply_targets() -> tuple[Any, Any]:
    """What ``BatchJob.apply`` writes to: the account store and the event publisher."""
    from lendguard.store import events
    from lendguard.store.accounts import AccountStore

    return AccountStore(), events

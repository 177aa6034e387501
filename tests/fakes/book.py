"""A small stand-in for the loan-book domain (``lendguard.book``), in tests only.

It implements the contract the batch machinery is written against (see lendguard/batch/book.py)
with in-memory accounts and an in-memory apply log, so the orchestration can be tested before,
and independently of, the real jobs. :func:`install` puts the modules in ``sys.modules`` through
a pytest ``monkeypatch``, so they vanish when the test ends.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lendguard.core.errors import FieldError, InvalidInput

SNAPSHOT_COLUMNS: dict[str, str] = {
    "account_id": "string",
    "customer_key": "string",
    "status": "string",
    "as_of": "date32",
    "utilisation": "float64",
    "days_past_due": "int64",
}
ARROW = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(),
         "date32": pa.date32()}  # fmt: skip


@dataclass
class FakeBook:
    """The accounts the snapshot reads, what apply did, and shards made to fail (by account)."""

    accounts: list[dict[str, Any]] = field(default_factory=list)
    applied: dict[tuple[str, str, date], str] = field(default_factory=dict)
    apply_calls: int = 0
    failing_accounts: set[str] = field(default_factory=set)
    events: list[dict[str, Any]] = field(default_factory=list)

    def add_accounts(self, n: int, as_of: date, start: int = 0) -> None:
        for i in range(start, start + n):
            self.accounts.append(
                {
                    "account_id": f"A{i:07d}",
                    "customer_key": f"k{i:07d}",
                    "status": "active",
                    "as_of": as_of,
                    "utilisation": (i % 10) / 10,
                    "days_past_due": i % 7,
                }
            )


def validate_snapshot(table: pa.Table) -> None:
    details = []
    for name, kind in SNAPSHOT_COLUMNS.items():
        if name not in table.column_names:
            details.append(FieldError(field=name, message="missing column"))
        elif table.schema.field(name).type != ARROW[kind]:
            details.append(
                FieldError(field=name, message=f"must be {kind}, not {table.schema.field(name).type}")
            )
    if details:
        raise InvalidInput("invalid snapshot", details)


@dataclass(frozen=True)
class JobContext:
    job: str
    run_id: str
    run_date: date
    dry_run: bool
    policy: Any
    model: Any


class FakeJob:
    """LIMIT_DOWN above 80% utilisation, FREEZE at 5+ days past due, else NONE."""

    def __init__(self, book: FakeBook) -> None:
        self.book = book

    def score(self, shard: pa.Table, ctx: JobContext) -> pa.Table:
        ids = shard.column("account_id").to_pylist()
        if self.book.failing_accounts & set(ids):
            raise RuntimeError("injected shard failure")
        util = shard.column("utilisation")
        dpd = shard.column("days_past_due")
        action = pc.if_else(
            pc.greater_equal(dpd, 5), "FREEZE", pc.if_else(pc.greater(util, 0.8), "LIMIT_DOWN", "NONE")
        )
        return pa.table(
            {
                "account_id": shard.column("account_id"),
                "action": action,
                "reasons": pa.array([[] for _ in ids], type=pa.list_(pa.string())),
                "trace": pa.array(["[]"] * len(ids)),
                "segment": pc.if_else(pc.greater(dpd, 0), "overdue", "current"),
            }
        )

    def apply(self, actions: pa.Table, ctx: JobContext, store: Any, events: Any) -> dict[str, int]:
        self.book.apply_calls += 1
        if ctx.dry_run:
            return {}
        new = 0
        for row in actions.select(["account_id", "action"]).to_pylist():
            if row["action"] == "NONE":
                continue
            key = (row["account_id"], ctx.job, ctx.run_date)
            if key not in self.book.applied:
                self.book.applied[key] = row["action"]
                new += 1
        return {"applied": new}

    def summarise(self, actions: pa.Table) -> dict[str, Any]:
        counts = pc.value_counts(actions.column("action")).to_pylist()
        segments = pc.value_counts(actions.column("segment")).to_pylist()
        return {
            "by_action": {c["values"]: c["counts"] for c in counts},
            "by_segment": {c["values"]: c["counts"] for c in segments},
        }


def install(monkeypatch: Any, book: FakeBook | None = None) -> FakeBook:
    """Register the fake ``lendguard.book`` modules (and account store / events) for one test."""
    book = book or FakeBook()

    def snapshot_rows(store: Any, as_of: date) -> Iterator[dict[str, Any]]:
        return iter([dict(a) for a in book.accounts])

    package = types.ModuleType("lendguard.book")
    package.__path__ = []  # a package
    snapshot = types.ModuleType("lendguard.book.snapshot")
    snapshot.SNAPSHOT_COLUMNS = SNAPSHOT_COLUMNS
    snapshot.snapshot_rows = snapshot_rows
    snapshot.validate_snapshot = validate_snapshot
    jobs = types.ModuleType("lendguard.book.jobs")
    job = FakeJob(book)
    jobs.JOBS = {"inloan": job, "postloan": job}
    jobs.JobContext = JobContext
    accounts = types.ModuleType("lendguard.store.accounts")
    accounts.AccountStore = lambda: book
    events = types.ModuleType("lendguard.store.events")
    events.publish = book.events.append
    for name, module in {
        "lendguard.book": package, "lendguard.book.snapshot": snapshot, "lendguard.book.jobs": jobs,
        "lendguard.store.accounts": accounts, "lendguard.store.events": events,
    }.items():  # fmt: skip
        monkeypatch.setitem(sys.modules, name, module)
    import lendguard
    import lendguard.store

    monkeypatch.setattr(lendguard, "book", package, raising=False)
    monkeypatch.setattr(lendguard.store, "accounts", accounts, raising=False)
    monkeypatch.setattr(lendguard.store, "events", events, raising=False)
    return book

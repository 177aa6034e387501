"""The one place the batch machinery reaches the loan-book domain (``lendguard.book``).

What it uses: ``lendguard.book.snapshot`` (``SNAPSHOT_COLUMNS`` column -> arrow type name,
``snapshot_rows(store, as_of)``, ``validate_snapshot(table)`` raising ``InvalidInput``),
``lendguard.book.jobs`` (``JOBS`` by name, ``JobContext``, ``BatchJob.score/apply/summarise``, where
``apply(actions, ctx, store, publisher)`` takes an account store and an event publisher),
``lendguard.store.accounts.DynamoAccountStore`` and ``lendguard.store.events.EventBridgePublisher``
(the bus ``LENDGUARD_EVENT_BUS`` names). The behaviour models are the ones the policy's
``in_loan.model`` / ``post_loan.model`` name, read from the artifacts bucket, where a release (and
the local runtime) publishes them. Imports are made when called, so ``JOBS`` is read at run time
(a test may register a job of its own, e.g. one made to fail).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pyarrow as pa

from lendguard.batch.model import RunPlan


def snapshot_schema() -> pa.Schema:
    """The snapshot's Arrow schema (``lendguard.book.snapshot.arrow_schema``, from ``SNAPSHOT_COLUMNS``)."""
    from lendguard.book.snapshot import arrow_schema

    schema: pa.Schema = arrow_schema()
    return schema


def validate_snapshot(table: pa.Table | pa.Schema) -> None:
    """``InvalidInput`` naming each missing column or wrong type (of a table, or a file's schema)."""
    from lendguard.book.snapshot import validate_snapshot as validate

    validate(table)


def categorical_columns() -> list[str]:
    """The snapshot's category columns (``lendguard.book.snapshot.categorical_columns``)."""
    from lendguard.book.snapshot import categorical_columns as categories

    return categories()


def snapshot_rows(as_of: date) -> Iterator[dict[str, Any]]:
    """The accounts as of ``as_of``, one dict per account, read from the accounts table."""
    from lendguard.book.snapshot import snapshot_rows as rows
    from lendguard.store.accounts import DynamoAccountStore

    return rows(DynamoAccountStore(), as_of)


def job(name: str) -> Any:
    """The registered ``BatchJob`` called ``name``."""
    from lendguard.book.jobs import JOBS

    try:
        return JOBS[name]
    except KeyError:
        raise KeyError(f"no batch job {name!r}; registered: {', '.join(sorted(JOBS))}") from None


def pinned_policy() -> tuple[str, int]:
    """The version a run scores with: the champion in force (as Validate picks it without a
    routing's arms), else the deployment's policy: a release activated without a deploy reaches
    the nightly runs too."""
    from lendguard.lifecycle.service import champion
    from lendguard.settings import settings

    return champion(settings.policy[0]) or settings.policy


def context(plan: RunPlan) -> Any:
    """The job's ``JobContext``: the plan's pinned policy version and the behaviour model it names."""
    from lendguard.book.jobs import JobContext
    from lendguard.store import artifacts

    policy = artifacts.get_policy(plan.policy_id, plan.policy_version)
    return JobContext(
        job=plan.job, run_id=plan.run_id, run_date=plan.run_date, dry_run=plan.dry_run, policy=policy,
        model=_model(policy, plan.job),
    )  # fmt: skip


# The policy section of each job: its ``model`` (id and version, or None) is the job's model.
POLICY_SECTIONS: dict[str, str] = {"inloan": "in_loan", "postloan": "post_loan"}


def _model(policy: Any, name: str) -> Any:
    """The model the job's policy section names (``model``: id and version), if any."""
    from lendguard.store import artifacts

    ref = getattr(policy, POLICY_SECTIONS[name]).model
    if ref is None:
        return None
    return artifacts.get_model(ref.id, ref.version)


def apply_targets() -> tuple[Any, Any]:
    """What ``BatchJob.apply`` writes to: the accounts table and the deployment's book event bus."""
    from lendguard.store.accounts import DynamoAccountStore
    from lendguard.store.events import EventBridgePublisher

    return DynamoAccountStore(), EventBridgePublisher()

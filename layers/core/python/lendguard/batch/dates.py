"""Run dates: the scheduler's UTC fire time as an Asia/Shanghai business day, and run names."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from lendguard import deployment

BUSINESS_TZ = ZoneInfo(deployment.BATCH_SCHEDULE_TIMEZONE)


def business_date(moment: datetime) -> date:
    """The Asia/Shanghai calendar day of ``moment`` (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BUSINESS_TZ).date()


def today(now: datetime | None = None) -> date:
    """Today in Asia/Shanghai."""
    return business_date(now or datetime.now(UTC))


def run_id(job: str, run_date: date, dry_run: bool) -> str:
    """``<job>-<YYYY-MM-DD>[-dry-run]``: the run's key, its S3 folder and its first execution name.

    A dry run has its own id, so rehearsing a date never blocks (or is mistaken for) the real run.
    """
    return f"{job}-{run_date.isoformat()}" + ("-dry-run" if dry_run else "")


def execution_name(job: str, run_date: date, dry_run: bool, attempt: int = 1) -> str:
    """The execution name of the ``attempt``-th start of a run: derived from (job, run date).

    Step Functions keeps a STANDARD execution's name for 90 days, so a resumed run (after a
    failed attempt) needs a new one: ``-r2``, ``-r3`` ...
    """
    base = run_id(job, run_date, dry_run)
    return base if attempt == 1 else f"{base}-r{attempt}"

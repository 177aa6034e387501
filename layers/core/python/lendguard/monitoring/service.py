"""The scheduled monitor run: which day, which baselines, where the report goes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pydantic import ConfigDict

from lendguard.core.base_model import Model
from lendguard.monitoring.days import previous_day
from lendguard.monitoring.evaluate import MonitorReport
from lendguard.monitoring.job import run_monitor
from lendguard.monitoring.publish import publish_flags
from lendguard.monitoring.sources import CaseTableSource


class MonitorEvent(Model):
    """The scheduler's input: no day means yesterday (Shanghai); a day reruns that day."""

    model_config = ConfigDict(extra="forbid")

    day: date | None = None


def compute_report(first: date, last: date) -> MonitorReport:
    """The monitor over the deployment's cases (records, archived facts, loan events) of days
    ``first`` to ``last`` (outcomes as of ``last``), against the deployed policy's thresholds and
    its model's baseline."""
    from lendguard.settings import settings
    from lendguard.store import artifacts

    policy = artifacts.get_policy(*settings.policy)
    model_ref = policy.scoring.model
    model = artifacts.get_model(model_ref.id, model_ref.version)
    source = CaseTableSource()
    return run_monitor(
        source, first, last, policy.monitoring, training=model.metadata.baseline,
        model_inputs=model.metadata.feature_names, model=f"{model_ref.id}:{model_ref.version}",
        outcomes=source, score_bands=policy.limits.score_bands,
    )  # fmt: skip


def run_scheduled(event: dict[str, Any], namespace: str, now: datetime | None = None) -> dict[str, Any]:
    """Compute the day's report, write it to S3 and publish the flag metrics; a short summary back."""
    from lendguard.store import monitor_reports

    request = MonitorEvent.model_validate({k: v for k, v in event.items() if k == "day"})
    day = request.day or previous_day(now or datetime.now(UTC))
    report = compute_report(day, day)
    where = monitor_reports.put_report(day, day, report.model_dump_json(indent=1).encode())
    publish_flags(namespace, report)
    flags = report.flag_counts()
    return {"day": day.isoformat(), "cases": report.cases, "report": where, "flags": flags}

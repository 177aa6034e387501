"""The three batch functions' bodies (``functions/batch_*/handler.py`` are one line each)."""

from __future__ import annotations

from typing import Any

from lendguard.batch.planner import plan_run
from lendguard.batch.shard import run_shard
from lendguard.batch.summary import summarise_run
from lendguard.decision.handlers import Handler, Telemetry, lambda_handler


def _planner(event: dict[str, Any], telemetry: Telemetry) -> dict[str, Any]:
    plan = plan_run(str(event.get("job")), str(event.get("execution")), dict(event.get("request") or {}))
    telemetry.logger.info(
        "batch run planned", extra={"run_id": plan.run_id, "shards": plan.shards, "skip": plan.skip}
    )
    return plan.model_dump(mode="json")


def _shard(event: dict[str, Any], telemetry: Telemetry) -> dict[str, Any]:
    return run_shard(event)


def _summary(event: dict[str, Any], telemetry: Telemetry) -> dict[str, Any]:
    summary, key = summarise_run(event, namespace=telemetry.metrics.namespace or "LendGuard")
    telemetry.logger.info("batch run summarised", extra={"run_id": summary.run_id, "status": summary.status})
    return {"run_id": summary.run_id, "status": summary.status, "summary_key": key,
            "accounts": summary.accounts}  # fmt: skip


planner_handler: Handler = lambda_handler(_planner)
shard_handler: Handler = lambda_handler(_shard)
summary_handler: Handler = lambda_handler(_summary)

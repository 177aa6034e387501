"""The sharded backtest's three function bodies (``functions/backtest_*/handler.py`` are one line each).

They ship in the "backtest" layer (pandas and ``lendguard.offline.backtest``) on top of the core
and deps layers; see :mod:`lendguard.offline.backtest.sharded`.
"""

from __future__ import annotations

from typing import Any

from lendguard.decision.handlers import Handler, Telemetry, lambda_handler
from lendguard.offline.backtest.sharded import plan_backtest, run_shard, summarise


def _planner(event: dict[str, Any], telemetry: Telemetry) -> dict[str, Any]:
    plan = plan_backtest(str(event.get("execution")), dict(event.get("request") or {}))
    telemetry.logger.info("backtest planned", extra={"run_id": plan.run_id, "shards": plan.shards})
    return plan.model_dump(mode="json")


def _shard(event: dict[str, Any], telemetry: Telemetry) -> dict[str, Any]:
    return run_shard(event)


def _summary(event: dict[str, Any], telemetry: Telemetry) -> dict[str, Any]:
    summary = summarise(event, namespace=telemetry.metrics.namespace or "LendGuard")
    telemetry.logger.info("backtest summarised", extra={"run_id": summary.run_id, "status": summary.status})
    return {"run_id": summary.run_id, "status": summary.status, "report_key": summary.report_key,
            "rows": summary.rows}  # fmt: skip


planner_handler: Handler = lambda_handler(_planner)
shard_handler: Handler = lambda_handler(_shard)
summary_handler: Handler = lambda_handler(_summary)

"""A backtest over the case archive on the batch machine's shape (``statemachines/backtest.asl.json``).

One machine's memory and time are not the product's limit: the planner claims the run (the batch
runs table, as in-loan and post-loan runs do), lists the archive window and writes the window's
headers as shards of JSON lines (the archive's own header format) with a JSON manifest; a
Distributed Map runs :func:`run_shard` once per shard, which evaluates its cases with the
candidate (and the compared policy) and writes its partial aggregates; :func:`summarise` checks
the shards expected against the done markers written (:func:`lendguard.batch.summary.check_shards`),
fails above the tolerated share, merges with ``merge_all`` and writes ``report.json``.

Objects live under the batch prefix (``batch/<run id>/``, :mod:`lendguard.batch.layout`), so the
machine's one S3 grant covers its manifest too. This module ships to Lambda in the "backtest"
layer (pandas and ``lendguard.offline.backtest``), never in the core layer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import ConfigDict, Field, ValidationError

from lendguard.batch import layout
from lendguard.batch.dates import today
from lendguard.batch.errors import BatchRunFailed, SnapshotMissing
from lendguard.batch.model import ShardDone, ShardItem
from lendguard.batch.shard_input import check_rows, read_shard
from lendguard.batch.summary import RUN_FAILED_METRIC, check_shards, error_text
from lendguard.core.base_model import Model
from lendguard.core.errors import FieldError, InvalidInput, NotFound
from lendguard.offline.backtest.aggregates import Aggregates, merge_all
from lendguard.offline.backtest.compare import SwapAggregates
from lendguard.offline.backtest.run import Candidate
from lendguard.offline.backtest.shard_size import DEFAULT_SHARD_CASES, MAX_SHARD_CASES

JOB = "backtest"
MESSAGE = "the backtest cannot run"
# The map's ToleratedFailurePercentage: the ASL passes the same number to the summary (tests hold them).
# A report over part of the window would silently differ from the one-process backtest: no shard
# may be missing (each is retried first).
TOLERATED_FAILURE_PERCENT = 0.0


class BacktestStart(Model):
    """The machine's input: which cases, which policy (and which to compare), how many per shard."""

    model_config = ConfigDict(extra="forbid")

    cases: Annotated[str, Field(min_length=1, max_length=200, description="FROM..TO, as --cases")]
    policy: Annotated[str, Field(min_length=3, max_length=200, description="stored policy id@version")]
    compare: Annotated[str, Field(min_length=3, max_length=200)] | None = None
    shard_cases: Annotated[int, Field(ge=1, le=MAX_SHARD_CASES)] = DEFAULT_SHARD_CASES


class BacktestPlan(Model):
    """The planner's answer, carried to every shard and to the summary."""

    model_config = ConfigDict(extra="ignore")  # the machine adds map_error on a failed map

    run_id: str
    execution: str
    attempt: int
    bucket: str
    manifest_key: str
    shards: int
    cases: int
    window: tuple[datetime, datetime]
    policy: tuple[str, int]
    compare: tuple[str, int] | None = None
    planned_at: datetime  # the decision time offers are quoted at, the same for every shard
    skip: bool = False


class BacktestShardTask(Model):
    model_config = ConfigDict(extra="forbid")

    plan: BacktestPlan
    shard: ShardItem


class ShardPart(Model):
    """What one shard found: its counts of cases and its partial aggregates (None without rows)."""

    seen: int = 0
    failed: int = 0
    erased: int = 0
    not_evaluable: list[dict[str, Any]] = Field(default_factory=list)
    rows: int = 0
    base: Aggregates | None = None
    other: Aggregates | None = None
    swaps: SwapAggregates | None = None


class BacktestSummary(Model):
    """``batch/<run id>/summary.json``: the run's outcome and where its report is."""

    run_id: str
    job: str = JOB
    status: str  # SUCCEEDED | FAILED
    execution: str
    attempt: int
    cases: str
    policy: str
    compare: str | None
    shards_expected: int
    shards_written: int
    missing_shards: list[int]
    failed_share_percent: float
    tolerated_failure_percent: float
    cases_in_window: int
    rows: int
    report_key: str | None
    reason: str | None = None
    map_error: str | None = None
    finished_at: datetime


def cases_key(run_id: str, shard: int) -> str:
    """A shard's archive headers, one JSON line each."""
    return layout.shard_key(run_id, "cases", shard, "jsonl")


def part_key(run_id: str, shard: int) -> str:
    """A shard's partial aggregates (:class:`ShardPart` JSON)."""
    return layout.shard_key(run_id, "results", shard, "json")


def report_key(run_id: str) -> str:
    return f"{layout.run_prefix(run_id)}report.json"


def parse_ref(text: str, field: str) -> tuple[str, int]:
    """``id@version`` of a stored policy; :class:`InvalidInput` naming ``field`` otherwise."""
    pid, sep, version = text.partition("@")
    if not sep or not pid or not version.isdigit() or int(version) < 1:
        raise InvalidInput(MESSAGE, [FieldError(field=field, message=f"{text!r} is not id@version")])
    return pid, int(version)


def load_candidate(ref: tuple[str, int], field: str) -> Candidate:
    """The stored policy ``ref`` and the model it scores with, from the artifacts bucket."""
    from lendguard.store import artifacts

    try:
        policy = artifacts.get_policy(*ref)
        model = artifacts.get_model(policy.scoring.model.id, policy.scoring.model.version)
    except NotFound as exc:
        raise InvalidInput(MESSAGE, [FieldError(field=field, message=str(exc))]) from None
    return Candidate(policy, model)


# ---- plan -------------------------------------------------------------------------------------


def plan_backtest(execution: str, request: dict[str, Any], now: datetime | None = None) -> BacktestPlan:
    """Check the start, claim the run, write the window's header shards and the manifest.

    Every check comes before anything is written: an unknown policy, a bad window or shard size,
    or a window without a case fails with :class:`InvalidInput` naming the field.
    """
    from lendguard.offline.backtest.cases_source import parse_window
    from lendguard.store import archive, batch_objects, batch_runs
    from lendguard.store.batch_runs import RunRecord

    now = now or datetime.now(UTC)
    try:
        start = BacktestStart.model_validate(request)
    except ValidationError as exc:
        raise InvalidInput.from_validation_error(MESSAGE, exc) from None
    window = parse_window(start.cases, option="cases")
    refs = {"policy": parse_ref(start.policy, "policy")}
    if start.compare is not None:
        refs["compare"] = parse_ref(start.compare, "compare")
    for field, ref in refs.items():
        load_candidate(ref, field)
    headers = [h for h in archive.iter_headers(window[0]) if window[0] <= h.received_at <= window[1]]
    if not headers:
        raise InvalidInput(MESSAGE, [FieldError(field="cases", message=f"no archived case received in {start.cases}")])  # fmt: skip
    claimed = batch_runs.claim_run(
        RunRecord(run_id=execution, job=JOB, run_date=today(now), dry_run=False, status="RUNNING",
                  execution=execution, attempt=1, started_at=now)
    )  # fmt: skip
    plan = BacktestPlan(
        run_id=execution, execution=execution, attempt=claimed.attempt, bucket=batch_objects.bucket(),
        manifest_key=layout.manifest_key(execution), shards=claimed.shards or 0, cases=claimed.rows or 0,
        window=window, policy=refs["policy"], compare=refs.get("compare"), planned_at=now,
        skip=claimed.status == "SUCCEEDED",
    )  # fmt: skip
    if plan.skip:
        return plan
    try:
        batch_objects.delete_prefix(layout.shard_done_prefix(execution))
        items = []
        for shard, offset in enumerate(range(0, len(headers), start.shard_cases)):
            chunk = headers[offset : offset + start.shard_cases]
            key = cases_key(execution, shard)
            body = "".join(h.model_dump_json() + "\n" for h in chunk).encode()
            batch_objects.put(key, body, "application/x-ndjson")
            items.append(ShardItem(shard=shard, key=key, rows=len(chunk)))
        batch_objects.put(
            plan.manifest_key, json.dumps([i.model_dump() for i in items]).encode(), "application/json"
        )
        batch_runs.set_planned(execution, execution, len(items), len(headers))
    except Exception as exc:  # the run is closed, never left RUNNING
        reason = f"{type(exc).__name__}: {exc}"
        batch_runs.finish_run(execution, execution, "FAILED", datetime.now(UTC), reason=reason)
        raise
    return plan.model_copy(update={"shards": len(items), "cases": len(headers)})


# ---- shard ------------------------------------------------------------------------------------


def evaluate_cases(plan: BacktestPlan, headers: list[Any]) -> ShardPart:
    """Evaluate ``headers``' cases with the plan's policies: the shard's :class:`ShardPart`."""
    from lendguard.offline.backtest.cases_source import ArchivedCases
    from lendguard.offline.backtest.run import prepare_all, shard_aggregates

    base = load_candidate(plan.policy, "policy")
    other = load_candidate(plan.compare, "compare") if plan.compare else None
    source = ArchivedCases(*plan.window, [c for c in (base, other) if c is not None])
    rows = source.read(headers)
    part = ShardPart(seen=source.seen, failed=source.failed, erased=source.erased,
                     not_evaluable=source.not_evaluable, rows=len(rows))  # fmt: skip
    if not rows:
        return part
    prepared, other_prepared = prepare_all(source.frame(rows), base, other, None, None)
    agg, other_agg, swaps = shard_aggregates(
        base, prepared.frame, None, other, other_prepared.frame if other_prepared else None, plan.planned_at
    )
    return part.model_copy(update={"base": agg, "other": other_agg, "swaps": swaps})


def run_shard(event: dict[str, Any]) -> dict[str, Any]:
    """Evaluate one shard of the window; write its part, then its done marker (last)."""
    from lendguard.cases.archive import ArchiveHeader
    from lendguard.store import batch_objects

    task = BacktestShardTask.model_validate(event)
    plan, item = task.plan, task.shard
    body = read_shard(plan.run_id, item, "cases")
    headers = [ArchiveHeader.model_validate_json(line) for line in body.decode().splitlines() if line]
    check_rows(plan.run_id, item, len(headers), "cases")
    part = evaluate_cases(plan, headers)
    key = part_key(plan.run_id, item.shard)
    batch_objects.put(key, part.model_dump_json().encode(), "application/json")
    done = ShardDone(shard=item.shard, rows=part.rows, results_key=key, summary={"cases": part.seen})
    batch_objects.put(
        layout.shard_done_key(plan.run_id, item.shard), done.model_dump_json().encode(), "application/json"
    )
    return {"shard": item.shard, "rows": part.rows}


# ---- summary ----------------------------------------------------------------------------------


def merge_parts(plan: BacktestPlan, parts: list[ShardPart]) -> Any:
    """The report of the shards' parts (in shard order), as one pass over the window would make it.

    Raises :class:`InvalidInput` (field ``cases``) when no case of the window was evaluable, as the
    one-process backtest does.
    """
    from lendguard.offline.backtest.cases_source import ArchivedCases
    from lendguard.offline.backtest.report import build_report

    source = ArchivedCases(*plan.window, [])
    for part in parts:
        source.seen += part.seen
        source.failed += part.failed
        source.erased += part.erased
        source.not_evaluable.extend(part.not_evaluable)
    rows = sum(p.rows for p in parts)
    if not rows:
        source.frame([])  # raises the one-process backtest's InvalidInput
    base = load_candidate(plan.policy, "policy")
    agg = merge_all(p.base for p in parts if p.base is not None)
    comparison = None
    if plan.compare is not None:
        other = load_candidate(plan.compare, "compare")
        swaps = [p.swaps for p in parts if p.swaps is not None]
        merged = swaps[0]
        for s in swaps[1:]:
            merged = merged.merge(s)
        comparison = (other.policy, merge_all(p.other for p in parts if p.other is not None), merged)
    return build_report(base.policy, agg, {**source.describe(), "rows": rows}, comparison)


def summarise(event: dict[str, Any], namespace: str, now: datetime | None = None) -> BacktestSummary:
    """Check the shards, merge them, write ``report.json`` and ``summary.json``, close the run.

    Raises :class:`BatchRunFailed` above the tolerated share of missing shards, and
    :class:`InvalidInput` when no case was evaluable; the summary and the run record say so, and
    no report is written then.
    """
    from lendguard.store import batch_objects, batch_runs

    raw = dict(event["plan"])
    map_error = raw.pop("map_error", None)
    plan = BacktestPlan.model_validate(raw)
    tolerated = float(event["tolerated_failure_percentage"])
    check = check_shards(plan.run_id, plan.shards, tolerated)
    failure: Exception | None = None
    key: str | None = None
    rows = seen = 0
    if check.failed:
        failure = BatchRunFailed(
            f"run {plan.run_id}: {len(check.missing)} of {plan.shards} shards not written "
            f"({check.share:.1f}% > tolerated {tolerated:.1f}%)"
        )
    else:
        parts = []
        for shard in sorted(check.done):
            body = batch_objects.get(check.done[shard].results_key)
            if body is None:
                raise SnapshotMissing(f"shard {shard} of run {plan.run_id}: its part is gone")
            parts.append(ShardPart.model_validate_json(body))
        rows, seen = sum(p.rows for p in parts), sum(p.seen for p in parts)
        try:
            report = merge_parts(plan, parts)
        except InvalidInput as exc:
            failure = exc
        else:
            key = report_key(plan.run_id)
            batch_objects.put(key, report.model_dump_json(indent=1).encode(), "application/json")
    summary = BacktestSummary(
        run_id=plan.run_id, status="FAILED" if failure else "SUCCEEDED", execution=plan.execution,
        attempt=plan.attempt, cases=f"{plan.window[0].isoformat()}..{plan.window[1].isoformat()}",
        policy="@".join(map(str, plan.policy)), compare="@".join(map(str, plan.compare)) if plan.compare else None,
        shards_expected=plan.shards, shards_written=len(check.done), missing_shards=check.missing,
        failed_share_percent=round(check.share, 3), tolerated_failure_percent=tolerated,
        cases_in_window=seen, rows=rows, report_key=key, reason=str(failure) if failure else None,
        map_error=error_text(map_error), finished_at=now or datetime.now(UTC),
    )  # fmt: skip
    batch_objects.put(
        layout.summary_key(plan.run_id), summary.model_dump_json(indent=1).encode(), "application/json"
    )
    batch_runs.finish_run(
        plan.run_id, plan.execution, summary.status, summary.finished_at, reason=summary.reason,
        summary_key=layout.summary_key(plan.run_id),
    )  # fmt: skip
    _publish(namespace, failure is not None)
    if failure is not None:
        raise failure
    return summary


def _publish(namespace: str, failed: bool) -> None:
    """The run-failed metric (0/1, dimension job=backtest) the run-failed alarm watches."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(
        name=RUN_FAILED_METRIC, unit=MetricUnit.Count, value=1.0 if failed else 0.0, namespace=namespace
    ) as metric:
        metric.add_dimension(name="job", value=JOB)

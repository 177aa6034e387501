"""Batch run dates, names, summary arithmetic and the ASL the two jobs share."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from lendguard import deployment
from lendguard.batch.dates import business_date, execution_name, run_id
from lendguard.batch.model import BatchStart
from lendguard.batch.planner import resolve_run_date
from lendguard.batch.summary import merge_counts
from lendguard.core.errors import InvalidInput
from lendguard.offline import project

NOW = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)  # 02:00 on the 29th in Shanghai


def test_scheduled_time_is_read_as_the_shanghai_day() -> None:
    assert business_date(datetime(2026, 11, 28, 15, 59, tzinfo=UTC)) == date(2026, 11, 28)
    assert business_date(datetime(2026, 11, 28, 16, 0, tzinfo=UTC)) == date(2026, 11, 29)
    start = BatchStart.model_validate({"scheduled_time": "2026-11-28T17:30:00Z"})
    assert resolve_run_date(start, NOW) == date(2026, 11, 29)


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({}, "run_date"),
        ({"run_date": "2026-11-30"}, "run_date"),
        ({"scheduled_time": "2026-11-29T17:00:00Z"}, "scheduled_time"),
    ],
)
def test_a_start_without_a_day_or_for_a_future_day_is_refused_naming_the_field(request_, field) -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve_run_date(BatchStart.model_validate(request_), NOW)
    assert [d.field for d in caught.value.details] == [field]


def test_run_ids_and_execution_names_derive_from_job_and_day() -> None:
    day = date(2026, 11, 29)
    assert run_id("inloan", day, False) == execution_name("inloan", day, False) == "inloan-2026-11-29"
    assert execution_name("postloan", day, True, attempt=3) == "postloan-2026-11-29-dry-run-r3"


def test_merge_counts_sums_nested_numbers() -> None:
    total: dict = {}
    merge_counts(total, {"by_action": {"FREEZE": 2, "NONE": 1}, "label": "x"})
    merge_counts(total, {"by_action": {"FREEZE": 1}, "label": "y"})
    assert total == {"by_action": {"FREEZE": 3, "NONE": 1}, "label": "x"}


def _asl(job: str) -> dict:
    return json.loads(project.definition_path(deployment.BATCH_STATE_MACHINES[job]).read_text())


@pytest.mark.parametrize("job", list(deployment.BATCH_STATE_MACHINES))
def test_summary_uses_the_maps_tolerated_failure_percentage(job) -> None:
    states = _asl(job)["States"]
    tolerated = states["ScoreShards"]["ToleratedFailurePercentage"]
    assert isinstance(tolerated, float)  # moto rejects an integer percentage
    assert states["Summarise"]["Parameters"]["Payload"]["tolerated_failure_percentage"] == tolerated
    assert states["Plan"]["Parameters"]["Payload"]["job"] == job
    assert states["ScoreShards"]["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert "ItemBatcher" not in states["ScoreShards"] and "ResultWriter" not in states["ScoreShards"]


def test_the_two_jobs_share_one_definition_but_for_the_job() -> None:
    inloan, postloan = _asl("inloan"), _asl("postloan")
    for asl in (inloan, postloan):
        asl.pop("Comment")
        asl["States"]["Plan"]["Parameters"]["Payload"].pop("job")
    assert inloan == postloan

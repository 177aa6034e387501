"""The loan book on the local stack (moto): seed, export the snapshot, score, apply, publish."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 1)


def test_a_seeded_book_is_snapshotted_scored_and_applied_once(runtime):
    from lendguard import deployment
    from lendguard.book.jobs import JOBS, JobContext
    from lendguard.book.snapshot import arrow_schema, snapshot_rows, validate_snapshot
    from lendguard.models.artifact import ModelArtifact
    from lendguard.offline.local.book_seed import seed_book
    from lendguard.store import artifacts
    from lendguard.store.accounts import DynamoAccountStore
    from lendguard.store.aws import client
    from lendguard.store.events import EventBridgePublisher

    counts = seed_book(runtime.policy, 150, 5, AS_OF)
    assert counts["accounts"] == 150 and counts["events"] > 150
    store = DynamoAccountStore()
    rows = list(snapshot_rows(store, AS_OF))
    assert len(rows) >= 150
    table = pa.Table.from_pylist(rows, schema=arrow_schema())
    validate_snapshot(table)
    assert sum(r["days_past_due"] > 0 for r in rows) > 0 and sum(r["balance"] > 0 for r in rows) > 100

    # The runtime published the policy's book models where the batch finds them.
    ref = runtime.policy.in_loan.model
    model = artifacts.get_model(ref.id, ref.version)
    assert model.sha256 == ModelArtifact.load(ROOT / "tests" / "data" / "models" / ref.id / "v1").sha256
    ctx = JobContext(job="inloan", run_id="local-1", run_date=AS_OF, policy=runtime.policy, model=model)
    actions = JOBS["inloan"].score(table, ctx)
    assert actions.num_rows == table.num_rows
    acted = sum(a != "NONE" for a in actions.column("action").to_pylist())
    assert acted > 0
    # Events go to the deployment's bus: a rule sends them to a queue the test reads.
    sqs, events = client("sqs"), client("events")
    queue = sqs.create_queue(QueueName="book-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = os.environ[deployment.ENV_EVENT_BUS]
    events.put_rule(Name="book", EventBusName=bus, EventPattern='{"source": ["lendguard.book"]}')
    events.put_targets(Rule="book", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    first = JOBS["inloan"].apply(actions, ctx, store, EventBridgePublisher())
    assert first["applied"] == acted and first["already_applied"] == 0
    again = JOBS["inloan"].apply(actions, ctx, store, EventBridgePublisher())
    assert again["applied"] == 0 and again["already_applied"] == acted
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    assert received and first["published"] > 0

"""``lendguard.batch.book``, the batch's one door to the loan book, against the real domain API."""

from __future__ import annotations

import inspect

import pytest

from lendguard.batch import book
from lendguard.batch.model import JOBS as BATCH_JOBS
from lendguard.book.jobs import JOBS, BatchJob
from lendguard.book.snapshot import arrow_schema
from lendguard.offline import project
from lendguard.policy.loader import load_policy


def test_every_batch_job_is_a_real_book_job_with_a_policy_section() -> None:
    policy = load_policy(project.default_policy_path())
    for name in BATCH_JOBS:
        assert isinstance(book.job(name), BatchJob) and book.job(name) is JOBS[name]
        assert getattr(policy, book.POLICY_SECTIONS[name]).model is not None, name
    with pytest.raises(KeyError, match="no batch job 'midloan'"):
        book.job("midloan")


def test_snapshot_schema_is_the_domains() -> None:
    assert book.snapshot_schema() == arrow_schema()


def test_apply_targets_are_what_batchjob_apply_takes() -> None:
    from lendguard.store.accounts import DynamoAccountStore
    from lendguard.store.events import EventBridgePublisher

    store, publisher = book.apply_targets()
    assert isinstance(store, DynamoAccountStore) and isinstance(publisher, EventBridgePublisher)
    params = list(inspect.signature(BatchJob.apply).parameters)
    assert params == ["self", "actions", "ctx", "store", "events"]


def test_a_job_whose_section_names_no_model_scores_without_one() -> None:
    policy = load_policy(project.default_policy_path())
    section = policy.in_loan.model_copy(update={"model": None})
    assert book._model(policy.model_copy(update={"in_loan": section}), "inloan") is None


def test_a_run_pins_the_routing_champion_else_the_deployed_policy(monkeypatch) -> None:
    from lendguard import deployment
    from lendguard.lifecycle import service

    monkeypatch.setenv(deployment.ENV_POLICY_ID, "default")
    monkeypatch.setenv(deployment.ENV_POLICY_VERSION, "3")
    champions: dict[str, tuple[str, int]] = {}
    monkeypatch.setattr(service, "champion", lambda policy_id: champions.get(policy_id))
    assert book.pinned_policy() == ("default", 3)
    champions["default"] = ("default", 7)  # activated through the routing, no redeploy
    assert book.pinned_policy() == ("default", 7)

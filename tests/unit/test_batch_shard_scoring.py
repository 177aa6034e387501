"""A shard scored from its Parquet bytes (the columns the job reads, categories as dictionaries,
results written with the batch writer options) equals the job scoring the whole snapshot table."""

from __future__ import annotations

import io
import math
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from lendguard.batch import parquet
from lendguard.batch.shard import score_shard
from lendguard.book.jobs import JOBS, JobContext
from lendguard.book.rules import trace_of
from lendguard.core.errors import InvalidInput
from lendguard.models.artifact import ModelArtifact
from lendguard.offline.book_synthetic import book_table
from lendguard.policy.loader import load_policy_data

ROOT = Path(__file__).resolve().parents[2]
RUN = date(2026, 11, 2)
MODELS = {"inloan": "behaviour-xgb", "postloan": "rollrate-xgb"}


def _context(job: str) -> JobContext:
    policy = load_policy_data(yaml.safe_load((ROOT / "policies" / "default.yaml").read_text()))
    model = ModelArtifact.load(ROOT / "tests" / "data" / "models" / MODELS[job] / "v1")
    return JobContext(job=job, run_id="shard", run_date=RUN, policy=policy, model=model)


def _same(a: object, b: object) -> bool:
    return (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize("job", ["inloan", "postloan"])
def test_scoring_the_bytes_equals_scoring_the_table(job):
    table = book_table(3000, seed=11, as_of=RUN, labels=False)
    ctx = _context(job)
    actions, results = score_shard(parquet.snapshot_to_bytes(table), JOBS[job], ctx)
    expected = JOBS[job].score(table, ctx)
    back = pq.read_table(io.BytesIO(results))
    for got in (actions, back):
        rows, want = got.drop_columns(["trace"]).to_pylist(), expected.drop_columns(["trace"]).to_pylist()
        assert len(rows) == len(want)
        for a, b in zip(rows, want, strict=True):
            assert a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a), (a, b)
        for i in (0, 1234, 2999):
            assert trace_of(got.column("trace"), i) == trace_of(expected.column("trace"), i)


def test_a_shard_reads_only_what_its_job_reads_but_checks_the_whole_snapshot():
    ctx = _context("inloan")
    columns = JOBS["inloan"].columns(ctx)
    assert "customer_key" not in columns and {"account_id", "status", "apr"} <= set(columns)
    assert set(ctx.model.metadata.feature_names) <= set(columns)
    table = book_table(50, seed=3, as_of=RUN, labels=False)
    with pytest.raises(InvalidInput) as exc:  # a column no in-loan rule reads is still required
        score_shard(parquet.snapshot_to_bytes(table.drop_columns(["customer_key"])), JOBS["inloan"], ctx)
    assert [d.field for d in exc.value.details] == ["customer_key"]


@pytest.mark.parametrize(
    "source",
    ['x.s == "b"', 'x.s != "b"', 'x.s < "b"', '"b" <= x.s', 'x.s in ["a", "c"]', 'x.s not in ["a"]',
     'coalesce(x.s, "z") == "z"', "is_missing(x.s)", "x.s == x.t"],
)  # fmt: skip
def test_string_facts_as_dictionaries_hit_as_plain_strings(source):
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from lendguard.policy.expr import compile_expression

    expression = compile_expression(source)
    for hole in (None, "b"):  # with nulls, and without (categories compared once, then looked up)
        plain = pa.array(["a", "b", hole, "c", "b", "é"])
        other = pa.array(["a", "c", "b", hole, "b", "é"])
        want = expression.hit_arrays({"x.s": plain, "x.t": other}, 6)
        got = expression.hit_arrays(
            {"x.s": pc.dictionary_encode(plain), "x.t": pc.dictionary_encode(other)}, 6
        )
        assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))

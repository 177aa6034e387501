"""The columnar book trace: the same results and the same complete trace as the text-built scorer
it replaced (a golden file of 1,500 seeded accounts), and what a trace holds per account."""

from __future__ import annotations

import gzip
import io
import json
import math
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from lendguard.book.jobs import JOBS, JobContext
from lendguard.book.rules import trace_of
from lendguard.models.artifact import ModelArtifact
from lendguard.offline.book_synthetic import book_table
from lendguard.policy.loader import load_policy_data

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "data" / "book" / "golden-scores.json.gz"
MODELS = {"inloan": "behaviour-xgb", "postloan": "rollrate-xgb"}


@pytest.fixture(scope="module")
def golden() -> dict:
    with gzip.open(GOLDEN, "rt") as f:
        return json.load(f)


def _context(job: str, run_date: date) -> JobContext:
    policy = load_policy_data(yaml.safe_load((ROOT / "policies" / "default.yaml").read_text()))
    model = ModelArtifact.load(ROOT / "tests" / "data" / "models" / MODELS[job] / "v1")
    return JobContext(job=job, run_id="golden", run_date=run_date, policy=policy, model=model)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return a == b
    return a == b


@pytest.mark.parametrize("job", ["inloan", "postloan"])
def test_results_and_traces_equal_the_golden_scores(golden, job):
    run_date = date.fromisoformat(golden["run_date"])
    table = book_table(golden["n"], seed=golden["seed"], as_of=run_date, labels=False)
    out = JOBS[job].score(table, _context(job, run_date))
    expected = golden["jobs"][job]
    assert out.num_rows == len(expected)
    trace = out.column("trace")
    rows = out.drop_columns(["trace"]).to_pylist()
    for i, (got, want) in enumerate(zip(rows, expected, strict=True)):
        for name, value in got.items():
            assert _same(value, want[name]), (i, name, value, want[name])
        assert trace_of(trace, i) == want["trace"], i


def test_every_rule_is_in_every_trace_with_its_parameters_and_observed_values():
    run_date = date(2026, 11, 2)
    ctx = _context("postloan", run_date)
    out = JOBS["postloan"].score(book_table(200, seed=5, as_of=run_date, labels=False), ctx)
    section = ctx.policy.post_loan
    every = [*section.segments, *section.complaint_rules, *section.contact_rules]
    for i in (0, 57, 199):
        rules = trace_of(out.column("trace"), i)["rules"]
        assert [r["rule_id"] for r in rules] == [r.id for r in every]
        for item, rule in zip(rules, every, strict=True):
            assert item["params"] == rule.params and item["action"] == str(rule.action)
            assert set(item["observed"]) == set(rule.compiled.facts)
            assert item["outcome"] in ("hit", "no_hit", "missing")


def test_the_trace_survives_parquet_with_its_constants_stored_once():
    run_date = date(2026, 11, 2)
    out = JOBS["inloan"].score(
        book_table(2000, seed=5, as_of=run_date, labels=False), _context("inloan", run_date)
    )
    sink = io.BytesIO()
    pq.write_table(out, sink)
    back = pq.read_table(io.BytesIO(sink.getvalue()))
    for i in (0, 1999):
        assert trace_of(back.column("trace"), i) == trace_of(out.column("trace"), i)
    # What is the same for every account (a rule's id and parameters) is no column at all: it is
    # stored once, in the layout the struct's metadata carries; each fact is one column, however
    # many rules observed it, and string facts are dictionary-encoded.
    kind = back.column("trace").type
    names = [kind.field(k).name for k in range(kind.num_fields)]
    assert not any("params" in name or "rule_id" in name for name in names)
    layout = kind.field(0).metadata[b"trace_layout"].decode()
    assert layout.count('"IL_LIMIT_UP_GOOD"') == 1 and '"params"' in layout
    readers = [
        r for r in _context("inloan", run_date).policy.in_loan.rules if "account.status" in r.compiled.facts
    ]
    assert len(readers) > 1 and names.count("account.status") == 1
    assert pa.types.is_dictionary(kind.field("account.status").type)

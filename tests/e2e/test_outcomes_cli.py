"""Bulk decisions, repayment outcomes, evaluation and rule statistics as a user runs them
(``lendguard`` processes against ``lendguard serve`` or a throw-away local stack)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from authn import cli_token_env
from served import LENDGUARD, served_with_test_users

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "applications"
ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}


def run(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    """The CLI as the loan-app backend (decide) or an operator with every role (the rest)."""
    return subprocess.run(
        [*LENDGUARD, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**ENV, **cli_token_env(args)},
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def served(default_model, tmp_path_factory):
    with served_with_test_users(tmp_path_factory.mktemp("serve")) as url:
        yield url


def example(name: str, application_id: str) -> dict[str, Any]:
    return {**json.loads((EXAMPLES / f"{name}.json").read_text()), "application_id": application_id}


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def batch(served, tmp_path_factory) -> dict[str, Any]:
    """Four rows (approve, reject, an invalid application, approve) decided against the served API."""
    folder = tmp_path_factory.mktemp("batch")
    source = folder / "apps.jsonl"
    rows = [example("approve", "BATCH-1"), example("reject-admission", "BATCH-2"),
            example("invalid", "BATCH-3"), example("approve", "BATCH-4")]  # fmt: skip
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = folder / "results.jsonl"
    result = run("decide", "--batch", str(source), "--out", str(out), "--endpoint", served)
    return {"source": source, "out": out, "result": result}


def test_batch_decides_every_row_and_names_bad_rows_and_fields(batch):
    result, out = batch["result"], batch["out"]
    assert result.returncode == 1, result.stderr  # one row was invalid
    assert "row 3: applicant.id_number" in result.stderr and "row 3: applicant.phone" in result.stderr
    results = {r["row"]: r for r in lines(out)}
    assert set(results) == {1, 2, 3, 4}
    assert results[1]["decision"] == "APPROVE" and results[1]["credit_limit"] == 5000
    assert results[2]["decision"] == "REJECT" and results[3]["status"] == "INVALID"
    assert "decided APPROVE" in result.stdout and "invalid" in result.stdout


def test_batch_resumes_without_deciding_a_row_twice(batch, served, tmp_path):
    first = {r["row"]: r for r in lines(batch["out"])}
    partial = tmp_path / "partial.jsonl"
    partial.write_text("\n".join(json.dumps(first[n]) for n in (1, 2)) + "\n" + '{"row": 3, "appl')
    again = run("decide", "--batch", str(batch["source"]), "--out", str(partial), "--endpoint", served)
    assert "4 rows: 2 already in" in again.stdout and "2 this run" in again.stdout
    results = lines(partial)
    assert sorted(r["row"] for r in results) == [1, 2, 3, 4]  # the cut line was dropped, not repeated
    by_row = {r["row"]: r for r in results}
    assert by_row[1]["case_id"] == first[1]["case_id"]
    # Against the API the application id is idempotent: a fresh output gets the same cases back.
    fresh = tmp_path / "fresh.jsonl"
    run("decide", "--batch", str(batch["source"]), "--out", str(fresh), "--endpoint", served)
    assert {r["row"]: r.get("case_id") for r in lines(fresh)} == {n: first[n].get("case_id") for n in first}
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"row": 1, "application_id": "SOMETHING-ELSE"}) + "\n")
    refused = run("decide", "--batch", str(batch["source"]), "--out", str(other), "--endpoint", served)
    assert refused.returncode == 2 and "another input" in refused.stderr


def test_csv_batch_in_a_throw_away_local_stack(tmp_path, default_model):
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}{k}.", v)
        else:
            flat[prefix[:-1]] = str(value).lower() if isinstance(value, bool) else value

    walk("", example("approve", "CSV-1"))
    source = tmp_path / "apps.csv"
    with source.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(flat))
        writer.writeheader()
        writer.writerow(flat)
        writer.writerow({**flat, "application_id": "CSV-2", "applicant.monthly_income": "-1"})
    out = tmp_path / "out.jsonl"
    result = run("decide", "--batch", str(source), "--out", str(out))
    assert result.returncode == 1 and "row 2: applicant.monthly_income" in result.stderr
    results = {r["row"]: r for r in lines(out)}
    assert results[1]["decision"] == "APPROVE" and results[2]["status"] == "INVALID"
    missing = tmp_path / "missing.csv"
    missing.write_text("application_id,product\nX,revolving\n")
    refused = run("decide", "--batch", str(missing), "--out", str(tmp_path / "none.jsonl"))
    assert refused.returncode == 2 and "applicant.id_number" in refused.stderr
    assert not (tmp_path / "none.jsonl").exists()


def test_outcomes_rules_and_evaluation_against_the_served_stack(batch, served, tmp_path):
    approved = next(r["case_id"] for r in lines(batch["out"]) if r["row"] == 1)
    today = datetime.now(UTC).date().isoformat()
    events = tmp_path / "events.csv"
    events.write_text(
        "event_id,case_id,loan_id,type,date,amount\n"
        f"EV-1,{approved},L1,drawn,{today},2000\n"
        f"EV-2,{approved},L1,repaid,{today},-5\n"
        f"EV-3,C-UNKNOWN,L1,repaid,{today},5\n"
        f"EV-4,{approved},L1,repaid,{today},300\n"
    )
    refused = run("outcomes", "import", str(events), "--endpoint", served)
    # All or nothing: exit 2 naming the file's rows and fields; nothing of the file is recorded.
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "row 2: amount" in refused.stderr and "must not be negative" in refused.stderr
    assert "row 3: case_id" in refused.stderr
    assert (
        json.loads(run("outcomes", "show", approved, "--json", "--endpoint", served).stdout)["events"] == []
    )
    good = tmp_path / "good.csv"
    good.write_text(
        "event_id,case_id,loan_id,type,date,amount\n"
        f"EV-1,{approved},L1,drawn,{today},2000\nEV-4,{approved},L1,repaid,{today},300\n"
    )
    imported = run("outcomes", "import", str(good), "--endpoint", served)
    assert imported.returncode == 0 and "2 events: 2 recorded" in imported.stdout
    assert run("outcomes", "import", str(good), "--endpoint", served).stdout.startswith(
        "2 events: 0 recorded, 2 already"
    )
    bad_file = tmp_path / "bad.csv"
    bad_file.write_text("event_id,case_id,colour\n")
    refused = run("outcomes", "import", str(bad_file), "--endpoint", served)
    assert refused.returncode == 2 and "colour" in refused.stderr and "loan_id" in refused.stderr

    shown = run("outcomes", "show", approved, "--json", "--endpoint", served)
    assert shown.returncode == 0, shown.stderr
    (loan,) = json.loads(shown.stdout)["loans"]
    assert loan["outstanding_principal"] == "1700.00"

    stats = run("rules", "stats", "--endpoint", served, "--json")
    assert stats.returncode == 0, stats.stderr
    total = json.loads(stats.stdout)["total"]
    assert total["cases"] >= 3 and total["rules"]
    table = run("rules", "stats", "--endpoint", served)
    assert "unique rejects" in table.stdout and total["rules"][0]["rule_id"] in table.stdout

    report_path = tmp_path / "evaluation.json"
    evaluated = run(
        "evaluate", "--from", today, "--to", today, "--out", str(report_path), "--endpoint", served
    )
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(report_path.read_text())
    assert report["decided"] >= 3 and report["approved"] >= 2 and report["drawn"] >= 1
    assert report["matured"] == 0 and report["bad_definition"] == "ever_dpd>=30 within 6"
    assert "Vintages" in evaluated.stdout and "Rules on live traffic" in evaluated.stdout
    wrong = run("evaluate", "--from", today, "--to", today, "--bad", "dpd>30", "--endpoint", served)
    assert wrong.returncode == 2 and "--bad" in wrong.stderr

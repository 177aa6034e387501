"""``lendguard backtest``: reports from a data file, and exit 2 with nothing written on bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from lendguard.core.hashing import LOCAL_SECRET
from lendguard.offline.cli.main import app
from lendguard.offline.project import default_policy_path
from lendguard.offline.synthetic import LABEL_COLUMN, backtest_rows

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
runner = CliRunner()


@pytest.fixture(scope="module")
def rows(default_policy, default_model) -> pd.DataFrame:
    _, data, _ = backtest_rows(400, 21, LOCAL_SECRET, default_policy, NOW)
    return pd.DataFrame(data)


def _csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def backtest(*args: str):
    return runner.invoke(app, ["backtest", *args], env={"COLUMNS": "200", "NO_COLOR": "1"})


def test_labelled_backtest_of_a_csv_writes_json_and_html(rows, tmp_path) -> None:
    data = _csv(rows, tmp_path / "apps.csv")
    result = backtest(
        "--data", str(data), "--label", LABEL_COLUMN, "--bad", "1", "--out", str(tmp_path / "out")
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["rows"] == 400 and report["labelled"] is True
    assert sum(o["n"] for o in report["outcomes"]) == 400
    assert report["score"]["auc"] > 0.6
    assert {r["rule_id"] for r in report["rules"]} >= {"ADM_AGE", "BUR_MULTI_LENDER_7D", "PM_HIGH_DTI"}
    page = (tmp_path / "out" / "report.html").read_text()
    assert page.count("<svg") >= 5 and "<script" not in page
    assert "Outcomes" in result.output and "AUC" in result.output


def test_parquet_and_compare_give_the_swap_set(rows, tmp_path) -> None:
    path = tmp_path / "apps.parquet"
    rows.to_parquet(path, index=False)
    doc = yaml.safe_load(default_policy_path().read_text())
    doc["version"] = 2
    doc["cutoffs"] = {"review_min": 580, "approve_min": 600}
    (tmp_path / "v2.yaml").write_text(yaml.safe_dump(doc))
    out = tmp_path / "cmp"
    result = backtest("--data", str(path), "--compare", str(tmp_path / "v2.yaml"), "--label", LABEL_COLUMN,
                      "--bad", "1", "--out", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    c = json.loads((out / "report.json").read_text())["comparison"]
    assert c["policy"] == {"id": "default", "version": 2}
    assert c["swap_out"]["n"] > 0 and c["swap_in"]["n"] == 0  # a higher cut-off only takes away
    assert len(c["swap_out"]["examples"]) == min(10, c["swap_out"]["n"])
    assert sum(c["outcome_differences"].values()) == 0


def _fails(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    for needle in needles:
        assert needle in result.output, (needle, result.output)


def test_missing_column_wrong_type_and_unknown_label_are_named_with_rows(rows, tmp_path) -> None:
    bad = rows.drop(columns=["bureau.multi_lender_7d"]).astype(object)
    bad.loc[2, "applicant.age"] = "thirty"
    bad.loc[[4, 6], LABEL_COLUMN] = "maybe"
    data = _csv(bad, tmp_path / "bad.csv")
    out = tmp_path / "never"
    result = backtest("--data", str(data), "--label", LABEL_COLUMN, "--bad", "1", "--out", str(out))
    _fails(result, "bureau.multi_lender_7d: column missing", "applicant.age: not a number in row 3",
           f"{LABEL_COLUMN}: unknown label values 'maybe' in rows 5, 7")  # fmt: skip
    assert not out.exists()


def test_bad_value_absent_and_booleans_that_are_not(rows, tmp_path) -> None:
    bad = rows.astype(object)
    bad.loc[0, "bureau.thin_file"] = "perhaps"
    result = backtest("--data", str(_csv(bad, tmp_path / "b.csv")), "--label", LABEL_COLUMN, "--bad", "yes",
                      "--out", str(tmp_path / "o"))  # fmt: skip
    _fails(result, "bureau.thin_file: not a boolean in row 1", "the bad value 'yes' does not occur")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("content", "problem"),
    [("", "the file is empty"), ("application_id,applicant.age\n", "the file has a header but no rows")],
)
def test_empty_file_exits_2(tmp_path, content, problem, default_model) -> None:
    data = tmp_path / "empty.csv"
    data.write_text(content)
    result = backtest("--data", str(data), "--out", str(tmp_path / "o"))
    _fails(result, problem)
    assert not (tmp_path / "o").exists()


def test_unknown_file_kind_and_bad_policy(tmp_path, default_model) -> None:
    (tmp_path / "x.json").write_text("{}")
    _fails(
        backtest("--data", str(tmp_path / "x.json"), "--out", str(tmp_path / "o")),
        "must be a .csv or .parquet",
    )
    (tmp_path / "p.yaml").write_text("id: [")
    _fails(backtest("--policy", str(tmp_path / "p.yaml"), "--data", str(tmp_path / "x.csv"), "--out",
                    str(tmp_path / "o")), "--policy")  # fmt: skip
    assert not (tmp_path / "o").exists()


def test_synthetic_data_runs_out_of_the_box(tmp_path, default_model) -> None:
    result = backtest("--synthetic", "300", "--out", str(tmp_path / "s"))
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "s" / "report.json").read_text())
    assert report["rows"] == 300 and report["labelled"] and report["data"]["label"] == "default"

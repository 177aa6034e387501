"""``lendguard batch run|show`` on the in-process local stack, with the fake loan-book job."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pytest
from fakes.book import ARROW, SNAPSHOT_COLUMNS, FakeBook, install
from typer.testing import CliRunner

from lendguard.batch import parquet
from lendguard.batch.dates import today
from lendguard.offline.cli.main import app

runner = CliRunner()


def test_run_then_show_prints_summary_and_top_actions(monkeypatch, tmp_path) -> None:
    install(monkeypatch)
    day = today() - timedelta(days=3)
    book = FakeBook()
    book.add_accounts(10, day)
    schema = pa.schema([(n, ARROW[k]) for n, k in SNAPSHOT_COLUMNS.items()])
    snapshot = tmp_path / "book.parquet"
    snapshot.write_bytes(parquet.to_bytes(pa.Table.from_pylist(book.accounts, schema)))
    result = runner.invoke(
        app, ["batch", "run", "postloan", "--date", day.isoformat(), "--dry-run", "--snapshot", str(snapshot),
              "--shard-rows", "4"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    run_id = f"postloan-{day.isoformat()}-dry-run"
    assert "3 of 3 written" in result.output
    shown = runner.invoke(app, ["batch", "show", run_id, "--top", "3"])
    assert shown.exit_code == 0, shown.output
    assert "top actions (3 of" in shown.output and "FREEZE" in shown.output
    assert "by_action" in shown.output


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["batch", "run", "midloan"], "JOB"),
        (["batch", "run", "inloan", "--date", "2026-13-01"], "--date"),
        (["batch", "run", "inloan", "--date", (today() + timedelta(days=1)).isoformat()], "--date"),
        (["batch", "run", "inloan", "--snapshot", "/nonexistent.parquet"], "--snapshot"),
        (["batch", "show", "inloan-1999-01-01"], "RUN"),
    ],
)
def test_bad_input_exits_2_naming_the_option(args, field) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert field in result.output

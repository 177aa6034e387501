"""``--cases FROM..TO`` parsing and what makes an archived case not evaluable."""

from datetime import UTC, datetime

import pytest

from lendguard.cases.archive import ArchivedCase, ArchiveHeader, DerivedPart
from lendguard.core.errors import InvalidInput
from lendguard.core.facts import LIST_FACTS
from lendguard.offline.backtest.cases_source import parse_window, unknown_facts


def test_a_window_of_dates_covers_whole_days():
    start, stop = parse_window("2026-11-01..2026-11-30")
    assert start == datetime(2026, 11, 1, tzinfo=UTC)
    assert stop.date().day == 30 and stop.hour == 23


@pytest.mark.parametrize(
    "text", ["2026-11-01", "2026-11-30..2026-11-01", "x..y", "2026-11-01T10:00..2026-11-02"]
)
def test_a_bad_window_names_the_option(text):
    with pytest.raises(InvalidInput) as err:
        parse_window(text)
    assert err.value.details[0].field == "--cases"


def _record(facts, payloads):
    now = datetime(2026, 11, 1, tzinfo=UTC)
    header = ArchiveHeader(
        case_id="C1", application_id="A1", status="DECIDED", received_at=now, archived_at=now
    )
    return ArchivedCase(header=header, derived=DerivedPart(facts=facts, vendor_payloads=payloads))


NEEDED = ["applicant.monthly_income", "lists.black.any", "bureau.multi_lender_7d", "identity.match"]


def test_facts_of_stages_never_reached_are_unknown():
    record = _record({"applicant.monthly_income": 1000.0}, {})
    assert unknown_facts(record, set(), NEEDED) == [
        "lists.black.any",
        "bureau.multi_lender_7d",
        "identity.match",
    ]


def test_a_vendor_asked_but_failing_is_missing_not_unknown():
    facts = {"applicant.monthly_income": 1000.0, **dict.fromkeys(LIST_FACTS, False), "identity.match": True}
    record = _record(facts, {"identity": "s3://b/raw/C1/identity.json"})
    assert unknown_facts(record, {"identity", "bureau"}, NEEDED) == []
    # Without the case record, only a vendor whose payload was archived counts as asked.
    assert unknown_facts(record, None, NEEDED) == ["bureau.multi_lender_7d"]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--cases", "2026-11-30..2026-11-01"], "--cases"),
        (["--cases", "2026-11-01..2026-11-30", "--label", "default", "--bad", "1"], "--label"),
        (["--cases", "2026-11-01..2026-11-30", "--synthetic", "10"], "--data"),
    ],
)
def test_the_cli_refuses_a_bad_case_window_before_reading_anything(tmp_path, args, field):
    from typer.testing import CliRunner

    from lendguard.offline.cli.main import app

    result = CliRunner().invoke(
        app, ["backtest", "--out", str(tmp_path / "out"), *args], env={"COLUMNS": "200", "NO_COLOR": "1"}
    )
    assert result.exit_code == 2, result.output
    assert field in result.output and not (tmp_path / "out").exists()

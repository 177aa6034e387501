"""``lendguard monitor``: the daily monitor over the local stack's cases (or a file of case records)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlencode

import typer

from lendguard.cases.archive import DerivedPart
from lendguard.cases.record import CaseRecord
from lendguard.core.errors import FieldError, InvalidInput
from lendguard.offline.cli.common import EndpointOpt, call, fail, out
from lendguard.offline.cli.models import RegistryOpt

if TYPE_CHECKING:
    from lendguard.monitoring.evaluate import MonitorReport
    from lendguard.outcomes.events import LoanEvent


def _day(value: str | None, field: str, errors: list[FieldError]) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(FieldError(field=field, message=f"'{value}' is not a date (YYYY-MM-DD)"))
        return None


def parse_range(day: str | None, first: str | None, last: str | None, today: date) -> tuple[date, date]:
    """The days to report on: ``--date``, or ``--from``/``--to``, or yesterday (Shanghai)."""
    errors: list[FieldError] = []
    d, f, t = _day(day, "--date", errors), _day(first, "--from", errors), _day(last, "--to", errors)
    if errors:
        raise InvalidInput("invalid dates", errors)
    if d is not None and (f is not None or t is not None):
        raise InvalidInput(
            "invalid dates", [FieldError(field="--date", message="use --date or --from/--to, not both")]
        )
    if (f is None) != (t is None):
        missing = "--to" if t is None else "--from"
        raise InvalidInput(
            "invalid dates", [FieldError(field=missing, message="--from and --to go together")]
        )
    if f is not None and t is not None:
        if t < f:
            raise InvalidInput("invalid dates", [FieldError(field="--to", message="is before --from")])
        if (t - f).days > 92:
            raise InvalidInput(
                "invalid dates", [FieldError(field="--to", message="at most 93 days per report")]
            )
        return f, t
    target = d or today - timedelta(days=1)
    return target, target


def _fetch(endpoint: str, first: date, last: date) -> MonitorReport:
    """The report computed by a running lendguard API over its own cases and archive."""
    from lendguard.monitoring.evaluate import MonitorReport

    query = urlencode({"from": first.isoformat(), "to": last.isoformat()})
    status, body = call(endpoint, "GET", f"/v1/monitor?{query}")
    if status >= 400:
        raise InvalidInput(f"{endpoint}: HTTP {status}", [FieldError(field="--endpoint", message=str(body))])
    return MonitorReport.model_validate(body)


def read_file(
    path: Path,
) -> tuple[list[CaseRecord], dict[str, DerivedPart | None], dict[str, list[LoanEvent]]]:
    """Case records from a file (JSON array or JSONL); an item is a case record, or
    ``{"case": record, "derived": the archive's derived part, "events": its loan events}`` to give
    its feature values and repayment outcomes."""
    from lendguard.offline.funnel import load_records
    from lendguard.outcomes.events import LoanEvent

    if not path.is_file():
        raise InvalidInput("invalid input", [FieldError(field="--file", message=f"{path}: no such file")])
    records: list[CaseRecord] = []
    derived: dict[str, DerivedPart | None] = {}
    events: dict[str, list[LoanEvent]] = {}
    for i, item in enumerate(load_records(path)):
        try:
            if isinstance(item, dict) and set(item) <= {"case", "derived", "events"} and "case" in item:
                record = CaseRecord.model_validate(item["case"])
                part = item.get("derived")
                derived[record.case_id] = DerivedPart.model_validate(part) if part is not None else None
                events[record.case_id] = [LoanEvent.model_validate(e) for e in item.get("events") or []]
            else:
                record = CaseRecord.model_validate(item)
        except ValueError as exc:
            raise InvalidInput(
                "invalid case record", [FieldError(field=f"--file[{i}]", message=str(exc).splitlines()[0])]
            ) from None
        records.append(record)
    return records, derived, events


def monitor_command(
    day: Annotated[
        str | None, typer.Option("--date", help="Day to report on (Shanghai), default yesterday")
    ] = None,
    first: Annotated[str | None, typer.Option("--from", help="First day of a range")] = None,
    last: Annotated[str | None, typer.Option("--to", help="Last day of a range")] = None,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Directory for monitor.json and monitor.html")
    ] = Path("monitor-report"),
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="Case records (JSON array / JSONL; an item may be {case, derived} with the case's archived "
            "facts) instead of the local stack",
        ),
    ] = None,
    policy_file: Annotated[
        Path | None,
        typer.Option("--policy", help="Policy YAML (thresholds, model) for --file; a stack uses its own"),
    ] = None,
    registry: RegistryOpt = None,
    endpoint: EndpointOpt = None,  # type: ignore[assignment]
) -> None:
    """Rates, rule hit rates, vendor health, score and feature PSI vs baselines; JSON + HTML report."""
    from datetime import UTC, datetime

    from lendguard.core.errors import PolicyError
    from lendguard.monitoring.days import day_of
    from lendguard.monitoring.job import run_monitor
    from lendguard.monitoring.view import RecordSource
    from lendguard.offline.cli.backtest import _model
    from lendguard.offline.monitor_report import render_html, summary_lines
    from lendguard.offline.project import default_policy_path
    from lendguard.policy.loader import load_policy

    try:
        first_day, last_day = parse_range(day, first, last, day_of(datetime.now(UTC)))
        if file is not None:
            try:
                policy = load_policy(policy_file or default_policy_path())
            except PolicyError as exc:
                raise InvalidInput(
                    "invalid policy", [FieldError(field="--policy", message=str(exc))]
                ) from None
            records, derived, events = read_file(file)
            model = _model(policy, registry, "--registry")
            source = RecordSource(records, derived, events)
            report = run_monitor(
                source, first_day, last_day, policy.monitoring,
                training=model.metadata.baseline, model_inputs=model.metadata.feature_names,
                model=f"{policy.scoring.model.id}:{policy.scoring.model.version}",
                outcomes=source, score_bands=policy.limits.score_bands,
            )  # fmt: skip
        else:
            from lendguard.offline.cli.common import DEFAULT_ENDPOINT

            report = _fetch(endpoint or DEFAULT_ENDPOINT, first_day, last_day)
    except InvalidInput as exc:
        fail(exc.message, [d.model_dump() for d in exc.details])
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "monitor.json").write_text(report.model_dump_json(indent=1))
    (out_dir / "monitor.html").write_text(render_html(report))
    for line in summary_lines(report):
        out.print(line, highlight=False)
    out.print(f"wrote {out_dir / 'monitor.json'} and {out_dir / 'monitor.html'}", highlight=False)

"""``lendguard outcomes``: repayment outcomes (loan events) through a running API.

- ``outcomes import FILE.csv``: events in chunks to ``POST /v1/loans/events``, each all or
  nothing: a chunk with a bad row records nothing, the import stops with exit 2 and names each
  bad row (1 = the first row after the header), field and problem. Earlier chunks stay recorded;
  re-running is safe: events are idempotent on ``event_id``.
- ``outcomes show CASE_ID``: the case's events and each loan's snapshot (days past due,
  balances) at ``--as-of``, derived from the events.

Clients of ``--endpoint`` (``LENDGUARD_ENDPOINT``, default the local ``lendguard serve``).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from lendguard.offline.cli.common import EndpointOpt, err, fail, out, request
from lendguard.outcomes.events import EVENT_FIELDS, REQUIRED_FIELDS
from lendguard.outcomes.ingest import MAX_BATCH

outcomes_app = typer.Typer(no_args_is_help=True, help="Repayment outcomes: loan events (through --endpoint).")

MAX_ERRORS_SHOWN = 50


def read_events_csv(file: Path) -> list[dict[str, str]]:
    """The rows of an events CSV; exit 2 (nothing sent) for an unreadable or empty file, or one
    whose header lacks a required column or has one that no event field matches."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail("cannot read the CSV", [{"field": str(file), "message": str(exc)}])
    reader = csv.DictReader(text.splitlines())
    header = [c.strip() for c in reader.fieldnames or []]
    problems = [
        {"field": c, "message": "required column is missing"} for c in REQUIRED_FIELDS if c not in header
    ]
    problems += [
        {"field": c, "message": f"unknown column; expected {', '.join(EVENT_FIELDS)}"}
        for c in header
        if c not in EVENT_FIELDS
    ]
    if problems:
        fail(f"{file}: not an events CSV", problems)
    rows = []
    for number, record in enumerate(reader, start=1):
        if None in record:
            fail(f"{file}: row {number} has more cells than the header", [{"field": f"row {number}", "message": "extra cells"}])  # fmt: skip
        rows.append({k.strip(): (v or "").strip() for k, v in record.items() if (v or "").strip()})
    if not rows:
        fail(f"{file}: no events in the file")
    return rows


def _file_row(detail: dict[str, Any], first: int) -> dict[str, Any]:
    """``events[3].amount`` of the chunk starting at ``first`` as ``row 4+first: amount``."""
    field = str(detail.get("field", ""))
    match = re.match(r"^events\[(\d+)\]\.(.+)$", field)
    if match:
        field = f"row {first + int(match.group(1)) + 1}: {match.group(2)}"
    return {"field": field, "message": detail.get("message", "")}


@outcomes_app.command("import")
def import_events(
    file: Annotated[Path, typer.Argument(help=f"CSV with columns {', '.join(EVENT_FIELDS)}")],
    chunk_rows: Annotated[int, typer.Option(help="Events per request", min=1, max=MAX_BATCH)] = 500,
    report: Annotated[Path | None, typer.Option(help="Write the full report (JSON) here")] = None,
    endpoint: EndpointOpt = None,
) -> None:
    """Record loan events from a CSV. Exit status 1 when any row was rejected (the rest are kept)."""
    rows = read_events_csv(file)
    totals = {"received": 0, "recorded": 0, "duplicates": 0, "failed": 0}
    errors: list[dict[str, Any]] = []
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err) as progress:
        task = progress.add_task("import", total=len(rows))
        for first in range(0, len(rows), chunk_rows):
            chunk = rows[first : first + chunk_rows]
            status, payload = request(endpoint, "POST", "/v1/loans/events", {"events": chunk}, allow=(400,))
            if status == 400:
                # All or nothing per request: name the file's rows, not the chunk's indexes.
                fail(f"{payload.get('error', 'invalid loan events')} (rows {first + 1}-{first + len(chunk)})",
                     [_file_row(d, first) for d in payload.get("details", [])])  # fmt: skip
            for name in totals:
                totals[name] += payload[name]
            errors.extend({**e, "row": e["row"] + first} for e in payload["errors"])
            progress.advance(task, len(chunk))
    out.print(
        f"{totals['received']} events: {totals['recorded']} recorded, {totals['duplicates']} already recorded, "
        f"{totals['failed']} rows rejected"
    )
    if errors:
        shown = "" if len(errors) <= MAX_ERRORS_SHOWN else f"; first {MAX_ERRORS_SHOWN}"
        table = Table(title=f"Rejected rows (row 1 is the first after the header){shown}")
        for col in ("row", "field", "message"):
            table.add_column(col, overflow="fold")
        for e in errors[:MAX_ERRORS_SHOWN]:
            table.add_row(str(e["row"]), e["field"], e["message"])
        out.print(table)
    if report is not None:
        report.write_text(json.dumps({**totals, "errors": errors}, indent=2))
        out.print(f"report written to {report}")
    if totals["failed"]:
        raise typer.Exit(1)


@outcomes_app.command("show")
def show(
    case_id: Annotated[str, typer.Argument(help="The case (account) the loans were drawn on")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Observation date YYYY-MM-DD (default today)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON")] = False,
    endpoint: EndpointOpt = None,
) -> None:
    """A case's loan events and each loan's snapshot at an observation date."""
    query = {"case_id": case_id, **({"as_of": as_of} if as_of else {})}
    _, payload = request(endpoint, "GET", f"/v1/loans/events?{urlencode(query)}")
    if as_json:
        out.print_json(json.dumps(payload))
        return
    table = Table(title=f"Loans of case {case_id} at {payload['as_of']}")
    for col in (
        "loan",
        "status",
        "drawn on",
        "MOB",
        "dpd",
        "max dpd",
        "drawn",
        "repaid",
        "arrears",
        "outstanding",
    ):
        table.add_column(col, justify="left" if col in ("loan", "status", "drawn on") else "right")
    for loan in payload["loans"]:
        table.add_row(
            loan["loan_id"], loan["status"], loan["drawn_on"] or "-", str(loan["months_on_book"]),
            str(loan["days_past_due"]), str(loan["max_days_past_due"]), loan["principal_drawn"], loan["repaid"],
            loan["arrears"], loan["outstanding_principal"],
        )  # fmt: skip
    out.print(table)
    events = Table(title="Events")
    for col in ("date", "event", "loan", "type", "amount / dpd"):
        events.add_column(col)
    for e in payload["events"]:
        value = e.get("amount") or (str(e["days_past_due"]) if "days_past_due" in e else "")
        events.add_row(e["date"], e["event_id"], e["loan_id"], e["type"], value)
    out.print(events)

"""``lendguard lists``: manage black / grey / white lists through a running API.

Every command is a client of ``--endpoint`` (``LENDGUARD_ENDPOINT``, default the local
``lendguard serve``). Values go to the API in the URL only; this command prints them masked.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from lendguard.core.hashing import mask
from lendguard.lists.csvio import MAX_CHUNK_BYTES, MAX_IMPORT_ROWS, split_csv
from lendguard.offline.cli.common import INPUT_ERRORS, EndpointOpt, err, fail, out, request
from lendguard.offline.render import when

lists_app = typer.Typer(no_args_is_help=True, help="Black / grey / white lists (through --endpoint).")

EXPORT_COLUMNS = (
    "kind", "key_type", "value_hash", "reason_code", "reason", "source", "added_by", "added_at",
    "updated_by", "updated_at", "expires_at", "import_id",
)  # fmt: skip
MAX_ERRORS_SHOWN = 50

KindArg = Annotated[str, typer.Argument(help="BLACK, GREY or WHITE")]
KeyTypeArg = Annotated[str, typer.Argument(help="ID_NUMBER, PHONE, DEVICE_ID, BANK_CARD or IP")]
ValueArg = Annotated[str, typer.Argument(help="The identifier (sent to the API only, printed masked)")]


ByOpt = Annotated[
    str | None,
    typer.Option("--by", help="Who makes the change: must be the token's user, who is the default"),
]


def _path(kind: str, key_type: str, value: str) -> str:
    return "/v1/lists/" + "/".join(quote(part, safe="") for part in (kind, key_type, value))


def _entry_table(title: str, entry: dict[str, Any]) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for name in ("kind", "key_type", "reason_code", "reason", "source", "added_by", "added_at", "updated_by",
                 "updated_at", "expires_at_iso", "import_id", "value_hash"):  # fmt: skip
        value = entry.get(name)
        if name == "expires_at_iso" and value is None:
            value = "never (permanent)"
        elif name.endswith(("_at", "_at_iso")) and value:
            value = when(value)
        if value not in (None, ""):
            table.add_row(name.removesuffix("_iso"), str(value))
    return table


@lists_app.command("add")
def add(
    kind: KindArg,
    key_type: KeyTypeArg,
    value: ValueArg,
    reason_code: Annotated[
        str | None,
        typer.Option("--reason-code", "-c", help="e.g. FRAUD_RING; optional to extend a live entry"),
    ] = None,
    reason: Annotated[str, typer.Option(help="Free text (never the value itself)")] = "",
    ttl_days: Annotated[int | None, typer.Option(help="Days until the entry expires", min=1)] = None,
    expires_at: Annotated[str | None, typer.Option(help="Epoch seconds or ISO 8601 with offset")] = None,
    source: Annotated[str, typer.Option(help="manual, import, rule or vendor")] = "manual",
    by: ByOpt = None,
    endpoint: EndpointOpt = None,
) -> None:
    """Add an entry, or extend / update the live one. No --ttl-days / --expires-at: permanent."""
    body: dict[str, Any] = {"reason": reason, "source": source, **({"added_by": by} if by else {})}
    if reason_code is not None:
        body["reason_code"] = reason_code
    if ttl_days is not None:
        body["ttl_days"] = ttl_days
    if expires_at is not None:
        body["expires_at"] = int(expires_at) if expires_at.isdigit() else expires_at
    _, payload = request(endpoint, "PUT", _path(kind, key_type, value), json.dumps(body).encode())
    out.print(_entry_table(f"{payload['action']}: {mask(value.strip())}", payload["entry"]))


@lists_app.command("get")
def get(
    kind: KindArg,
    key_type: KeyTypeArg,
    value: ValueArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print the response as JSON")] = False,
    endpoint: EndpointOpt = None,
) -> None:
    """Is it listed, since when, until when, why, and its history. Exit status 1 when not listed."""
    _, payload = request(endpoint, "GET", _path(kind, key_type, value))
    if as_json:
        out.print_json(json.dumps(payload))
    else:
        label = f"{payload['kind']} {payload['key_type']} {mask(value.strip())}"
        if payload["listed"]:
            out.print(_entry_table(f"listed: {label}", payload["entry"]))
        else:
            out.print(f"not listed: {label}")
            if payload.get("expired_entry"):
                out.print(f"(an entry expired at {payload['expired_entry']['expires_at_iso']})")
        if payload["history"]:
            history = Table(title="history")
            for col in ("at", "action", "by", "source", "reason_code", "reason", "expires_at"):
                history.add_column(col, overflow="fold")
            for e in payload["history"]:
                history.add_row(when(e["at"]), e["action"], e["by"], e["source"], e["reason_code"], e["reason"],
                                when(e["expires_at"]))  # fmt: skip
            out.print(history)
    if not payload["listed"]:
        raise typer.Exit(1)


@lists_app.command("remove")
def remove(
    kind: KindArg,
    key_type: KeyTypeArg,
    value: ValueArg,
    reason: Annotated[str, typer.Option(help="Why it is removed (audit)")] = "",
    by: ByOpt = None,
    endpoint: EndpointOpt = None,
) -> None:
    """Remove a live entry. Exit status 1 when it was not listed."""
    query = urlencode({**({"removed_by": by} if by else {}), "reason": reason})
    _, payload = request(endpoint, "DELETE", f"{_path(kind, key_type, value)}?{query}")
    out.print(f"removed: {payload['entry']['kind']} {payload['entry']['key_type']} {mask(value.strip())}")


@lists_app.command("import")
def import_csv(
    file: Annotated[
        Path, typer.Argument(help="CSV: kind,key_type,value[,reason,reason_code,ttl_days,expires_at]")
    ],
    by: ByOpt = None,
    source: Annotated[str, typer.Option(help="import, vendor, rule or manual")] = "import",
    chunk_rows: Annotated[
        int, typer.Option(help="Rows per request", min=1, max=MAX_IMPORT_ROWS)
    ] = MAX_IMPORT_ROWS,
    report: Annotated[Path | None, typer.Option(help="Write the full error report (JSON) here")] = None,
    endpoint: EndpointOpt = None,
) -> None:
    """Upsert entries from a CSV in chunks; bad rows are reported and the good ones kept.

    Exit status 1 when any row was rejected. Re-running is safe: import is an idempotent upsert.
    """
    try:
        with file.open(newline="", encoding="utf-8-sig") as fh:
            total = max(sum(1 for row in csv.reader(fh) if any(c.strip() for c in row)) - 1, 0)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        fail("cannot read the CSV", [{"field": str(file), "message": str(exc)}])
    query = urlencode({**({"added_by": by} if by else {}), "source": source})
    totals = {"rows": 0, "written": 0, "superseded": 0, "failed": 0}
    errors: list[dict[str, Any]] = []
    import_ids: list[str] = []
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with file.open(newline="", encoding="utf-8-sig") as fh, Progress(*columns, console=err) as progress:
        task = progress.add_task("import", total=total)
        for first, count, body in split_csv(csv.reader(fh), chunk_rows, MAX_CHUNK_BYTES):
            status, payload = request(
                endpoint,
                "POST",
                f"/v1/lists/import?{query}",
                body.encode(),
                allow=INPUT_ERRORS,
                content_type="text/csv",
            )
            if status >= 400:
                progress.stop()
                done = f"rows 1-{first - 1} were imported; " if first > 1 else ""
                fail(f"rows {first}-{first + count - 1} refused: {payload.get('error', status)} "
                      f"({done}re-running is safe)", payload.get("details", []))  # fmt: skip
            for name in totals:
                totals[name] += payload[name]
            import_ids.append(payload["import_id"])
            errors.extend({**e, "row": e["row"] + first - 1} for e in payload["errors"])
            progress.advance(task, count)
    out.print(
        f"{totals['rows']} rows: {totals['written']} entries written, {totals['superseded']} superseded by a "
        f"later row, {totals['failed']} rows rejected ({len(import_ids)} requests)"
    )
    if errors:
        table = Table(
            title=f"Rejected rows (row 1 is the first after the header){'' if len(errors) <= MAX_ERRORS_SHOWN else f'; first {MAX_ERRORS_SHOWN}'}"
        )
        for col in ("row", "field", "message"):
            table.add_column(col, overflow="fold")
        for e in errors[:MAX_ERRORS_SHOWN]:
            table.add_row(str(e["row"]), e["field"], e["message"])
        out.print(table)
    if report is not None:
        report.write_text(json.dumps({**totals, "import_ids": import_ids, "errors": errors}, indent=2))
        out.print(f"report written to {report}")
    if totals["failed"]:
        raise typer.Exit(1)


@lists_app.command("export")
def export(
    kind: Annotated[str | None, typer.Option(help="BLACK, GREY or WHITE (default: all)")] = None,
    output: Annotated[Path | None, typer.Option("--out", help="CSV file (default: standard output)")] = None,
    page_size: Annotated[int, typer.Option(help="Entries per request", min=1, max=5000)] = 1000,
    endpoint: EndpointOpt = None,
) -> None:
    """Live entries as CSV. Values are hashes: clear values are never stored, so never exported."""
    fh = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
    try:
        writer = csv.DictWriter(fh, fieldnames=EXPORT_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        cursor, count = None, 0
        while True:
            params = {
                "limit": str(page_size),
                **({"kind": kind} if kind else {}),
                **({"cursor": cursor} if cursor else {}),
            }
            _, payload = request(endpoint, "GET", f"/v1/lists/export?{urlencode(params)}")
            for entry in payload["entries"]:
                writer.writerow(entry)
            count += len(payload["entries"])
            cursor = payload.get("next")
            if not cursor:
                break
    finally:
        if output:
            fh.close()
    err.print(f"{count} entries exported")

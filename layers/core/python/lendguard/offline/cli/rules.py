"""``lendguard rules stats``: per-rule evaluated / hit / unique-reject counts and rates of live traffic,
read from the per-day aggregates through ``GET /v1/rules/stats`` (``--endpoint``)."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

import typer
from rich.table import Table

from lendguard.offline.cli.common import EndpointOpt, out, request

rules_app = typer.Typer(no_args_is_help=True, help="Rule statistics of live traffic (through --endpoint).")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def stats_table(stats: dict[str, Any], title: str) -> Table:
    table = Table(title=title)
    for col in (
        "rule",
        "evaluated",
        "hit",
        "hit rate",
        "missing",
        "rejected",
        "unique rejects",
        "unique rate",
    ):
        table.add_column(col, justify="left" if col == "rule" else "right")
    for r in stats["rules"]:
        table.add_row(
            r["rule_id"], str(r["evaluated"]), str(r["hit"]), _pct(r["hit_rate"]), str(r["missing"]),
            str(r["reject"]), str(r["unique_reject"]), _pct(r["unique_reject_rate"]),
        )  # fmt: skip
    return table


@rules_app.command("stats")
def stats(
    date_from: Annotated[
        str | None, typer.Option("--from", help="First day YYYY-MM-DD (UTC; default 6 days before --to)")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Last day YYYY-MM-DD (UTC; default today)")
    ] = None,
    period: Annotated[str, typer.Option(help="day, week, month or total: one table per period")] = "total",
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON")] = False,
    endpoint: EndpointOpt = None,
) -> None:
    """How often each rule fires, and how often it alone rejects, over a range of days."""
    query = {k: v for k, v in {"from": date_from, "to": date_to, "period": period}.items() if v}
    _, payload = request(endpoint, "GET", f"/v1/rules/stats?{urlencode(query)}")
    if as_json:
        out.print_json(json.dumps(payload))
        return
    parts = payload["periods"] if period != "total" else [payload["total"]]
    for part in parts:
        decisions = ", ".join(f"{k} {v}" for k, v in part["decisions"].items()) or "none"
        title = f"Rules {part['start']} to {part['end']}: {part['cases']} cases ({decisions})"
        out.print(stats_table(part, title))

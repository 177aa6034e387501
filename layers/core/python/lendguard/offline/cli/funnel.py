"""``lendguard funnel``: the vendor cost funnel of decided cases, and the cheapest group order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from lendguard.offline.cli.common import ENDPOINT_ENV, call, fail_with, out
from lendguard.offline.funnel import FunnelError, FunnelReport, load_records, records_from, report

funnel_app = typer.Typer(no_args_is_help=True, help="Vendor cost funnel: reach, rejects, spend, best order.")


def _fetch_cases(endpoint: str, limit: int) -> list[dict[str, Any]]:
    """Case records of the latest executions of a running lendguard API."""
    status, payload = call(endpoint, "GET", f"/v1/executions?limit={limit}")
    if status >= 400:
        raise FunnelError(f"{endpoint}: HTTP {status}: {payload.get('error')}")
    records = []
    for execution in payload.get("executions", []):
        if execution.get("status") != "SUCCEEDED":
            continue
        code, case = call(endpoint, "GET", f"/v1/cases/{execution['case_id']}")
        if code == 200:
            records.append(case)
    return records


@funnel_app.command("report")
def report_command(
    file: Annotated[
        Path | None,
        typer.Argument(help="JSON array, JSONL or {'cases': [...]} of case records or a backtest's states"),
    ] = None,
    policy_file: Annotated[
        Path | None,
        typer.Option("--policy", help="Policy YAML: its group order and which groups read others' facts"),
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint", envvar=ENDPOINT_ENV, help="Read case records from a running lendguard API"
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="Cases to read from --endpoint", min=1, max=1000)] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Per group: reach, reject rate, spend; spend per 1,000 applications; the cheapest order."""
    policy = None
    try:
        if policy_file is not None:
            from lendguard.core.errors import PolicyError
            from lendguard.policy.loader import load_policy

            try:
                policy = load_policy(policy_file)
            except (PolicyError, OSError) as exc:
                raise FunnelError(f"--policy: {exc}") from None
        if file is not None:
            records = load_records(file)
        elif endpoint:
            records = records_from(_fetch_cases(endpoint, limit), endpoint)
        else:
            raise FunnelError("give a FILE of case records or --endpoint")
        result = report(records, policy)
    except (FunnelError, OSError) as exc:
        fail_with(exc)
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
    else:
        render_report(out, result)


def render_report(console: Console, result: FunnelReport) -> None:
    """The funnel as tables, then the order comparison."""
    table = Table(
        title=f"Vendor funnel ({result.applications:,} applications, {result.entered:,} reached vendors)"
    )
    for col, justify in (("#", "right"), ("group", "left"), ("vendors", "left"), ("reach", "right"),
                         ("reach %", "right"), ("rejects", "right"), ("reject rate", "right"),
                         ("spend", "right"), ("cost / reached", "right")):  # fmt: skip
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for i, g in enumerate(result.groups, 1):
        share = g.reach / result.applications if result.applications else 0.0
        table.add_row(
            str(i), g.group, ", ".join(g.vendors), f"{g.reach:,}", f"{share:.1%}", f"{g.rejects:,}",
            f"{g.reject_rate:.2%}", f"{g.spend:,.2f}", f"{g.cost_per_reach:.3f}",
        )  # fmt: skip
    console.print(table)
    console.print(f"spend {result.spend:,.2f}: [bold]{result.spend_per_1000:,.2f} per 1,000 applications[/]")
    console.print(
        f"current order {' → '.join(result.current_order)}: {result.expected_per_1000:,.2f} per 1,000 (model)"
    )
    if result.precedence:
        needs = "; ".join(f"{g} after {', '.join(f)}" for g, f in result.precedence.items())
        console.print(f"constraints from the policy's rules: {needs}")
    if result.optimal_order == result.current_order:
        console.print("optimal order: the current one (no cheaper order given these reject rates and costs)")
    else:
        console.print(
            f"optimal order {' → '.join(result.optimal_order)}: {result.optimal_per_1000:,.2f} per 1,000, "
            f"saving {result.saving_per_1000:,.2f} per 1,000 ({result.saving_share:.1%})"
        )

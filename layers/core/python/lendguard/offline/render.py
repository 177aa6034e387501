"""Terminal rendering of decisions, traces, executions and demo reports (rich)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from lendguard.cases.record import CaseRecord
from lendguard.cases.response import DecisionResponse

_COLOURS = {"APPROVE": "green", "REVIEW": "yellow", "REJECT": "red"}


def when(value: str | float | None) -> str:
    """A timestamp for a table cell, to the second in UTC: ISO 8601 text or epoch seconds."""
    if value is None or value == "":
        return "-"
    if isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def decision(console: Console, r: DecisionResponse) -> None:
    colour = _COLOURS.get(r.decision or "", "magenta")
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("case_id", r.case_id)
    table.add_row("application_id", r.application_id)
    table.add_row("decision", f"[{colour} bold]{r.decision or r.status}[/]")
    table.add_row("credit_limit", "-" if r.credit_limit is None else f"{r.credit_limit:,.2f}")
    table.add_row("apr", "-" if r.apr is None else f"{r.apr:.2%}")
    if r.offer:
        table.add_row("offer", f"{r.offer.mode}, {r.offer.term_months} months, {r.offer.monthly_payment:,.2f}/month, "
                               f"valid until {r.offer.valid_until:%Y-%m-%d}")  # fmt: skip
        if r.offer.cost is not None:
            cost = r.offer.cost
            fees = f", fees {cost.total_fees:,.2f}" if cost.total_fees else ""
            lowered = (
                f" (table rate {r.offer.apr_table:.2%} lowered to fit the cap)" if r.offer.apr_table else ""
            )
            table.add_row("cost", f"{cost.annual_cost:.2%} comprehensive annual cost ({cost.label}) beside "
                                  f"nominal APR {cost.nominal_apr:.2%}{fees}{lowered}")  # fmt: skip
    table.add_row("score", "-" if r.score is None else f"{r.score:.0f}")
    table.add_row("reasons", "\n".join(f"{x.code}: {x.message}" for x in r.reasons) or "-")
    table.add_row("policy", f"{r.policy['id']} v{r.policy['version']}" if r.policy else "-")
    table.add_row("model", f"{r.model['id']} v{r.model['version']}" if r.model else "-")
    table.add_row("stages", " → ".join(f"{s.stage}{' ✗' if s.outcome == 'reject' else ''}" for s in r.stages))
    table.add_row("vendor_cost", f"{r.vendor_cost:.2f}")
    table.add_row("execution_arn", r.execution_arn or "-")
    console.print(table)


def trace(console: Console, case: CaseRecord) -> None:
    """Every rule with its parameters and observed values, every vendor call, the score."""
    console.print(f"[bold]Case {case.case_id}[/] ({case.application_id}): "
                  f"[{_COLOURS.get(case.decision or '', 'magenta')}]{case.decision or case.status}[/]")  # fmt: skip
    if case.trace is None:
        return
    rules = Table(title="Rules", show_lines=False)
    for col in ("stage", "rule", "outcome", "effect", "params", "observed"):
        rules.add_column(col, overflow="fold")
    for r in case.trace.rules:
        style = "red" if r.effect == "reject" else "yellow" if r.effect in ("review", "score") else None
        rules.add_row(
            r.stage, r.rule_id, r.outcome, r.effect, _compact(r.params), _compact(r.observed), style=style
        )
    console.print(rules)
    if case.trace.vendors:
        vendors = Table(title="Vendors")
        for col in ("group", "vendor", "status", "billed", "cost", "latency ms", "payload"):
            vendors.add_column(col, overflow="fold")
        # Every payload of a case sits under one prefix: print it once, keep the table narrow.
        folders = {v.payload_ref.rsplit("/", 1)[0] for v in case.trace.vendors if v.payload_ref}
        prefix = folders.pop() + "/" if len(folders) == 1 else ""
        for v in case.trace.vendors:
            payload = v.payload_ref.removeprefix(prefix) if v.payload_ref else "-"
            vendors.add_row(v.group, v.vendor, v.status + (f" ({v.detail})" if v.detail else ""), str(v.billed),
                            f"{v.cost:.2f}", f"{v.latency_ms:.1f}", payload)  # fmt: skip
        console.print(vendors)
        if prefix:
            console.print(f"payloads under {prefix}")
    for hit in case.trace.list_hits:
        console.print(f"list hit: {hit['kind']} {hit['key_type']} ({hit['reason_code']})")
    if case.score:
        s = case.score
        console.print(f"score: model {s.model_id} v{s.model_version}, PD {s.pd:.4f}, points {s.points:.1f}, "
                      f"rule adjustment {s.adjustment:+.0f}, final {s.final_points:.1f}")  # fmt: skip
    stages = ", ".join(f"{s.stage} {s.elapsed_ms:.1f} ms" for s in case.trace.stages)
    console.print(f"stages: {stages}")


def _compact(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in values.items()) if values else ""

"""``lendguard evaluate --from --to [--bad ...]``: live decisions joined with their repayment outcomes.

Reads decided cases and their loan events through ``GET /v1/loans/outcomes`` (``--endpoint``: the
local ``lendguard serve`` or a deployed API), a page of 100 cases a request, and reports with
:mod:`lendguard.offline.evaluation.live`: bad rate by score band and by month of decision
(vintage curves), KS / AUC of the live score and of the shadow models on matured accounts, and
per-rule statistics. ``--out`` writes the whole report as JSON; the terminal gets a summary.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

import typer
from rich.table import Table

from lendguard.core.errors import InvalidInput
from lendguard.offline.cli.common import EndpointOpt, fail, out, request
from lendguard.outcomes.bad import DEFAULT_BAD, parse_bad

# The report code needs numpy: imported when the command runs, so other commands start quickly.
if TYPE_CHECKING:
    from lendguard.offline.evaluation.live import Discrimination, EvaluationReport


def _day(value: str | None, field: str) -> date | None:
    if value is None:
        return None
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        fail("invalid option", [{"field": field, "message": "must be a date in the form YYYY-MM-DD"}])


def fetch_cases(endpoint: str | None, start: date, end: date) -> list[dict[str, Any]]:
    """Every decided case received from ``start`` to ``end`` with its events, page by page."""
    rows: list[dict[str, Any]] = []
    token: str | None = None
    with out.status("reading cases and outcomes") as status:
        while True:
            query = {"from": start.isoformat(), "to": end.isoformat(), "limit": "100"}
            if token:
                query["next_token"] = token
            _, page = request(endpoint, "GET", f"/v1/loans/outcomes?{urlencode(query)}")
            rows.extend(page["cases"])
            status.update(f"reading cases and outcomes: {len(rows)}")
            token = page.get("next_token")
            if not token:
                return rows


def run_evaluate(
    date_from: str, date_to: str, bad: str, as_of: str | None, policy: Path | None, endpoint: str | None,
    out_file: Path | None,
) -> EvaluationReport:  # fmt: skip
    """Check the options (exit 2 naming the option), fetch, evaluate, print, and write --out."""
    from lendguard.offline import project
    from lendguard.offline.evaluation.live import evaluate
    from lendguard.policy.loader import load_policy

    start, end = _day(date_from, "--from"), _day(date_to, "--to")
    today = datetime.now(UTC).date()
    observed = _day(as_of, "--as-of") or today
    assert start is not None and end is not None
    problems = []
    if end < start:
        problems.append({"field": "--to", "message": "must not be before --from"})
    if observed > today:
        problems.append({"field": "--as-of", "message": f"must not be after today ({today})"})
    try:
        definition = parse_bad(bad, field="--bad")
    except InvalidInput as exc:
        problems += [d.model_dump() for d in exc.details]
    if problems:
        fail("invalid options", problems)
    try:
        bands = load_policy(policy or project.default_policy_path()).limits.score_bands
    except Exception as exc:
        fail("cannot read the policy for its score bands", [{"field": "--policy", "message": str(exc)}])
    report = evaluate(fetch_cases(endpoint, start, end), definition, observed, start, end, bands)
    print_report(report)
    if out_file is not None:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(report.model_dump_json(indent=2))
        out.print(f"report written to {out_file}")
    return report


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _model_row(table: Table, label: str, d: Discrimination) -> None:
    name = f"{d.model_id} v{d.model_version}" if d.model_version is not None else d.model_id
    table.add_row(
        label, name, str(d.accounts), str(d.bads), _num(d.ks), _num(d.auc), _num(d.gini), d.note or ""
    )


def print_report(report: EvaluationReport) -> None:
    decisions = ", ".join(f"{k} {v}" for k, v in sorted(report.decisions.items())) or "none"
    out.print(
        f"[bold]Cases received {report.date_from} to {report.date_to}[/], observed at {report.as_of}, "
        f"bad = {report.bad_definition}\n{report.decided} decided ({decisions}); {report.approved} approved, "
        f"{report.drawn} drawn, {report.matured} matured, {report.bads} bad "
        f"(bad rate {_pct(report.bad_rate)})"
    )
    bands = Table(title="Bad rate by score band (final points; matured accounts)")
    for col in ("band", "approved", "matured", "bad", "bad rate"):
        bands.add_column(col, justify="left" if col == "band" else "right")
    for b in report.score_bands:
        bands.add_row(b.band, str(b.approved), str(b.matured), str(b.bads), _pct(b.bad_rate))
    out.print(bands)
    vintages = Table(title="Vintages by month of decision: share ever 30+ / 90+ dpd by months on book")
    longest = max((len(v.curve) for v in report.vintages), default=0)
    for col in ("month", "decided", "approved", "drawn", *(f"MOB {m}" for m in range(1, longest + 1))):
        vintages.add_column(col, justify="left" if col == "month" else "right")
    for v in report.vintages:
        cells = [f"{_pct(p.dpd30)} / {_pct(p.dpd90)}" for p in v.curve]
        cells += [""] * (longest - len(cells))
        vintages.add_row(v.month, str(v.decided), str(v.approved), str(v.drawn), *cells)
    out.print(vintages)
    models = Table(title="Live score on matured accounts: champion, and each shadow on the same accounts")
    for col in ("role", "model", "accounts", "bad", "KS", "AUC", "Gini", "note"):
        models.add_column(col)
    if report.champion is not None:
        _model_row(models, "champion", report.champion)
    for pair in report.shadows:
        _model_row(models, "shadow", pair.shadow)
        _model_row(models, "  champion, same accounts", pair.champion)
    out.print(models)
    rules = Table(title="Rules on live traffic (bad rates on matured accounts)")
    for col in (
        "rule",
        "evaluated",
        "hit rate",
        "unique rejects",
        "bad rate hit",
        "bad rate not hit",
        "lift",
    ):
        rules.add_column(col, justify="left" if col == "rule" else "right")
    for r in report.rules:
        lift = "-" if r.lift is None else f"{r.lift:.2f}"
        rules.add_row(r.rule_id, str(r.evaluated), _pct(r.hit_rate), str(r.unique_reject), _pct(r.bad_rate_hit),
                      _pct(r.bad_rate_not_hit), lift)  # fmt: skip
    out.print(rules)


def evaluate_command(
    date_from: Annotated[str, typer.Option("--from", help="First day cases were received, YYYY-MM-DD (UTC)")],
    date_to: Annotated[str, typer.Option("--to", help="Last day cases were received, YYYY-MM-DD (UTC)")],
    bad: Annotated[str, typer.Option("--bad", help="Bad definition 'ever_dpd>=N within M'")] = DEFAULT_BAD,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Observation date YYYY-MM-DD (default today)")
    ] = None,
    policy: Annotated[
        Path | None, typer.Option(help="Policy whose limits.score_bands band the scores")
    ] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the report as JSON here")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON instead of tables")
    ] = False,
    endpoint: EndpointOpt = None,
) -> None:
    """Join decided cases with their repayment outcomes: bad rates, vintages, KS / AUC, rules."""
    if as_json:
        out.quiet = True
    report = run_evaluate(date_from, date_to, bad, as_of, policy, endpoint, out_file)
    if as_json:
        out.quiet = False
        out.print_json(json.dumps(report.model_dump(mode="json")))

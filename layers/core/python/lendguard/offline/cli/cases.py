"""``lendguard cases``: look up, list, review and re-decide cases through a running API.

Every command is a client of ``--endpoint`` (``LENDGUARD_ENDPOINT``, default the local
``lendguard serve``). Exit codes: 0 done; 1 the API refused (404 unknown case, 409 conflict)
or the case failed again; 2 bad input (each field the API named is printed) or no API.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import typer
from rich.table import Table

from lendguard.offline.cli.common import EndpointOpt, JsonOpt, out, request
from lendguard.offline.render import when

cases_app = typer.Typer(
    no_args_is_help=True, help="Cases: show, list, review, re-decide (through --endpoint)."
)

MAX_PAGES = 1000  # --all stops here (100,000 cases at the largest page size)

CaseArg = Annotated[str, typer.Argument(help="Case id (C20261122...)")]


def _request(endpoint: str | None, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """The API's answer; a 502 is a FAILED case, shown like any other."""
    return request(endpoint, method, path, body, allow=(502,))[1]


def _money(value: Any) -> str:
    return "-" if value is None else f"{float(value):,.2f}"


@cases_app.command("show")
def show(case_id: CaseArg, endpoint: EndpointOpt = None, as_json: JsonOpt = False) -> None:
    """Everything about one case: decision, offer and schedule, reasons, review, versions, timings."""
    case = _request(endpoint, "GET", f"/v1/cases/{quote(case_id, safe='')}")
    if as_json:
        out.print_json(json.dumps(case))
        return
    head = Table(show_header=False, box=None, pad_edge=False)
    head.add_column(style="bold")
    head.add_column(overflow="fold")
    policy, model = case.get("policy") or {}, case.get("model") or {}
    timings = case.get("timings") or {}
    rows = [
        ("case_id", case["case_id"]),
        ("application_id", case["application_id"]),
        ("status", case["status"]),
        ("decision", f"{case.get('decision') or '-'} (engine: {case.get('automated_decision') or '-'})"),
        ("created / decided", f"{when(case['created_at'])} / {when(case.get('decided_at'))}"),
        ("policy / model", f"{policy.get('id', '-')} v{policy.get('version', '-')} / "
                           f"{model.get('id', '-')} v{model.get('version', '-')}"),
        ("decision time", f"{timings.get('decision_ms') or '-'} ms"),
        ("execution_arn", case.get("execution_arn") or "-"),
    ]  # fmt: skip
    for link in ("redecided_from", "redecided_as"):
        if case.get(link):
            rows.append((link, case[link]))
    if case.get("error"):
        rows.append(("error", json.dumps(case["error"])))
    for key, value in rows:
        head.add_row(key, str(value))
    out.print(head)
    for r in case.get("reasons") or []:
        out.print(f"  reason {r['code']}: {r['message']}")
    offer = case.get("offer")
    if offer:
        out.print(
            f"offer: limit {_money(offer['credit_limit'])} at APR {offer['apr']:.2%}, {offer['term_months']} months, "
            f"{offer['mode']} ({offer.get('repayment_method')}), valid until {offer['valid_until']}"
        )
        schedule = offer.get("schedule")
        if schedule:
            table = Table(title=f"Repayment schedule ({schedule['method']})")
            for col in ("#", "due", "payment", "principal", "interest", "balance"):
                table.add_column(col, justify="right")
            for i in schedule["instalments"]:
                table.add_row(
                    str(i["number"]), i["due_date"], i["payment"], i["principal"], i["interest"], i["balance"]
                )
            out.print(table)
            out.print(
                f"total interest {schedule['total_interest']}, total payable {schedule['total_payable']}"
            )
    review = case.get("review")
    if review:
        pending = review.get("pending")
        waiting = (
            f", waiting for the {pending['level']} review until {when(pending['expires_at'])}"
            if pending
            else ""
        )
        out.print(f"review: {review['status']}{waiting}")
        history = Table(title="Review history")
        for col in ("at", "event", "level", "reviewer", "decision", "limit", "note"):
            history.add_column(col, overflow="fold")
        for e in review.get("history") or []:
            history.add_row(when(e["at"]), e["event"], e.get("level") or "-", e.get("reviewer") or "-",
                            e.get("decision") or "-", _money(e.get("limit")), e.get("note") or e.get("detail") or "")  # fmt: skip
        out.print(history)


@cases_app.command("list")
def list_cases(
    status: Annotated[str | None, typer.Option(help="DECIDED, PENDING_REVIEW or FAILED")] = None,
    decision: Annotated[str | None, typer.Option(help="APPROVE, REVIEW or REJECT")] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="Created at or after (ISO date or time)")
    ] = None,
    to: Annotated[str | None, typer.Option(help="Created at or before (ISO date or time)")] = None,
    application_id: Annotated[str | None, typer.Option(help="Cases of one application")] = None,
    limit: Annotated[int, typer.Option(help="Cases per page (1-100)")] = 20,
    next_token: Annotated[str | None, typer.Option(help="Continue from a previous page")] = None,
    all_pages: Annotated[bool, typer.Option("--all", help="Follow next_token to the end")] = False,
    endpoint: EndpointOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Cases newest first, a page at a time (the API queries its indexes, never scans)."""
    params = {"status": status, "decision": decision, "from": from_, "to": to,
              "application_id": application_id, "limit": str(limit), "next_token": next_token}  # fmt: skip
    found: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(MAX_PAGES):
        query = urlencode({k: v for k, v in params.items() if v is not None})
        page = _request(endpoint, "GET", f"/v1/cases?{query}")
        found.extend(page["cases"])
        token = page.get("next_token")
        if not all_pages or not token:
            break
        params["next_token"] = token
    if as_json:
        out.print_json(json.dumps({"cases": found, "count": len(found), "next_token": token}))
        return
    table = Table(title=f"{len(found)} case(s)")
    for col in ("created", "case", "application", "status", "decision", "limit", "review"):
        table.add_column(col, overflow="fold")
    for c in found:
        waiting = c.get("review_waiting")
        review = f"waiting: {waiting}" if waiting else c.get("review_status") or ""
        table.add_row(when(c["created_at"]), c["case_id"], c["application_id"], c["status"], c.get("decision") or "-",
                      _money(c.get("credit_limit")), review)  # fmt: skip
    out.print(table)
    if token:
        out.print(f"more: --next-token {token}")


@cases_app.command("review")
def review(
    case_id: CaseArg,
    decision: Annotated[str, typer.Option(help="APPROVE or REJECT")],
    reviewer: Annotated[
        str | None, typer.Option(help="Who reviews: must be the token's user, who is the default")
    ] = None,
    limit: Annotated[
        float | None, typer.Option(help="APPROVE: a lower limit than the one under review")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Why")] = None,
    level: Annotated[
        str | None,
        typer.Option(help="initial or final: refuse the answer if that level is not the one waiting"),
    ] = None,
    endpoint: EndpointOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer the review task a case waits on (409 if already answered, or by the same reviewer twice)."""
    body: dict[str, Any] = {"decision": decision.upper()}
    for key, value in (("reviewer", reviewer), ("limit", limit), ("note", note), ("level", level)):
        if value is not None:
            body[key] = value
    answer = _request(endpoint, "POST", f"/v1/cases/{quote(case_id, safe='')}/review", body)
    if as_json:
        out.print_json(json.dumps(answer))
        return
    accepted = answer["accepted"]
    nxt = (
        "a final review by another reviewer"
        if answer["next"] == "final_review"
        else "the review's conclusion"
    )
    out.print(f"{accepted['level']} review of {answer['case_id']}: {accepted['decision']} "
              f"(limit {_money(accepted.get('limit'))}) by {accepted['reviewer']}; next: {nxt}")  # fmt: skip


@cases_app.command("redecide")
def redecide(
    case_id: CaseArg,
    by: Annotated[
        str | None, typer.Option("--by", help="Who asks: must be the token's user, who is the default")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Why")] = None,
    endpoint: EndpointOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Decide a FAILED case again, as a new case linked to it."""
    body: dict[str, Any] = {"requested_by": by} if by else {}
    if note is not None:
        body["note"] = note
    response = _request(endpoint, "POST", f"/v1/cases/{quote(case_id, safe='')}/redecide", body)
    if as_json:
        out.print_json(json.dumps(response))
    else:
        out.print(f"{case_id} re-decided as {response['case_id']}: "
                  f"{response.get('decision') or response['status']} (limit {_money(response.get('credit_limit'))})")  # fmt: skip
    if response.get("status") == "FAILED":
        raise typer.Exit(1)


@cases_app.command("replay")
def replay(
    case_id: CaseArg,
    policy: Annotated[
        str | None, typer.Option("--policy", help="ID@VERSION to replay under (default: the pinned version)")
    ] = None,
    endpoint: EndpointOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Decide a past case again from its archive (no vendor called, nothing written), beside the
    original. Exit 1 when a replay under the pinned version differs from the original."""
    body: dict[str, Any] = {"policy": policy} if policy else {}
    response = _request(endpoint, "POST", f"/v1/cases/{quote(case_id, safe='')}/replay", body)
    if as_json:
        out.print_json(json.dumps(response))
    else:
        before, after = response["original"], response["replay"]
        pol, orig = response["policy"], response.get("original_policy") or {}
        table = Table(title=f"Replay of {case_id}")
        table.add_column("")
        table.add_column(f"original ({orig.get('id', '-')} v{orig.get('version', '-')})")
        table.add_column(f"replay ({pol.get('id', '-')} v{pol.get('version', '-')})")
        for key in ("decision", "reasons", "credit_limit", "apr", "points", "pd", "halted_at"):
            old, new = before.get(key), after.get(key)
            shown = [
                ", ".join(v) if isinstance(v, list) else ("-" if v is None else str(v)) for v in (old, new)
            ]
            table.add_row(key, shown[0], shown[1] if old == new else f"[bold]{shown[1]}[/bold]")
        out.print(table)
        if response["not_archived"]:
            out.print(
                f"not in the archive (the original flow never bought it): {', '.join(response['not_archived'])}"
            )
        out.print("identical" if response["identical"] else "changed: " + "; ".join(response["changes"]))
    if response["pinned"] and not response["identical"]:
        raise typer.Exit(1)

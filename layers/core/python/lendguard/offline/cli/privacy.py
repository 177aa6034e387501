"""``lendguard privacy``: erase a person's personal data, through a running API.

Exit codes: 0 done (also when the person had no data: reported); 2 bad input or no API.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from lendguard.offline.cli.common import EndpointOpt, JsonOpt, out, request

privacy_app = typer.Typer(
    no_args_is_help=True, help="Personal data: erasure on request (through --endpoint)."
)


@privacy_app.command("erase")
def erase(
    id_number: Annotated[str, typer.Option("--id-number", help="The person's resident ID number")],
    reason: Annotated[str, typer.Option("--reason", help="Why (the request's reference)")],
    endpoint: EndpointOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Erase (or crypto-shred) the person's data in archive, cases, caches and vendor payloads;
    the decisions and hashed keys stay. Prints the report; the ID number is never printed."""
    # Who erases is the token's user (the API records the authenticated caller).
    body = {"id_number": id_number, "reason": reason}
    _, report = request(endpoint, "POST", "/v1/privacy/erasures", body)
    if as_json:
        out.print_json(json.dumps(report))
        return
    if not report["found"]:
        out.print(f"no data held for this person (erasure {report['erasure_id']} recorded)")
        return
    out.print(
        f"erasure {report['erasure_id']}: {len(report['cases'])} case(s) {', '.join(report['cases'])}; "
        f"{report['archive_objects_removed']} archive object(s), {report['vendor_payloads_removed']} vendor "
        f"payload(s), {report['cache_items_removed']} cache item(s) removed; "
        f"{report['case_records_redacted']} case record(s) redacted (decisions kept)"
    )

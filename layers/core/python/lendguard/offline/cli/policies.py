"""``lendguard policy push|list|show|diff|submit|approve|reject|activate|rollback|test`` and
``lendguard experiments show``: clients of ``/v1/policies`` (``test`` and file diffs run here).

Every refusal of the API (invalid policy, unknown version, own approval, unapproved version,
bad split) exits 2 with the message and each field on stderr. Who acts is the user whose token
is sent (``--token`` / ``LENDGUARD_TOKEN``): the API takes the actor from the authenticated caller.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import typer
from rich.table import Table

from lendguard.core.errors import InvalidInput, PolicyError
from lendguard.offline.cli.common import EndpointOpt, JsonOpt, err, fail, out, request

experiments_app = typer.Typer(no_args_is_help=True, help="A/B and champion/challenger experiments.")

NoteOpt = Annotated[str, typer.Option("--note", help="Why (kept with the version's history)")]
REF = re.compile(r"^(?P<id>[A-Za-z][A-Za-z0-9_\-]{0,63})@(?P<version>[1-9][0-9]{0,8})$")


def _ref(value: str, field: str = "ID@VERSION") -> tuple[str, int]:
    match = REF.match(value)
    if not match:
        fail(
            "invalid policy reference",
            [{"field": field, "message": f"{value!r} is not ID@VERSION (e.g. default@2)"}],
        )
    return match["id"], int(match["version"])


def _call(endpoint: str | None, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One API call as the token's user; every 4xx ends the command with exit 2 (the input named a
    wrong thing)."""
    status, payload = request(endpoint, method, path, body, allow=(403, 404, 409))
    if status >= 400:
        payload = payload if isinstance(payload, dict) else {}
        fail(payload.get("error", f"HTTP {status}"), payload.get("details", []), code=2)
    return payload


def _read(path: Path, field: str) -> str:
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        fail(
            "cannot read the file",
            [{"field": field, "message": f"{path}: {getattr(exc, 'strerror', None) or exc}"}],
        )


def suite_path(policy_file: Path) -> Path:
    """Where a policy's test suite sits: ``NAME.tests.yaml`` beside ``NAME.yaml``."""
    return policy_file.with_name(policy_file.name.removesuffix(".yaml").removesuffix(".yml") + ".tests.yaml")


def _print_tests(report: dict[str, Any] | None) -> None:
    if not report:
        out.print("[yellow]no test suite[/] (submission needs one)")
        return
    table = Table(title=f"Test suite ({len(report['results'])} cases)")
    for col in ("case", "result", "decision", "reasons", "limit", "problems"):
        table.add_column(col, overflow="fold")
    for r in report["results"]:
        mark = "[green]pass[/]" if r["passed"] else "[red]FAIL[/]"
        table.add_row(r["name"], mark, r["decision"] or "-", ", ".join(r["reasons"]) or "-",
                      "-" if r["limit"] is None else f"{r['limit']:g}", "; ".join(r["problems"]))  # fmt: skip
    out.print(table)
    cov = report["coverage"]
    uncovered = [c for c in cov if c["enabled"] and not (c["hit"] and c["not_hit"])]
    covered = sum(1 for c in cov if c["enabled"]) - len(uncovered)
    out.print(f"rule coverage: {covered}/{sum(1 for c in cov if c['enabled'])} enabled rules hit and not hit")
    for c in uncovered:
        out.print(f"  [red]{c['rule_id']}[/]: hit {c['hit']}x, not hit {c['not_hit']}x")


def _print_version(v: dict[str, Any]) -> None:
    out.print(f"[bold]{v['policy_id']} v{v['version']}[/] {v['status']}  author {v['author']}"
              f"{'  approver ' + v['approver'] if v.get('approver') else ''}  sha256 {v['content_hash'][:16]}…")  # fmt: skip
    if v.get("evidence"):
        e = v["evidence"]
        out.print(f"  evidence: backtest on {e['data']} ({e['rows']} rows) vs v{e['baseline']['version']}, digest {e['digest'][:16]}…")  # fmt: skip
    for n in v.get("notes", []):
        out.print(f"  {n['at'][:19]} {n['by']} {n['action']}: {n['text']}")


def register(policy_app: typer.Typer) -> None:
    """Add the lifecycle commands to ``lendguard policy``."""

    @policy_app.command("push")
    def push(
        file: Annotated[Path, typer.Argument(help="Policy YAML")],
        tests: Annotated[Path | None, typer.Option("--tests", help="Test suite (default: FILE.tests.yaml beside it)")] = None,
        note: NoteOpt = "", endpoint: EndpointOpt = None, as_json: JsonOpt = False,
    ) -> None:  # fmt: skip
        """Store a new DRAFT version (refused if invalid or a test case fails)."""
        suite = tests or suite_path(file)
        body = {"policy": _read(file, "FILE"), "note": note}
        if suite.exists() or tests is not None:
            body["tests"] = _read(suite, "--tests")
        result = _call(endpoint, "POST", "/v1/policies", body)
        if as_json:
            out.print_json(json.dumps(result))
            return
        _print_version(result["version"])
        _print_tests(result["tests"])

    @policy_app.command("list")
    def list_(
        policy_id: Annotated[str | None, typer.Argument(help="A policy id: its versions")] = None,
        endpoint: EndpointOpt = None, as_json: JsonOpt = False,
    ) -> None:  # fmt: skip
        """Policy ids and their routing, or one id's versions."""
        if policy_id is None:
            payload = _call(endpoint, "GET", "/v1/policies")
            if as_json:
                out.print_json(json.dumps(payload))
                return
            table = Table(title="Policies")
            for col in ("policy", "champion", "arms", "conditions", "shadows", "revision"):
                table.add_column(col)
            for p in payload["policies"]:
                r = p["routing"] or {}
                table.add_row(p["policy_id"], str(r.get("champion", "-")),
                              ", ".join(f"{a['name']}=v{a['version']}:{a['percent']}%" for a in r.get("arms", [])) or "-",
                              ", ".join(f"{c['name']}=v{c['version']}" for c in r.get("conditions", [])) or "-",
                              ", ".join(f"v{v}" for v in r.get("shadows", [])) or "-", str(r.get("revision", "-")))  # fmt: skip
            out.print(table)
            return
        payload = _call(endpoint, "GET", f"/v1/policies/{quote(policy_id)}/versions")
        if as_json:
            out.print_json(json.dumps(payload))
            return
        table = Table(title=f"Versions of {policy_id}")
        for col in ("version", "status", "author", "approver", "created", "tests", "sha256"):
            table.add_column(col)
        for v in payload["versions"]:
            t = v.get("tests")
            tests = f"{t['passed']}/{t['cases']}" + (" uncovered" if t["uncovered"] else "") if t else "-"
            table.add_row(str(v["version"]), v["status"], v["author"], v.get("approver") or "-",
                          v["created_at"][:19], tests, v["content_hash"][:12])  # fmt: skip
        out.print(table)

    @policy_app.command("show")
    def show(
        ref: Annotated[str, typer.Argument(help="ID (its routing) or ID@VERSION (the version)")],
        body: Annotated[bool, typer.Option("--body", help="Print the policy document too")] = False,
        endpoint: EndpointOpt = None, as_json: JsonOpt = False,
    ) -> None:  # fmt: skip
        """A version's record (and body), or a policy's routing and its history."""
        if "@" not in ref:
            payload = _call(endpoint, "GET", f"/v1/policies/{quote(ref)}/routing")
            if as_json:
                out.print_json(json.dumps(payload))
                return
            for r in payload["history"]:
                now = (
                    " [bold](in force)[/]"
                    if payload["routing"] and r["revision"] == payload["routing"]["revision"]
                    else ""
                )
                restored = f" restores r{r['restored_from']}" if r.get("restored_from") else ""
                out.print(f"r{r['revision']}{now} {r['changed_at'][:19]} by {r['changed_by']}{restored}: champion "
                          f"v{r['champion']}, arms {[(a['name'], a['version'], a['percent']) for a in r['arms']]}, "
                          f"conditions {[(c['name'], c['when'], c['version']) for c in r['conditions']]}, "
                          f"shadows {r['shadows']} ({r['reason'] or 'no reason'})")  # fmt: skip
            if not payload["history"]:
                out.print(f"{ref} has no routing: the deployment's configured version decides")
            return
        policy_id, version = _ref(ref)
        payload = _call(endpoint, "GET", f"/v1/policies/{policy_id}/versions/{version}")
        if as_json:
            out.print_json(json.dumps(payload))
            return
        _print_version(payload["version"])
        if body:
            out.print(payload["body"], markup=False, highlight=False)

    @policy_app.command("diff")
    def diff(
        a: Annotated[str, typer.Argument(help="A policy file or ID@VERSION")],
        b: Annotated[str, typer.Argument(help="A policy file or ID@VERSION")],
        endpoint: EndpointOpt = None, as_json: JsonOpt = False,
    ) -> None:  # fmt: skip
        """What changed in meaning between two policies: rules, vendors, tables, every section."""
        from lendguard.policy.diff import diff_policies

        result = diff_policies(_load(a, "A", endpoint), _load(b, "B", endpoint))
        if as_json:
            out.print_json(result.model_dump_json())
            return
        old, new = result.old, result.new
        out.print(
            f"[bold]{old['id']} v{old['version']} → {new['id']} v{new['version']}[/]: {len(result.changes)} changes"
        )
        for section, changes in result.sections().items():
            out.rule(section)
            for c in changes:
                out.print(_describe(c), markup=False, highlight=False)

    @policy_app.command("submit")
    def submit(
        ref: Annotated[str, typer.Argument(help="ID@VERSION")],
        evidence: Annotated[Path, typer.Option("--evidence", help="Backtest report JSON against the champion")],
        note: NoteOpt = "", endpoint: EndpointOpt = None,
    ) -> None:  # fmt: skip
        """Ask for approval: the suite runs again and the backtest report is attached."""
        policy_id, version = _ref(ref)
        try:
            report = json.loads(_read(evidence, "--evidence"))
        except ValueError as exc:
            fail("invalid evidence", [{"field": "--evidence", "message": f"not JSON: {exc}"}])
        result = _call(endpoint, "POST", f"/v1/policies/{policy_id}/versions/{version}/submit",
                       {"evidence": report, "note": note})  # fmt: skip
        _print_version(result["version"])
        _print_tests(result["tests"])

    @policy_app.command("approve")
    def approve(
        ref: Annotated[str, typer.Argument(help="ID@VERSION")],
        note: Annotated[str, typer.Option("--note", help="Why it may go live")],
        override_reason: Annotated[str | None, typer.Option("--override-reason", help="Approve although the backtest is outside the release bands (recorded)")] = None,
        endpoint: EndpointOpt = None,
    ) -> None:  # fmt: skip
        """Approve a submitted version (not your own; evidence within the bands or an override)."""
        policy_id, version = _ref(ref)
        body = {"note": note, **({"override_reason": override_reason} if override_reason else {})}
        _print_version(_call(endpoint, "POST", f"/v1/policies/{policy_id}/versions/{version}/approve", body))

    @policy_app.command("reject")
    def reject(
        ref: Annotated[str, typer.Argument(help="ID@VERSION")],
        note: Annotated[str, typer.Option("--note", help="Why not")],
        endpoint: EndpointOpt = None,
    ) -> None:  # fmt: skip
        """Send a submitted version back to its author."""
        policy_id, version = _ref(ref)
        _print_version(_call(endpoint, "POST", f"/v1/policies/{policy_id}/versions/{version}/reject", {"note": note}))  # fmt: skip

    @policy_app.command("activate")
    def activate(
        ref: Annotated[str, typer.Argument(help="ID@VERSION: the champion")],
        arm: Annotated[list[str] | None, typer.Option("--arm", help="NAME=VERSION:PERCENT, repeated; percentages sum to 100")] = None,
        when: Annotated[list[str] | None, typer.Option("--when", help="NAME=VERSION:EXPRESSION, a conditional route on application facts")] = None,
        shadow: Annotated[list[int] | None, typer.Option("--shadow", help="A challenger version run in shadow")] = None,
        experiment: Annotated[str | None, typer.Option("--experiment", help="Experiment name (the A/B bucket key)")] = None,
        ack_by: Annotated[str | None, typer.Option("--ack-by", help="Compliance officer acknowledging an offer-changing split")] = None,
        ack_reference: Annotated[str | None, typer.Option("--ack-reference", help="Their assessment reference")] = None,
        reason: Annotated[str, typer.Option("--reason", help="Why the routing changes")] = "",
        endpoint: EndpointOpt = None,
    ) -> None:  # fmt: skip
        """Put a routing in force: the champion, optional A/B arms, conditional routes and shadows."""
        policy_id, version = _ref(ref)
        spec: dict[str, Any] = {"champion": version, "arms": [], "conditions": [], "shadows": shadow or [],
                                "experiment": experiment, "reason": reason}  # fmt: skip
        for i, item in enumerate(arm or []):
            m = re.match(r"^([A-Za-z0-9_\-]+)=(\d+):([0-9.]+)$", item)
            if not m:
                fail(
                    "invalid routing",
                    [{"field": f"--arm {i + 1}", "message": f"{item!r} is not NAME=VERSION:PERCENT"}],
                )
            spec["arms"].append({"name": m[1], "version": int(m[2]), "percent": m[3]})
        for i, item in enumerate(when or []):
            m = re.match(r"^([A-Za-z0-9_\-]+)=(\d+):(.+)$", item, re.S)
            if not m:
                fail(
                    "invalid routing",
                    [{"field": f"--when {i + 1}", "message": f"{item!r} is not NAME=VERSION:EXPRESSION"}],
                )
            spec["conditions"].append({"name": m[1], "version": int(m[2]), "when": m[3]})
        if ack_by or ack_reference:
            spec["compliance_ack"] = {"by": ack_by or "", "reference": ack_reference or ""}
        routing = _call(endpoint, "PUT", f"/v1/policies/{policy_id}/routing", spec)
        out.print(f"{policy_id}: routing r{routing['revision']} in force (champion v{routing['champion']}); "
                  "functions pick it up within seconds")  # fmt: skip

    @policy_app.command("rollback")
    def rollback(
        policy_id: Annotated[str, typer.Argument(help="Policy id")],
        reason: Annotated[str, typer.Option("--reason", help="Why (recorded)")],
        endpoint: EndpointOpt = None,
    ) -> None:  # fmt: skip
        """Restore the routing in force before the current one (a new, audited revision)."""
        routing = _call(
            endpoint, "POST", f"/v1/policies/{quote(policy_id)}/routing/rollback", {"reason": reason}
        )
        out.print(f"{policy_id}: routing r{routing['revision']} restores r{routing['restored_from']} "
                  f"(champion v{routing['champion']})")  # fmt: skip

    @policy_app.command("release-config")
    def release_config(
        approval_rate_change: Annotated[float | None, typer.Option(help="Largest |change| of the approval rate")] = None,
        bad_rate_increase: Annotated[float | None, typer.Option(help="Largest rise of the bad rate")] = None,
        vendor_spend_increase: Annotated[float | None, typer.Option(help="Largest relative rise of vendor spend")] = None,
        approver: Annotated[list[str] | None, typer.Option("--approver", help="Who may approve (replaces the list)")] = None,
        endpoint: EndpointOpt = None,
    ) -> None:  # fmt: skip
        """Show the release bands and approvers; with options, change them (approvers only)."""
        current = _call(endpoint, "GET", "/v1/release-config")
        bands = {k: v for k, v in {"approval_rate_change": approval_rate_change, "bad_rate_increase": bad_rate_increase,
                                   "vendor_spend_increase": vendor_spend_increase}.items() if v is not None}  # fmt: skip
        if bands or approver:
            body: dict[str, Any] = {"bands": {**current["bands"], **bands}}
            if approver:
                body["approvers"] = approver
            current = _call(endpoint, "PUT", "/v1/release-config", body)
        out.print_json(json.dumps(current))

    @policy_app.command("test")
    def test(
        file: Annotated[Path, typer.Argument(help="Policy YAML")],
        tests: Annotated[Path | None, typer.Option("--tests", help="Test suite (default: FILE.tests.yaml beside it)")] = None,
        as_json: JsonOpt = False,
    ) -> None:  # fmt: skip
        """Run a policy's test suite in process: a pass/fail table and rule coverage (exit 1 if not green)."""
        report = run_local_suite(file, tests)
        if as_json:
            out.print_json(report.model_dump_json())
        else:
            _print_tests(report.model_dump())
        if not report.green:
            raise typer.Exit(1)


def run_local_suite(file: Path, tests: Path | None = None) -> Any:
    """The suite beside ``file`` run against it with the locally trained model (exit 2 on bad input)."""
    from lendguard.core.hashing import LOCAL_SECRET
    from lendguard.decision.suite import parse_suite, run_suite, suite_digest
    from lendguard.models.artifact import ModelArtifact
    from lendguard.offline.local.runtime import default_home, ensure_default_model
    from lendguard.policy.loader import load_policy_text

    text = _read(file, "FILE")
    try:
        policy = load_policy_text(text, str(file))
    except PolicyError as exc:
        fail("invalid policy", [{"field": "FILE", "message": str(exc)}])
    suite_file = tests or suite_path(file)
    suite_text = _read(suite_file, "--tests")
    ref = policy.scoring.model
    directory = default_home() / "models" / ref.id / f"v{ref.version}"
    if not (directory / "model.json").exists():
        if ref.id != "default-xgb":
            fail("the policy's model is not here", [{"field": "scoring.model", "message": f"{directory} has no model.json (lendguard train --out {directory})"}])  # fmt: skip
        directory = ensure_default_model(default_home(), ref.id, ref.version)
    try:
        return run_suite(
            policy,
            ModelArtifact.load(directory),
            parse_suite(suite_text),
            LOCAL_SECRET,
            suite_digest(suite_text),
        )
    except InvalidInput as exc:
        fail(exc.message, [d.model_dump() for d in exc.details])


def _load(ref: str, field: str, endpoint: str | None) -> Any:
    from lendguard.policy.loader import load_policy_text

    if REF.match(ref) and not Path(ref).exists():
        policy_id, version = _ref(ref, field)
        text = _call(endpoint, "GET", f"/v1/policies/{policy_id}/versions/{version}")["body"]
    else:
        text = _read(Path(ref), field)
    try:
        return load_policy_text(text, ref)
    except PolicyError as exc:
        fail("invalid policy", [{"field": field, "message": str(exc)}])


def _describe(change: Any) -> str:
    def show(value: Any) -> str:
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 120 else text[:117] + "..."

    if change.kind == "changed":
        return f"  ~ {change.path}: {show(change.old)} → {show(change.new)}"
    if change.kind == "added":
        return f"  + {change.path}: {show(change.new)}"
    if change.kind == "removed":
        return f"  - {change.path}: {show(change.old)}"
    if change.kind == "reordered":
        return f"  ↕ {change.path}: {show(change.old)} → {show(change.new)}"
    return f"  {'●' if change.kind == 'switched_on' else '○'} {change.path}: {change.kind.replace('_', ' ')}"


@experiments_app.command("show")
def experiments_show(
    policy_id: Annotated[str, typer.Argument(help="Policy id")],
    date_from: Annotated[str | None, typer.Option("--from", help="Cases created from (ISO 8601)")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Cases created until (ISO 8601)")] = None,
    bad: Annotated[str | None, typer.Option("--bad", help="Bad definition (default 'ever_dpd>=30 within 6')")] = None,
    endpoint: EndpointOpt = None, as_json: JsonOpt = False,
) -> None:  # fmt: skip
    """Per arm: traffic, outcomes, approval rate, vendor cost; bad rates once outcomes exist."""
    query = urlencode({k: v for k, v in {"from": date_from, "to": date_to, "bad": bad}.items() if v})
    payload = _call(
        endpoint, "GET", f"/v1/policies/{quote(policy_id)}/experiments" + (f"?{query}" if query else "")
    )
    if as_json:
        out.print_json(json.dumps(payload))
        return
    table = Table(title=f"{policy_id}: {payload['cases']} cases")
    for col in ("version", "arm", "experiment", "cases", "share", "approve", "review", "reject", "failed",
                "approval rate", "vendor cost/case", "labelled", "bad rate (95% CI)"):  # fmt: skip
        table.add_column(col, justify="right")
    for a in payload["arms"]:
        o = a["outcomes"]
        ci = a.get("bad_rate_ci95")
        rate = (
            f"{a['bad_rate']:.1%} ({ci['low']:.1%}-{ci['high']:.1%})"
            if a.get("bad_rate") is not None and ci
            else "-"
        )
        table.add_row(f"v{a['version']}", a["arm"], a["experiment"] or "-", str(a["cases"]), f"{a['share']:.1%}",
                      str(o.get("APPROVE", 0)), str(o.get("REVIEW", 0)), str(o.get("REJECT", 0)), str(o.get("FAILED", 0)),
                      f"{a['approval_rate']:.1%}", f"{a['vendor_cost_per_case']:.2f}", str(a.get("labelled", 0)), rate)  # fmt: skip
    out.print(table)
    if payload.get("bad_definition"):
        out.print(f"bad: {payload['bad_definition']}, among approved cases drawn and matured or already bad")
    if payload.get("note"):
        err.print(payload["note"])

"""The ``lendguard`` command."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from lendguard.cases.response import DecisionResponse
from lendguard.core.errors import InvalidInput, PolicyError
from lendguard.offline import render
from lendguard.offline.cli.backtest import backtest
from lendguard.offline.cli.batch import batch_app
from lendguard.offline.cli.book import book_app
from lendguard.offline.cli.cases import cases_app
from lendguard.offline.cli.common import (
    DEFAULT_ENDPOINT,
    TOKEN_ENV,
    EndpointOpt,
    err,
    fail,
    out,
    request,
    use_token,
)
from lendguard.offline.cli.evaluate import evaluate_command
from lendguard.offline.cli.funnel import funnel_app
from lendguard.offline.cli.lists import lists_app
from lendguard.offline.cli.models import ModelKind, models_app
from lendguard.offline.cli.monitor import monitor_command
from lendguard.offline.cli.outcomes import outcomes_app
from lendguard.offline.cli.policies import experiments_app
from lendguard.offline.cli.policies import register as register_policy_commands
from lendguard.offline.cli.privacy import privacy_app
from lendguard.offline.cli.rules import rules_app
from lendguard.policy.schema import Policy

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="lendguard: risk decisions for online small loans."
)
executions_app = typer.Typer(
    no_args_is_help=True, help="Decision executions (the local Step Functions console)."
)
policy_app = typer.Typer(no_args_is_help=True, help="Policy documents.")
app.add_typer(executions_app, name="executions")
app.add_typer(policy_app, name="policy")
app.add_typer(lists_app, name="lists")
app.add_typer(funnel_app, name="funnel")
app.add_typer(cases_app, name="cases")
app.add_typer(models_app, name="models")
app.command("backtest")(backtest)
app.add_typer(outcomes_app, name="outcomes")
app.add_typer(book_app, name="book")
app.add_typer(rules_app, name="rules")
app.command("evaluate")(evaluate_command)
app.command("monitor")(monitor_command)


@app.callback()
def _main(
    token: Annotated[
        str | None,
        typer.Option(
            "--token", envvar=TOKEN_ENV, help="Bearer token sent to --endpoint (a user of the users file)"
        ),
    ] = None,
) -> None:
    """lendguard: risk decisions for online small loans."""
    use_token(token)


app.add_typer(experiments_app, name="experiments")
register_policy_commands(policy_app)
app.add_typer(privacy_app, name="privacy")
app.add_typer(batch_app, name="batch")


@app.command()
def decide(
    file: Annotated[
        Path | None, typer.Argument(help="Application JSON file ('-' for standard input)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the response as JSON")] = False,
    endpoint: EndpointOpt = None,
    batch: Annotated[
        Path | None, typer.Option("--batch", help="Decide every row of a .csv or .jsonl file (with --out)")
    ] = None,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="JSON Lines results of --batch; rows already there are skipped"),
    ] = None,
    workers: Annotated[
        int, typer.Option(help="Parallel requests of --batch against --endpoint", min=1, max=32)
    ] = 4,
) -> None:
    """Decide one application (or a --batch file): against --endpoint, or in a throw-away local stack."""
    if batch is not None or out_file is not None:
        if batch is None or out_file is None or file is not None:
            fail("invalid options", [{"field": "--batch", "message": "give --batch FILE and --out FILE, and no application file"}])  # fmt: skip
        from lendguard.offline.cli.batch_decide import run_batch

        run_batch(batch, out_file, endpoint, workers)
        return
    if file is None:
        fail("missing application", [{"field": "FILE", "message": "give an application JSON file, or --batch"}])  # fmt: skip
    try:
        body = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as exc:
        fail("cannot read the application", [{"field": str(file), "message": exc.strerror or str(exc)}])
    if endpoint:
        _, payload = request(endpoint, "POST", "/v1/decisions", body, allow=(502,), timeout=35.0)
        response = DecisionResponse.model_validate(payload)
    else:
        from lendguard.cases.service import decide as local_decide
        from lendguard.offline.local.runtime import LocalRuntime

        with LocalRuntime():
            try:
                _, response = local_decide(body)
            except InvalidInput as exc:
                fail(exc.message, [d.model_dump() for d in exc.details])
    if as_json:
        out.print_json(response.model_dump_json())
    else:
        render.decision(out, response)
    if response.status == "FAILED":
        raise typer.Exit(1)


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port of the HTTP API on 127.0.0.1", min=1, max=65535)] = 8000,
    moto_port: Annotated[
        int, typer.Option(help="Port of the moto AWS endpoint on 127.0.0.1", min=1, max=65535)
    ] = 5000,
    users: Annotated[
        Path | None,
        typer.Option("--users", help="Users file: bearer tokens and roles (default examples/users.json)"),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(help="Policy file to run (default policies/default.yaml)", exists=True, dir_okay=False),
    ] = None,
    console_signin: Annotated[
        Path | None,
        typer.Option(
            "--console-signin",
            help="The console's sign-in config.json (default: paste a token from the users file)",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Run the local stack in the foreground: moto on a loopback port, the HTTP API and the
    console at /console."""
    from lendguard.offline.console import signin

    try:
        sign_in = signin.load(console_signin) if console_signin is not None else None
    except signin.SignInConfigError as exc:
        err.print(f"[red]error:[/] --console-signin {exc}")
        raise typer.Exit(2) from None
    from moto.server import ThreadedMotoServer

    from lendguard.offline.local.runtime import LocalRuntime
    from lendguard.offline.local.server import make_server
    from lendguard.offline.local.users import UsersFileError

    os.environ["MOTO_PORT"] = str(moto_port)
    with LocalRuntime(policy_path=policy) as runtime:
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
        moto.start()
        try:
            server = make_server(port, users, sign_in)
        except UsersFileError as exc:
            moto.stop()
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from None
        out.print(f"lendguard API on [bold]http://127.0.0.1:{port}[/] (policy {runtime.policy.id} "
                  f"v{runtime.policy.version}); console on http://127.0.0.1:{port}/console/; "
                  f"AWS (moto) on http://127.0.0.1:{moto_port}. Ctrl-C stops.")  # fmt: skip
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            moto.stop()


@executions_app.command("list")
def executions_list(
    endpoint: EndpointOpt = None, limit: Annotated[int, typer.Option(min=1, max=1000)] = 50
) -> None:
    """Recent executions with status, start, case and decision."""
    url = endpoint or DEFAULT_ENDPOINT
    _, payload = request(url, "GET", f"/v1/executions?limit={limit}")
    table = Table(title=f"Executions at {url}")
    for col in ("started", "status", "case", "decision"):
        table.add_column(col)
    for e in payload["executions"]:
        decision = "-"
        if e["status"] in ("SUCCEEDED", "FAILED"):
            code, case = request(url, "GET", f"/v1/cases/{e['case_id']}", allow=(404,))
            decision = (case.get("decision") or case.get("status")) if code == 200 else "-"
        table.add_row(e["started_at"], e["status"], e["case_id"], decision or "-")
    out.print(table)


@executions_app.command("show")
def executions_show(case_id: str, endpoint: EndpointOpt = None) -> None:
    """The event history of a case's execution, as a timeline."""
    _, payload = request(endpoint, "GET", f"/v1/cases/{case_id}/history")
    events = payload["events"]
    table = Table(title=f"Case {case_id}: {payload['execution_arn']}")
    for col in ("#", "+ms", "event", "state / detail"):
        table.add_column(col, overflow="fold")
    from datetime import datetime

    start = datetime.fromisoformat(events[0]["timestamp"]) if events else None
    for e in events:
        detail_key = next((k for k in e if k.endswith("EventDetails")), None)
        detail = e.get(detail_key, {}) if detail_key else {}
        label = detail.get("name") or detail.get("resource") or detail.get("error") or ""
        offset = (datetime.fromisoformat(e["timestamp"]) - start).total_seconds() * 1000 if start else 0.0
        table.add_row(str(e["id"]), f"{offset:.0f}", e["type"], label)
    out.print(table)


@app.command()
def demo(
    n: Annotated[int, typer.Option("-n", help="Applications to run", min=1, max=100_000)] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic applications")] = 7,
) -> None:
    """Seed lists, load the model, run N synthetic applications through the state machine, report."""
    from lendguard.offline.local.demo import run_demo
    from lendguard.offline.local.runtime import LocalRuntime

    with LocalRuntime() as runtime:
        columns = (TextColumn("deciding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err) as progress:
            task = progress.add_task("decide", total=n)
            report = run_demo(n, seed, runtime.policy, lambda: progress.advance(task))
        monitor_lines = _demo_monitor(runtime.policy, n)
    outcomes = Table(title=f"Decisions ({report.n} applications)")
    outcomes.add_column("decision")
    outcomes.add_column("count", justify="right")
    outcomes.add_column("share", justify="right")
    for key, count in sorted(report.outcomes.items()):
        outcomes.add_row(key, str(count), f"{count / report.n:.1%}")
    out.print(outcomes)
    funnel = Table(title="Funnel: where each application stopped")
    funnel.add_column("stage")
    funnel.add_column("stopped here", justify="right")
    for stage, count in report.funnel.items():
        funnel.add_row(stage, str(count))
    out.print(funnel)
    checks = Table(title="Identity checks: cases each rejected or sent to review")
    checks.add_column("rule")
    checks.add_column("cases", justify="right")
    for rule, count in report.identity_checks.items():
        checks.add_row(rule, str(count))
    out.print(checks)
    saved = 1 - report.vendor_spend / report.all_vendor_spend if report.all_vendor_spend else 0.0
    out.print(f"vendor spend {report.vendor_spend:,.2f} vs {report.all_vendor_spend:,.2f} had every application "
              f"called every vendor ({saved:.1%} saved by the cost funnel)")  # fmt: skip
    out.print(f"latency through the state machine on moto: p50 {report.latency_p50_ms} ms, "
              f"p95 {report.latency_p95_ms} ms")  # fmt: skip
    if report.sample:
        out.rule("One full trace")
        render.trace(out, report.sample)
    out.rule("Monitoring (today so far; lendguard monitor writes the full report)")
    for line in monitor_lines:
        out.print(line, highlight=False)


def _demo_monitor(policy: Policy, n: int) -> list[str]:
    """The daily monitor's one-screen summary over the cases the demo just decided."""
    from datetime import UTC, datetime

    from lendguard.monitoring.days import day_of
    from lendguard.monitoring.job import run_monitor
    from lendguard.monitoring.sources import CaseTableSource
    from lendguard.offline.monitor_report import summary_lines
    from lendguard.store import artifacts

    ref = policy.scoring.model
    model = artifacts.get_model(ref.id, ref.version)
    today = day_of(datetime.now(UTC))
    source = CaseTableSource()
    report = run_monitor(
        source, today, today, policy.monitoring, training=model.metadata.baseline,
        model_inputs=model.metadata.feature_names, model=f"{ref.id}:{ref.version}",
        outcomes=source, score_bands=policy.limits.score_bands,
    )  # fmt: skip
    return summary_lines(report)


@app.command()
def train(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Labelled CSV file with a header row; without it, the synthetic set"),
    ] = None,
    label: Annotated[str | None, typer.Option("--label", help="Label column (with --data)")] = None,
    bad: Annotated[
        str | None,
        typer.Option(
            "--bad", help="Label value meaning bad; needed unless the label is 0/1, good/bad or false/true"
        ),
    ] = None,
    kind: Annotated[ModelKind, typer.Option("--kind", help="Model to build")] = ModelKind.xgboost,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Directory for model.json, metadata.json, report.txt (required with --data)"
        ),
    ] = None,
    model_id: Annotated[
        str | None,
        typer.Option(
            "--model-id", "--id", help="Model id (default: <file>-xgb / <file>-scorecard, or default-xgb)"
        ),
    ] = None,
    version: Annotated[int, typer.Option(help="Model version", min=1)] = 1,
    seed: Annotated[
        int, typer.Option(help="Seed of the split and training (and of the synthetic data)")
    ] = 42,
    holdout: Annotated[float, typer.Option(help="Holdout share of the stratified split")] = 0.3,
    features: Annotated[
        str | None, typer.Option(help="Comma-separated feature columns (default: all but the label)")
    ] = None,
    categorical: Annotated[
        str | None, typer.Option(help="Comma-separated numeric columns to treat as categories")
    ] = None,
    rows: Annotated[
        int, typer.Option(help="Synthetic applications to train on (without --data)", min=1000, max=1_000_000)
    ] = 12_000,
    base_points: Annotated[float, typer.Option(help="Points at the base odds")] = 600.0,
    base_odds: Annotated[float, typer.Option(help="Base good:bad odds")] = 50.0,
    pdo: Annotated[float, typer.Option(help="Points to double the odds")] = 20.0,
    keep: Annotated[
        str | None,
        typer.Option(help="Comma-separated columns to train on although they look like identifiers"),
    ] = None,
    cv_folds: Annotated[
        int, typer.Option(help="XGBoost: folds of the cross-validation on the training part (0: none)")
    ] = 5,
) -> None:
    """Train an XGBoost model or a points scorecard on a labelled CSV (or the synthetic set).

    The split is stratified on the label and seeded; the output holds the model, its metadata
    (features, data hash, holdout AUC / KS / Gini, PSI baselines) and a report. Bad input exits 2.
    """
    from lendguard.offline.cli.models import run_train

    run_train(
        data=data, label=label, bad=bad, kind=kind, out_dir=out_dir, model_id=model_id, version=version,
        seed=seed, holdout=holdout, rows=rows, features=features, categorical=categorical,
        base_points=base_points, base_odds=base_odds, pdo=pdo, keep=keep, cv_folds=cv_folds,
    )  # fmt: skip


@policy_app.command("validate")
def policy_validate(file: Annotated[Path, typer.Argument(help="Policy YAML")]) -> None:
    """Load and check a policy; print a summary or every problem."""
    from lendguard.policy.loader import load_policy

    try:
        policy = load_policy(file)
    except (PolicyError, OSError) as exc:
        err.print(f"[red]invalid policy:[/] {exc}")
        raise typer.Exit(2) from None
    rules = policy.all_rules()
    out.print(f"policy {policy.id} v{policy.version}: {len(rules)} rules "
              f"({sum(r.enabled for r in rules)} enabled), {len(policy.vendors)} vendors in "
              f"{len(policy.vendor_groups)} groups, {len(policy.features)} features, model "
              f"{policy.scoring.model.id} v{policy.scoring.model.version}")  # fmt: skip


if __name__ == "__main__":
    app()

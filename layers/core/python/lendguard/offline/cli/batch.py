"""``lendguard batch run|show``: the in-loan / post-loan machines on the local moto stack.

``run`` starts the same state machine the scheduler starts on AWS and shows its shards as they
finish, either on a running ``lendguard serve`` (``--moto-port``: the book ``lendguard book seed``
wrote there, kept between runs, so a second run of a day finds the first) or in an in-process
stack that ends with the command (its book is empty: give it ``--snapshot``). It keeps the run's
summary and actions under ``$LENDGUARD_HOME/batch/<run id>/`` for ``show``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lendguard.offline.cli.common import day_option, fail, out
from lendguard.offline.cli.run_progress import wait_showing_shards

batch_app = typer.Typer(no_args_is_help=True, help="In-loan and post-loan batch runs over the loan book.")
TOP_DEFAULT = 20
EXPORT_KEY = "exports/cli/{run_id}.parquet"


def runs_dir() -> Path:
    from lendguard.offline.local.runtime import default_home

    return default_home() / "batch"


def _job(value: str) -> str:
    from lendguard.batch.model import JOBS

    if value not in JOBS:
        fail("unknown batch job", [{"field": "JOB", "message": f"{value!r} is not one of {', '.join(JOBS)}"}])
    return value


@batch_app.command("run")
def run(
    job: Annotated[str, typer.Argument(help="inloan or postloan")],
    date_: Annotated[
        str | None, typer.Option("--date", help="Run date YYYY-MM-DD (default today, Asia/Shanghai)")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Write the actions without applying them")
    ] = False,
    snapshot: Annotated[
        Path | None,
        typer.Option(
            "--snapshot",
            help="A Parquet snapshot of the book (the documented export) instead of the local accounts table",
        ),
    ] = None,
    shard_rows: Annotated[
        int | None, typer.Option("--shard-rows", min=1, max=1_000_000, help="Accounts per shard")
    ] = None,
    moto_port: Annotated[
        int | None,
        typer.Option(
            "--moto-port",
            min=1,
            max=65535,
            help="Run on a running `lendguard serve` (its moto port), over the book `lendguard book seed` wrote",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary JSON")] = False,
) -> None:
    """Run JOB for one day through its state machine on the local stack."""
    from lendguard.batch.dates import run_id, today

    name = _job(job)
    day = day_option(date_, "--date", today())
    if snapshot is not None and not snapshot.is_file():
        fail("snapshot not found", [{"field": "--snapshot", "message": f"no file {snapshot}"}])
    from lendguard.offline import batch_runs
    from lendguard.store import batch_objects

    rid = run_id(name, day, dry_run)
    with _stack(moto_port):
        key = None
        if snapshot is not None:
            key = EXPORT_KEY.format(run_id=rid)
            batch_objects.put(key, snapshot.read_bytes(), "application/vnd.apache.parquet")
        started = batch_runs.start_run(name, day, dry_run, snapshot_key=key, shard_rows=shard_rows)
        execution = wait_showing_shards(started, rid)
        summary = batch_runs.read_summary(rid)
        if summary is not None:
            _keep(rid, summary)
        if execution["status"] != "SUCCEEDED":
            fail(f"batch run {rid} {execution['status'].lower()}: {batch_runs.failure(execution)}", code=1)
    if summary is None or summary.get("execution") != started.execution_name:
        # The planner found the day done (by an earlier execution of this stack): nothing re-applied.
        earlier = f" by {summary['execution']}" if summary else ""
        out.print(
            f"{rid}: already done{earlier}; nothing scored or applied again (lendguard batch show {rid})"
        )
        return
    if as_json:
        out.print_json(json.dumps(summary))
    else:
        _print_summary(summary)
        out.print(f"see it again: lendguard batch show {rid}")


@contextmanager
def _stack(moto_port: int | None) -> Iterator[None]:
    """The served stack on ``moto_port``, else an in-process one for this command."""
    if moto_port is None:
        from lendguard.offline.local.runtime import LocalRuntime

        with LocalRuntime():
            yield
        return
    from lendguard.offline.local.attach import NotServed, attached
    from lendguard.offline.project import default_policy_path
    from lendguard.policy.loader import load_policy

    try:
        with attached(moto_port, load_policy(default_policy_path())):
            yield
    except NotServed as exc:  # raised on entering, before the run starts
        fail("no local stack", [{"field": "--moto-port", "message": f"{exc}; start `lendguard serve` first"}])


def _keep(rid: str, summary: dict[str, Any]) -> None:
    """Copy the run's summary and actions out of the in-process stack."""
    from lendguard.batch import layout
    from lendguard.store import batch_objects

    folder = runs_dir() / rid
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "results").mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(summary, indent=1))
    for key in batch_objects.keys(layout.run_prefix(rid) + "results/"):
        body = batch_objects.get(key)
        if body is not None:
            (folder / "results" / key.rsplit("/", 1)[1]).write_bytes(body)


@batch_app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="The run id, e.g. inloan-2026-11-28")],
    top: Annotated[
        int, typer.Option("--top", min=1, max=10_000, help="How many actions to list")
    ] = TOP_DEFAULT,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary JSON")] = False,
) -> None:
    """Print a run's summary and its top actions (those other than NONE, by priority when scored)."""
    folder = runs_dir() / run_id
    if "/" in run_id or not (folder / "summary.json").is_file():
        known = sorted(p.name for p in runs_dir().glob("*")) if runs_dir().is_dir() else []
        fail("unknown batch run", [{"field": "RUN", "message": f"no run {run_id!r}; known: {', '.join(known) or 'none'}"}])  # fmt: skip
    summary = json.loads((folder / "summary.json").read_text())
    if as_json:
        out.print_json(json.dumps(summary))
        return
    _print_summary(summary)
    _print_top(folder / "results", top)


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(title=f"{summary['run_id']} ({summary['status']})", show_header=False)
    for label, key in [("job", "job"), ("run date", "run_date"), ("dry run", "dry_run"),
                       ("execution", "execution"), ("attempt", "attempt"), ("accounts", "accounts"),
                       ("shards", "shards_written")]:  # fmt: skip
        value = summary[key]
        if key == "shards_written":
            value = f"{value} of {summary['shards_expected']} written"
        table.add_row(label, str(value))
    for group, counts in summary.get("counts", {}).items():
        if isinstance(counts, dict):
            table.add_row(group, ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if summary.get("applied"):
        table.add_row("applied", ", ".join(f"{k} {v}" for k, v in sorted(summary["applied"].items())))
    out.print(table)


def _print_top(results: Path, top: int) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    files = sorted(results.glob("*.parquet"))
    if not files:
        return
    actions = pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")
    actions = actions.filter(pc.not_equal(actions.column("action"), "NONE"))
    if "priority" in actions.column_names:  # post-loan: 1 is worked first in its segment
        actions = actions.sort_by([("priority", "ascending")])
    shown = [
        c for c in ("account_id", "action", "segment", "priority", "reasons") if c in actions.column_names
    ]
    table = Table(title=f"top actions ({min(top, actions.num_rows)} of {actions.num_rows})")
    for column in shown:
        table.add_column(column)
    for row in actions.slice(0, top).select(shown).to_pylist():
        table.add_row(*(", ".join(map(str, v)) if isinstance(v, list) else str(v) for v in row.values()))
    out.print(table)

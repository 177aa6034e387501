"""``lendguard backtest``: a policy (and optionally a second one) over a table of applications."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lendguard.core.errors import FieldError, InvalidInput, NotFound, PolicyError
from lendguard.models.artifact import ModelArtifact
from lendguard.offline.backtest.shard_size import MAX_SHARD_CASES
from lendguard.offline.cli.common import fail, fail_with, out
from lendguard.offline.cli.models import RegistryOpt, open_registry
from lendguard.policy.schema import Policy

if TYPE_CHECKING:
    from lendguard.offline.backtest.report import BacktestReport
    from lendguard.offline.backtest.run import Candidate

MESSAGE = "the backtest cannot run"


def _policy(path: Path, option: str) -> Policy:
    from lendguard.policy.loader import load_policy

    try:
        return load_policy(path)
    except OSError as exc:
        raise InvalidInput(
            MESSAGE, [FieldError(field=option, message=f"{path}: {exc.strerror or exc}")]
        ) from None
    except PolicyError as exc:
        raise InvalidInput(MESSAGE, [FieldError(field=option, message=str(exc))]) from None


def _model(policy: Policy, registry: str | None, option: str) -> ModelArtifact:
    """The policy's decision model from the registry (the default model is trained on first use)."""
    ref = policy.scoring.model
    reg = open_registry(registry)
    try:
        return reg.load(ref.id, ref.version)
    except NotFound as exc:
        if (ref.id, ref.version) == ("default-xgb", 1) and registry is None:
            from lendguard.offline.local.runtime import default_home, ensure_default_model

            return ModelArtifact.load(ensure_default_model(default_home()))
        raise InvalidInput(MESSAGE, [FieldError(field=option, message=str(exc))]) from None


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    Path(tmp).chmod(0o644)  # mkstemp makes it private; a report is meant to be shared
    Path(tmp).replace(path)


def backtest(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for report.json and report.html")],
    policy_file: Annotated[
        Path | None, typer.Option("--policy", help="Policy YAML (default: policies/default.yaml)")
    ] = None,
    compare_file: Annotated[
        Path | None, typer.Option("--compare", help="A second policy YAML, compared on the same rows")
    ] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Applications with their facts: .csv or .parquet")
    ] = None,
    label: Annotated[str | None, typer.Option("--label", help="Label column (with --bad)")] = None,
    bad: Annotated[str | None, typer.Option("--bad", help="The label value of a bad loan")] = None,
    synthetic: Annotated[
        int | None,
        typer.Option(
            "--synthetic",
            min=1,
            max=5_000_000,
            help="Instead of --data: generate this many labelled applications (saved as "
            "synthetic.parquet in --out; label 'default', bad 1)",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of --synthetic")] = 7,
    cases: Annotated[
        str | None,
        typer.Option(
            "--cases",
            help="Instead of --data: the archived cases received FROM..TO (dates or ISO times); "
            "reads the case archive (needs kms:Decrypt), cases lacking a fact the policy needs "
            "are counted not evaluable",
        ),
    ] = None,
    registry: RegistryOpt = None,
    sharded: Annotated[
        bool,
        typer.Option(
            "--sharded",
            help="With --cases: run through the backtest state machine (a Distributed Map of shards of "
            "cases, each evaluated by its own function) instead of in this process",
        ),
    ] = False,
    shard_cases: Annotated[
        int | None,
        typer.Option("--shard-cases", min=1, max=MAX_SHARD_CASES, help="Cases per shard of --sharded"),
    ] = None,
    moto_port: Annotated[
        int | None,
        typer.Option(
            "--moto-port",
            min=1,
            max=65535,
            help="With --cases: the case archive (and, with --sharded, the state machine) of a running "
            "`lendguard serve` (its moto port)",
        ),
    ] = None,
) -> None:
    """Backtest a policy over historical applications: outcomes, funnel, spend, rule and score statistics.

    Exit 2, naming the columns and rows, when the data lacks a column the policy needs, holds a
    value of the wrong type, an unknown label value, or no rows; nothing is written then.
    """
    from lendguard.offline.backtest.evaluator import BacktestError
    from lendguard.offline.backtest.report import print_summary, render_html
    from lendguard.offline.backtest.run import Candidate, DataFile, RowSource, run_backtest

    try:
        if sum(x is not None for x in (data, synthetic, cases)) != 1:
            raise InvalidInput(
                MESSAGE, [FieldError(field="--data", message="give one of --data, --synthetic or --cases")]
            )
        for given, option in ((sharded, "--sharded"), (moto_port is not None, "--moto-port")):
            if given and cases is None:
                raise InvalidInput(MESSAGE, [FieldError(field=option, message="only with --cases")])
        if shard_cases is not None and not sharded:
            raise InvalidInput(MESSAGE, [FieldError(field="--shard-cases", message="only with --sharded")])
        if cases is not None and label is not None:
            raise InvalidInput(
                MESSAGE, [FieldError(field="--label", message="not available with --cases (no label column)")]
            )
        if out_dir.exists() and not out_dir.is_dir():
            raise InvalidInput(MESSAGE, [FieldError(field="--out", message=f"{out_dir} is not a directory")])
        if policy_file is None:
            from lendguard.offline.project import default_policy_path

            policy_file = default_policy_path()
        policy = _policy(policy_file, "--policy")
        base = Candidate(policy, _model(policy, registry, "--policy"))
        other = None
        if compare_file is not None:
            other_policy = _policy(compare_file, "--compare")
            other = Candidate(other_policy, _model(other_policy, registry, "--compare"))
        source: RowSource
        if cases is not None:
            from lendguard.offline.backtest.cases_source import ArchivedCases, parse_window

            start, stop = parse_window(cases)
            source = ArchivedCases(start, stop, [c for c in (base, other) if c is not None])
        else:
            source_path = data
            if synthetic is not None:
                source_path = _generate(synthetic, seed, policy, out_dir)
                label, bad = label or "default", bad or "1"
            assert source_path is not None
            source = DataFile(source_path)
        started = time.perf_counter()
        with _stack(moto_port, policy):
            if sharded:
                assert cases is not None
                given = [(base, policy_file, "--policy")]
                if other is not None and compare_file is not None:
                    given.append((other, compare_file, "--compare"))
                report = _run_sharded(cases, given, shard_cases, attached=moto_port is not None)
            else:
                report = run_backtest(source, base, other, label, bad)
        elapsed = time.perf_counter() - started
    except (InvalidInput, BacktestError) as exc:
        fail_with(exc)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_atomically(out_dir / "report.json", report.model_dump_json(indent=1))
    _write_atomically(out_dir / "report.html", render_html(report))
    print_summary(out, report)
    if cases is not None:
        d = report.data
        out.print(f"{d['cases_in_window']:,} cases in the window: {report.rows:,} evaluated, "
                  f"{d['not_evaluable']:,} not evaluable, {d['failed_cases']:,} failed, {d['erased_cases']:,} erased")  # fmt: skip
        for fact, n in d["not_evaluable_facts"].items():
            out.print(f"  not evaluable: {n:,} cases never acquired {fact}")
    out.print(f"{report.rows:,} rows in {elapsed:.1f} s; report: {out_dir / 'report.html'} and report.json")


@contextmanager
def _stack(moto_port: int | None, policy: Policy) -> Iterator[None]:
    """The served stack on ``moto_port`` for the block, else the environment's own AWS."""
    if moto_port is None:
        yield
        return
    from lendguard.offline.local.attach import NotServed, attached

    try:
        with attached(moto_port, policy):
            yield
    except NotServed as exc:  # raised on entering, before anything runs
        raise InvalidInput(
            MESSAGE, [FieldError(field="--moto-port", message=f"{exc}; start `lendguard serve` first")]
        ) from None


def _publish(candidate: Candidate, path: Path, option: str) -> str:
    """``id@version`` of the candidate, stored in the served stack's artifacts bucket if it is not yet.

    A stored version with another document is refused: functions cache a version once read, so
    an edited policy needs a new version number.
    """
    from lendguard.store import artifacts

    policy = candidate.policy
    ref = f"{policy.id}@{policy.version}"
    text = path.read_text()
    stored = artifacts.get_policy_text(policy.id, policy.version)
    if stored is None:
        artifacts.put_policy(policy, text)
    elif stored != text:
        raise InvalidInput(MESSAGE, [FieldError(field=option, message=(
            f"{ref} is stored with another document: give the edited policy a new version"))])  # fmt: skip
    model = policy.scoring.model
    try:
        artifacts.get_model(model.id, model.version)
    except NotFound:
        artifacts.put_model(candidate.model)
    return ref


def _run_sharded(
    cases: str,
    candidates: list[tuple[Candidate, Path, str]],
    shard_cases: int | None,
    attached: bool,
) -> BacktestReport:
    """Start the backtest machine, show its shards as they finish, and read its report.json."""
    from lendguard import deployment
    from lendguard.offline import batch_runs
    from lendguard.offline.backtest.report import BacktestReport
    from lendguard.offline.backtest.shard_size import DEFAULT_SHARD_CASES
    from lendguard.offline.backtest.sharded import BacktestStart
    from lendguard.offline.backtest.sharded_run import read_report, start_backtest
    from lendguard.offline.cli.run_progress import wait_showing_shards

    if not os.environ.get(deployment.BACKTEST_STATE_MACHINE.env_var):
        raise InvalidInput(MESSAGE, [FieldError(field="--sharded", message=(
            f"no backtest state machine here: give --moto-port (a running `lendguard serve`) or set "
            f"{deployment.BACKTEST_STATE_MACHINE.env_var}"))])  # fmt: skip
    if attached:
        refs = [_publish(candidate, path, option) for candidate, path, option in candidates]
    else:  # a deployment: the versions are the ones pushed there (`lendguard policy push`)
        refs = [f"{c.policy.id}@{c.policy.version}" for c, _, _ in candidates]
    start = BacktestStart(
        cases=cases, policy=refs[0], compare=refs[1] if len(refs) > 1 else None,
        shard_cases=shard_cases or DEFAULT_SHARD_CASES,
    )  # fmt: skip
    started = start_backtest(start)
    execution = wait_showing_shards(started, started.run_id)
    if execution["status"] != "SUCCEEDED":
        cause = batch_runs.failure(execution)
        error, _, text = cause.partition(": ")
        if error == "InvalidInput":  # the planner or summary refused the start: nothing was reported
            fail(text, code=2)
        fail(f"backtest {started.run_id} {execution['status'].lower()}: {cause}", code=1)
    body = read_report(started.run_id)
    assert body is not None, f"{started.run_id} succeeded without report.json"
    return BacktestReport.model_validate(body)


def _generate(n: int, seed: int, policy: Policy, out_dir: Path) -> Path:
    """Labelled synthetic applications (facts and planted default) as a Parquet file in ``out_dir``."""
    import pandas as pd

    from lendguard.core.hashing import LOCAL_SECRET
    from lendguard.offline.synthetic import backtest_rows

    _, rows, _ = backtest_rows(n, seed, LOCAL_SECRET, policy)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "synthetic.parquet"
    pd.DataFrame(rows).to_parquet(path, index=False)
    return path

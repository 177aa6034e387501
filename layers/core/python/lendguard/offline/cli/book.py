"""``lendguard book``: the synthetic loan book and its models.

- ``book generate -n 100000 [--seed S] [--as-of D] [--out FILE.parquet]``: snapshot rows of a
  seeded synthetic book (:mod:`lendguard.offline.book_synthetic`) with the training labels;
- ``book train [--rows N] [--seed S] [--out DIR]``: the behaviour and roll-rate models
  (:mod:`lendguard.offline.training.book_models`) into a registry directory;
- ``book seed -n 1000 [--moto-port P]``: accounts and their loan events into a running
  ``lendguard serve`` (its moto endpoint), with the book models published, so the batch has a
  book to run over.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from lendguard.offline.cli.common import err, fail, fail_with, out

book_app = typer.Typer(
    no_args_is_help=True, help="The loan book: synthetic book, behaviour models, local seed."
)

MAX_ROWS = 20_000_000


def _as_of(value: str | None) -> date:
    if value is None:
        from lendguard.offline.book_synthetic import default_as_of

        return default_as_of(datetime.now(UTC).date())
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail("invalid --as-of", [{"field": "as_of", "message": "must be a date in the form YYYY-MM-DD"}])


@book_app.command("generate")
def generate(
    n: Annotated[
        int, typer.Option("-n", "--rows", help="Accounts to generate", min=1, max=MAX_ROWS)
    ] = 100_000,
    seed: Annotated[int, typer.Option(help="Generator seed (same seed, same book)")] = 7,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Observation date (default yesterday)")] = None,
    out_file: Annotated[Path, typer.Option("--out", help="Parquet file to write", dir_okay=False)] = Path(
        "book.parquet"
    ),
    labels: Annotated[bool, typer.Option(help="Include the training labels bad_6m and roll_30")] = True,
) -> None:
    """Write a synthetic book as Parquet (snapshot columns, plus labels)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from lendguard.offline.book_synthetic import book_table

    day = _as_of(as_of)
    started = time.perf_counter()
    table = book_table(n, seed, day, labels=labels)
    built = time.perf_counter() - started
    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, out_file)
    except OSError as exc:
        fail("cannot write the book", [{"field": "out", "message": str(exc)}])
    bad = f", bad_6m {pc.mean(table['bad_6m']).as_py():.1%}" if labels else ""
    out.print(f"{n:,} accounts as of {day} (seed {seed}) in {built:.2f} s{bad} -> {out_file}")


@book_app.command("train")
def train(
    rows: Annotated[
        int, typer.Option(help="Synthetic accounts to train on", min=1000, max=MAX_ROWS)
    ] = 60_000,
    seed: Annotated[int, typer.Option(help="Generator and training seed")] = 11,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Registry directory (default $LENDGUARD_HOME/models)")
    ] = None,
) -> None:
    """Train the behaviour (in-loan) and roll-rate (post-loan) models on the synthetic book."""
    from lendguard.offline.local.runtime import default_home
    from lendguard.offline.training.book_models import train_book_models

    root = out_dir or default_home() / "models"
    for model_id, (artifact, report) in train_book_models(root, rows, seed).items():
        out.print(f"[bold]{model_id}[/] v{artifact.metadata.version} -> {root / model_id}")
        out.print(report)


@book_app.command("seed")
def seed_command(
    n: Annotated[int, typer.Option("-n", "--rows", help="Accounts to write", min=1, max=200_000)] = 1000,
    seed: Annotated[int, typer.Option(help="Generator seed")] = 7,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Observation date (default yesterday)")] = None,
    moto_port: Annotated[
        int, typer.Option(help="moto port of the running `lendguard serve`", min=1, max=65535)
    ] = 5000,
    policy: Annotated[
        Path | None, typer.Option(help="Policy file (default policies/default.yaml)", exists=True)
    ] = None,
) -> None:
    """Write a synthetic book into a running local stack (``lendguard serve``), and publish the
    book models to its artifacts bucket."""
    from lendguard.models.artifact import ModelArtifact
    from lendguard.offline.local.attach import NotServed, attached
    from lendguard.offline.local.book_seed import seed_book
    from lendguard.offline.local.runtime import default_home
    from lendguard.offline.project import default_policy_path
    from lendguard.offline.training.book_models import ensure_book_models
    from lendguard.policy.loader import load_policy
    from lendguard.store import artifacts

    loaded = load_policy(policy or default_policy_path())
    day = _as_of(as_of)
    root = ensure_book_models(default_home())
    try:
        with attached(moto_port, loaded):
            for ref in (loaded.in_loan.model, loaded.post_loan.model):
                if ref is not None:
                    artifacts.put_model(ModelArtifact.load(root / ref.id / f"v{ref.version}"))
            counts = seed_book(loaded, n, seed, day)
    except NotServed as exc:
        fail("no local stack", [{"field": "--moto-port", "message": f"{exc}; start `lendguard serve` first"}])
    except Exception as exc:
        err.print(f"is `lendguard serve --moto-port {moto_port}` running?")
        fail_with(exc)
    out.print(f"seeded {counts['accounts']:,} accounts and {counts['events']:,} loan events as of {day}")

"""Waiting on a sharded run's state machine (batch or backtest) with its shards shown as they finish."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lendguard.offline.batch_runs import Started


def wait_showing_shards(started: Started, label: str) -> dict[str, Any]:
    """Poll ``started`` until it ends, with a progress bar of its shards on stderr; its execution.

    ``label`` names the run on the bar; the answer is ``batch_runs.wait``'s ``describe_execution``.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from lendguard.offline import batch_runs
    from lendguard.offline.cli.common import err

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"), console=err, transient=False,
    ) as bar:  # fmt: skip
        task = bar.add_task(f"{label} shards", total=None, status="planning")

        def show(p: batch_runs.Progress) -> None:
            bar.update(task, total=p.shards, completed=p.done, status=p.status.lower())

        return batch_runs.wait(started, on_progress=show)

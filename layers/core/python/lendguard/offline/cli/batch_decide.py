"""``lendguard decide --batch FILE.{csv,jsonl} --out FILE``: many applications through the real flow.

Each row is decided like ``lendguard decide``: against ``--endpoint`` (a running local stack or a
deployed API, ``POST /v1/decisions``), or in one throw-away local stack. Results are appended to
``--out`` (JSON Lines, one line per row, written as soon as the row is decided), so an
interrupted run resumes where it stopped: rows already in the output are skipped, and against an
API the idempotency on ``application_id`` means a row sent twice is never decided twice.

Input: JSON Lines (one application object a line), or CSV with a header whose columns are the
application's fields in dotted form (``applicant.id_number``, ``device.ip``, ``consents.bureau``);
empty cells are left out. Rows are numbered from 1 (the first application; a CSV header is not
a row). A bad row is reported with its number and each bad field; the others go on.
"""

from __future__ import annotations

import csv
import json
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from lendguard.core.application import Application
from lendguard.core.base_model import Model
from lendguard.core.errors import Conflict, InvalidInput
from lendguard.offline.cli.common import ApiError, call, err, fail, out

MAX_ROWS = 1_000_000


class Row(Model):
    """One input row: its number, its application id (if it has one) and the body to send."""

    row: int
    application_id: str | None
    body: dict[str, Any] | None = None
    problem: str | None = None  # the row could not be read as an application object


@dataclass
class Outcome:
    """What happened to one row: ``result`` is written to the output unless the error may pass."""

    row: Row
    result: dict[str, Any] | None
    retry: str | None = None  # a transient error: not written, decided on the next run


@dataclass
class Summary:
    rows: int = 0
    skipped: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)
    retry: int = 0


def required_columns(model: type[BaseModel] = Application, prefix: str = "") -> list[str]:
    """The dotted names of every required field of the application (derived from the model)."""
    names: list[str] = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if info.is_required():
                names.extend(required_columns(annotation, f"{prefix}{name}."))
        elif info.is_required():
            names.append(prefix + name)
    return names


def _scalar(annotation: Any) -> type | None:
    """int, float or bool when a field's annotation is that (optionally, or constrained)."""
    import types
    import typing

    if annotation in (int, float, bool):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _scalar(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        kinds = {_scalar(a) for a in typing.get_args(annotation) if a is not type(None)}
        return kinds.pop() if len(kinds) == 1 else None
    return None


@cache
def column_types(model: type[BaseModel] = Application, prefix: str = "") -> dict[str, type]:
    """Numeric and yes/no columns by dotted name (derived from the model): a CSV cell is text, and
    the API takes a number only as a JSON number."""
    import typing

    out: dict[str, type] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        nested = [
            a
            for a in (annotation, *typing.get_args(annotation))
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if nested:
            out |= column_types(nested[0], f"{prefix}{name}.")
        elif (kind := _scalar(annotation)) is not None:
            out[prefix + name] = kind
    return out


def _typed(column: str, value: str) -> Any:
    """The cell as the JSON value its column takes; left as text when it is not one (the API then
    names the field)."""
    kind = column_types().get(column)
    try:
        if kind is bool and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if kind is int:
            return int(value)
        if kind is float:
            number = float(value)
            return int(number) if number.is_integer() and "." not in value else number
    except ValueError:
        pass
    return value


def _nest(record: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for column, value in record.items():
        if value is None or not value.strip():
            continue
        target = body
        *parents, leaf = column.strip().split(".")
        for part in parents:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                break
        else:
            target[leaf] = _typed(column.strip(), value.strip())
    return body


def read_rows(path: Path) -> list[Row]:
    """The rows of a CSV or JSON Lines file; exit 2 (nothing decided) for a file that cannot be one."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl"):
        fail(f"{path}: the batch file must be .csv or .jsonl")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot read it ({exc})")
    rows = list(_csv_rows(path, text) if suffix == ".csv" else _jsonl_rows(text))
    if not rows:
        fail(f"{path}: no applications in the file")
    if len(rows) > MAX_ROWS:
        fail(f"{path}: {len(rows)} rows; at most {MAX_ROWS} per batch")
    return rows


def _csv_rows(path: Path, text: str) -> Iterator[Row]:
    reader = csv.DictReader(text.splitlines())
    columns = [c.strip() for c in reader.fieldnames or []]
    if not columns:
        fail(f"{path}: no header row")
    missing = [c for c in required_columns() if c not in columns]
    if missing:
        fail(f"{path}: missing columns {', '.join(missing)}")
    for number, record in enumerate(reader, start=1):
        if None in record:
            yield Row(row=number, application_id=None, problem=f"has {len(record[None]) + len(columns)} cells; the header has {len(columns)}")  # type: ignore[index]  # fmt: skip
            continue
        body = _nest({k.strip(): v for k, v in record.items()})
        yield Row(row=number, application_id=_app_id(body), body=body)


def _jsonl_rows(text: str) -> Iterator[Row]:
    number = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        number += 1
        try:
            body = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Row(row=number, application_id=None, problem=f"not JSON: {exc.msg}")
            continue
        if not isinstance(body, dict):
            yield Row(row=number, application_id=None, problem="must be a JSON object")
            continue
        yield Row(row=number, application_id=_app_id(body), body=body)


def _app_id(body: dict[str, Any]) -> str | None:
    value = body.get("application_id")
    return value if isinstance(value, str) else None


def done_rows(path: Path) -> dict[int, str | None]:
    """Rows already in an earlier run's output (row -> application id).

    A last line cut short by an interruption is dropped from the file; any other line that is
    not a result means the file is not this command's output (exit 2, nothing touched).
    """
    if not path.exists():
        return {}
    lines = path.read_text(encoding="utf-8").splitlines()
    done: dict[int, str | None] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            done[int(item["row"])] = item.get("application_id")
        except (ValueError, KeyError, TypeError):
            if number == len(lines):
                path.write_text("".join(f"{kept}\n" for kept in lines[:-1]), encoding="utf-8")
                continue
            fail(f"{path}: line {number} is not a result of lendguard decide --batch")
    return done


def _result(row: Row, status: str, **values: Any) -> dict[str, Any]:
    return {"row": row.row, "application_id": row.application_id, "status": status, **values}


def _decided(row: Row, http_status: int, payload: dict[str, Any]) -> dict[str, Any]:
    return _result(
        row, payload.get("status") or "DECIDED", http_status=http_status, case_id=payload.get("case_id"),
        decision=payload.get("decision"), credit_limit=payload.get("credit_limit"), apr=payload.get("apr"),
        reasons=[r.get("code") for r in payload.get("reasons") or []],
    )  # fmt: skip


def _invalid(
    row: Row, status: str, http_status: int, message: str, details: list[dict[str, Any]]
) -> dict[str, Any]:
    return _result(row, status, http_status=http_status, error=message, details=details)


def decide_remote(endpoint: str, row: Row) -> Outcome:
    assert row.body is not None
    try:
        status, payload = call(endpoint, "POST", "/v1/decisions", json.dumps(row.body).encode())
    except (ApiError, OSError) as exc:
        return Outcome(row, None, retry=str(exc)[:300])
    if status in (200, 502):
        return Outcome(row, _decided(row, status, payload))
    details = payload.get("details") or [] if isinstance(payload, dict) else []
    message = payload.get("error", f"HTTP {status}") if isinstance(payload, dict) else f"HTTP {status}"
    if status == 400:
        return Outcome(row, _invalid(row, "INVALID", status, message, details))
    if status == 409 and details:  # the application id was used with another body: final
        return Outcome(row, _invalid(row, "CONFLICT", status, message, details))
    return Outcome(row, None, retry=f"HTTP {status}: {message}")


def decide_local(row: Row) -> Outcome:
    from lendguard.cases.service import decide

    try:
        status, response = decide(json.dumps(row.body))
    except InvalidInput as exc:
        return Outcome(row, _invalid(row, "INVALID", 400, exc.message, [d.model_dump() for d in exc.details]))
    except Conflict as exc:
        details = [d.model_dump() for d in getattr(exc, "details", None) or []]
        if details:
            return Outcome(row, _invalid(row, "CONFLICT", 409, str(exc), details))
        return Outcome(row, None, retry=str(exc))
    return Outcome(row, _decided(row, status, response.model_dump(mode="json")))


def run_batch(file: Path, out_path: Path, endpoint: str | None, workers: int) -> None:
    """Decide every row not yet in ``out_path``; print per-row errors and a summary."""
    rows = read_rows(file)
    done = done_rows(out_path)
    by_row = {r.row: r for r in rows}
    for number, app_id in done.items():
        if number not in by_row or by_row[number].application_id != app_id:
            fail(f"{out_path} holds results of another input (row {number} there is {app_id!r}); "
                  "use a new --out file")  # fmt: skip
    todo = [r for r in rows if r.row not in done]
    summary = Summary(rows=len(rows), skipped=len(rows) - len(todo))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    with out_path.open("a", encoding="utf-8") as sink:

        def record(outcome: Outcome) -> None:
            with lock:
                if outcome.result is not None:
                    sink.write(json.dumps(outcome.result, ensure_ascii=False) + "\n")
                    sink.flush()
                    summary.statuses[outcome.result["status"]] += 1
                    if outcome.result.get("decision"):
                        summary.decisions[outcome.result["decision"]] += 1
                    for d in outcome.result.get("details") or []:
                        err.print(f"row {outcome.row.row}: {d.get('field')}: {d.get('message')}")
                else:
                    summary.retry += 1
                    err.print(f"row {outcome.row.row}: not decided ({outcome.retry}); run again to retry")
                progress.advance(task)

        columns = (TextColumn("deciding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err) as progress:
            task = progress.add_task("decide", total=len(todo))
            unreadable = [r for r in todo if r.problem]
            for r in unreadable:
                record(
                    Outcome(
                        r,
                        _invalid(
                            r, "INVALID", 400, "invalid row", [{"field": "(row)", "message": r.problem}]
                        ),
                    )
                )
            readable = [r for r in todo if not r.problem]
            if endpoint:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    for outcome in pool.map(lambda r: decide_remote(endpoint, r), readable):
                        record(outcome)
            elif readable:
                from lendguard.offline.local.runtime import LocalRuntime

                with LocalRuntime():
                    for r in readable:
                        record(decide_local(r))
    _print_summary(summary, out_path)
    if summary.retry or summary.statuses["INVALID"] or summary.statuses["CONFLICT"]:
        raise typer.Exit(1)


def _print_summary(summary: Summary, out_path: Path) -> None:
    out.print(
        f"{summary.rows} rows: {summary.skipped} already in {out_path}, {summary.rows - summary.skipped} this run"
    )
    table = Table()
    table.add_column("outcome")
    table.add_column("rows", justify="right")
    for decision, count in sorted(summary.decisions.items()):
        table.add_row(f"decided {decision}", str(count))
    for status in ("FAILED", "INVALID", "CONFLICT"):
        if summary.statuses[status]:
            table.add_row(status.lower(), str(summary.statuses[status]))
    if summary.retry:
        table.add_row("not decided (retry)", str(summary.retry))
    out.print(table)

"""``/v1/lists`` through the API's resolver, and ``lendguard lists`` against a served API (moto)."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from lendguard import deployment
from lendguard.core.hashing import LOCAL_SECRET

PHONE = "13800138000"


@pytest.fixture
def table(monkeypatch) -> Iterator[str]:
    """A moto lists table as ``deployment.TABLES`` declares it, with the local hash secret."""
    from moto import mock_aws

    from lendguard.store import aws, secrets
    from lendguard.store.tables import create_table, table_spec

    spec = table_spec(deployment.ENV_LISTS_TABLE)
    monkeypatch.setenv(spec.env_var, "lendguard-test-lists")
    monkeypatch.setenv(deployment.ENV_HASH_SECRET, LOCAL_SECRET)
    monkeypatch.delenv(deployment.ENV_HASH_SECRET_PARAM, raising=False)
    with mock_aws():
        aws.reset_clients()
        secrets.hash_secret.cache_clear()
        yield create_table(spec)
    aws.reset_clients()
    secrets.hash_secret.cache_clear()


def request(method: str, target: str, body: Any = None) -> tuple[int, Any]:
    """One request through the same resolver the Lambda and ``lendguard serve`` run."""
    from authn import resolve_as

    data = body.encode() if isinstance(body, str) else json.dumps(body).encode() if body is not None else None
    kind = "text/csv" if target.startswith("/v1/lists/import") else "application/json"
    status, _, text = resolve_as(method, target, {"Content-Type": kind}, data)
    return status, json.loads(text)


def item_count(table: str) -> int:
    from lendguard.store.aws import client

    return client("dynamodb").scan(TableName=table, Select="COUNT")["Count"]


# -- HTTP ------------------------------------------------------------------------------------------
def test_put_get_delete_over_http(table):
    path = "/v1/lists/black/phone/%2B86%20138%200013%208000"
    body = {"reason_code": "FRAUD_RING", "reason": "ring", "ttl_days": 30, "added_by": "alice"}
    status, created = request("PUT", path, body)
    assert status == 201 and created["action"] == "add" and created["entry"]["key_type"] == "PHONE"
    status, changed = request("PUT", f"/v1/lists/BLACK/PHONE/{PHONE}", {"ttl_days": 60, "added_by": "bob"})
    assert status == 200 and changed["action"] == "extend"
    status, looked = request("GET", f"/v1/lists/black/phone/{PHONE}")
    assert status == 200 and looked["listed"] and looked["entry"]["reason_code"] == "FRAUD_RING"
    assert [e["action"] for e in looked["history"]] == ["add", "extend"]
    status, removed = request("DELETE", f"{path}?removed_by=carol&reason=cleared")
    assert status == 200 and removed["action"] == "remove"
    status, looked = request("GET", path)
    assert status == 200 and looked["listed"] is False and looked["history"][-1]["by"] == "carol"
    status, missing = request("DELETE", f"{path}?removed_by=carol")
    assert status == 404 and "not listed" in missing["error"] and PHONE not in json.dumps(missing)


@pytest.mark.parametrize(
    ("method", "target", "body", "field", "words"),
    [
        ("PUT", "/v1/lists/purple/phone/13800138000", {"reason_code": "X1", "added_by": "a"}, "kind", "purple"),
        ("GET", "/v1/lists/black/email/a@b.c", None, "key_type", "email"),
        ("DELETE", "/v1/lists/grey/fax/1?removed_by=a", None, "key_type", "fax"),
        ("PUT", "/v1/lists/black/phone/13800138000", "{not json", "(body)", "not JSON"),
        ("PUT", "/v1/lists/black/phone/13800138000", None, "(body)", "empty"),
        ("PUT", "/v1/lists/black/phone/13800138000", [1], "(body)", "JSON object"),
        ("GET", "/v1/lists/export?limit=0", None, "limit", "1 to 5000"),
        ("GET", "/v1/lists/export?kind=beige", None, "kind", "beige"),
        ("POST", "/v1/lists/import?added_by=ops", "kind,key,value\n", "(header)", "key_type"),
    ],
)  # fmt: skip
def test_bad_requests_are_400_naming_the_field_and_write_nothing(table, method, target, body, field, words):
    status, payload = request(method, target, body)
    assert status == 400, payload
    assert field in [d["field"] for d in payload["details"]]
    assert any(words in d["message"] for d in payload["details"])
    assert item_count(table) == 0


def test_a_bad_path_and_a_bad_body_are_named_in_one_answer(table):
    status, payload = request("PUT", "/v1/lists/purple/fax/1", "{not json")
    assert status == 400
    assert {d["field"] for d in payload["details"]} == {"kind", "key_type", "(body)"}
    assert item_count(table) == 0


def test_import_over_http_reports_rows_and_refuses_oversized_requests(table):
    text = "kind,key_type,value,reason,ttl_days\nBLACK,DEVICE_ID,dev-0001,FRAUD_RING,\nBLACK,PHONE,12,X,\n"
    status, report = request("POST", "/v1/lists/import?added_by=ops&source=vendor", text)
    assert status == 200 and (report["written"], report["failed"]) == (1, 1)
    assert report["errors"] == [{"row": 2, "field": "value", "message": report["errors"][0]["message"]}]
    before = item_count(table)
    status, payload = request(
        "POST", "/v1/lists/import?added_by=ops", "kind,key_type,value\n" + "BLACK,PHONE,13800138000\n" * 5001
    )
    assert status == 400 and "5000" in payload["details"][0]["message"] and item_count(table) == before
    status, exported = request("GET", "/v1/lists/export?kind=black&limit=10")
    assert status == 200 and exported["next"] is None
    assert [(e["source"], e["reason_code"]) for e in exported["entries"]] == [("vendor", "FRAUD_RING")]


def test_logs_never_carry_the_clear_value(table, monkeypatch):
    from lendguard.http.routes import lists as routes

    lines: list[str] = []

    class Recorder:
        def info(self, message: str, extra: dict | None = None) -> None:
            lines.append(message + json.dumps(extra, default=str))

    monkeypatch.setattr(routes, "logger", Recorder())
    request("PUT", f"/v1/lists/grey/phone/{PHONE}", {"reason_code": "DISPUTE", "added_by": "ops"})
    request("POST", "/v1/lists/import?added_by=ops", f"kind,key_type,value\nBLACK,PHONE,+86{PHONE}\n")
    request("DELETE", f"/v1/lists/grey/phone/{PHONE}?removed_by=ops")
    assert len(lines) == 3 and all("hash_prefix" in line or "import_id" in line for line in lines)
    assert not any(PHONE in line for line in lines)


# -- CLI -------------------------------------------------------------------------------------------
@pytest.fixture
def endpoint(table, tmp_path) -> Iterator[str]:
    """``lendguard serve``'s HTTP server on a free loopback port, over the moto table."""
    from authn import write_users_file

    from lendguard.offline.local.server import make_server

    server = make_server(0, write_users_file(tmp_path / "users.json"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def lendguard(*args: str) -> Any:
    from authn import cli_token_env

    from lendguard.offline.cli.main import app

    return CliRunner().invoke(app, list(args), env=cli_token_env(args), catch_exceptions=False)


def test_cli_add_get_remove(endpoint):
    added = lendguard("lists", "add", "grey", "phone", "+86 138 0013 8000", "-c", "DISPUTE", "--reason",
                      "card dispute", "--ttl-days", "90", "--by", "alice", "--endpoint", endpoint)  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "add" in added.output and "DISPUTE" in added.output and PHONE not in added.output
    got = lendguard("lists", "get", "GREY", "PHONE", PHONE, "--endpoint", endpoint)
    assert got.exit_code == 0 and "listed" in got.output and "alice" in got.output
    removed = lendguard("lists", "remove", "grey", "phone", PHONE, "--by", "bob", "--endpoint", endpoint)
    assert removed.exit_code == 0 and "removed" in removed.output
    gone = lendguard("lists", "get", "grey", "phone", PHONE, "--endpoint", endpoint)
    assert gone.exit_code == 1 and "not listed" in gone.output and "bob" in gone.output
    bad = lendguard("lists", "add", "purple", "phone", PHONE, "-c", "X1", "--endpoint", endpoint)
    assert bad.exit_code == 2 and "kind" in bad.output and "PURPLE" in bad.output.upper()


def test_cli_import_in_chunks_with_a_row_report_then_export(endpoint, tmp_path):
    rows = 6200  # two requests of at most 5,000 rows (and under the byte budget)
    path = tmp_path / "lists.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["kind", "key_type", "value", "reason", "ttl_days"])
        for i in range(rows):
            value = f"dev-bulk-{i:06d}"
            if i in (10, 6100):
                value = "no"  # too short for a device id (both rows are GREY)
            writer.writerow(
                ["BLACK" if i % 2 else "GREY", "DEVICE_ID", value, "FRAUD_RING", "" if i % 3 else "30"]
            )
    report = tmp_path / "report.json"
    result = lendguard(
        "lists", "import", str(path), "--by", "ops", "--report", str(report), "--endpoint", endpoint
    )
    assert result.exit_code == 1, result.output  # some rows were rejected
    assert f"{rows} rows: {rows - 2} entries written" in result.output
    saved = json.loads(report.read_text())
    assert [(e["row"], e["field"]) for e in saved["errors"]] == [(11, "value"), (6101, "value")]
    assert len(saved["import_ids"]) >= 2

    out = tmp_path / "black.csv"
    exported = lendguard("lists", "export", "--kind", "black", "--out", str(out), "--page-size", "1000",
                         "--endpoint", endpoint)  # fmt: skip
    assert exported.exit_code == 0, exported.output
    lines = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(lines) == rows // 2 and {r["kind"] for r in lines} == {"BLACK"}
    assert not any("dev-bulk" in v for r in lines for v in r.values())


def test_cli_reports_an_unreachable_endpoint():
    result = lendguard("lists", "get", "black", "phone", PHONE, "--endpoint", "http://127.0.0.1:9")
    assert result.exit_code == 2 and "cannot reach" in result.output

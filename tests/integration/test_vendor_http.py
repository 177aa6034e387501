"""The generic HTTP JSON adapter against a fake vendor on 127.0.0.1 (real sockets).

The fake answers by path: a good answer, a slow one, 500s, a 500-then-200 vendor, invalid JSON,
JSON of the wrong shape, 404, an oversized body and a redirect; a closed port gives connection
refused. Everything stays on loopback and every wait is bounded.
"""

import copy
import json
import socket
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from moto import mock_aws

from lendguard.core.application import parse_application
from lendguard.core.hashing import LOCAL_SECRET
from lendguard.decision.pipeline import MemoryArchive
from lendguard.decision.stages import external_data, validate
from lendguard.decision.state import Subject
from lendguard.offline.project import default_policy_path
from lendguard.policy.loader import load_policy_data
from lendguard.policy.schema import Vendor
from lendguard.store import aws, vendor_secrets
from lendguard.vendors.base import ProviderRegistry
from lendguard.vendors.caller import CallRequest, call_vendor
from lendguard.vendors.http import HttpJsonProvider

SLOW_S = 1.0
IDENTITY_DOC = {"code": 0, "data": {"result": {"match": True, "name_ok": True}, "a/b": "escaped"}}
BUREAU_DOC = {
    "report": {"thin": False, "queries": {"d7": 1, "d30": 3, "d90": 5}, "open": 2, "debt": 1250.5,
               "overdue": {"count": 0, "max_days": 0}, "phone_tenure": 48},
}  # fmt: skip


class FakeVendor:
    """A threaded HTTP server on 127.0.0.1:0 that records every request it gets."""

    def __init__(self):
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake.handle(self)

            def do_POST(self):
                fake.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for r in self.requests if r["path"] == path)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        with self.lock:
            self.requests.append(
                {"method": h.command, "path": parts.path, "query": parse_qs(parts.query),
                 "headers": dict(h.headers), "body": body}
            )  # fmt: skip
            seen = sum(1 for r in self.requests if r["path"] == parts.path)
        status, payload, headers = self.route(parts.path, seen)
        try:
            h.send_response(status)
            for k, v in {"Content-Type": "application/json", **headers}.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and hung up, as the slow-vendor test intends

    def route(self, path: str, seen: int) -> tuple[int, bytes, dict]:
        ok = json.dumps(IDENTITY_DOC).encode()
        if path == "/ok":
            return 200, ok, {}
        if path == "/bureau":
            return 200, json.dumps(BUREAU_DOC).encode(), {}
        if path == "/slow":
            time.sleep(SLOW_S)
            return 200, ok, {}
        if path == "/500":
            return 500, b'{"error": "internal"}', {}
        if path == "/flaky":
            return (503, b"busy", {}) if seen <= 2 else (200, ok, {})
        if path == "/invalid":
            return 200, b'{"data": {"result": ', {}
        if path == "/wrong":
            return 200, json.dumps({"data": {"result": {"match": "perhaps"}}}).encode(), {}
        if path == "/big":
            return 200, json.dumps({**IDENTITY_DOC, "pad": "x" * 4000}).encode(), {}
        if path == "/redirect":
            return 302, b"", {"Location": "/ok"}
        return 404, b'{"error": "no such path"}', {}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def fake():
    server = FakeVendor()
    yield server
    server.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SUBJECT = Subject(id_number="idhash", phone="phonehash", device_id="devhash")
APPLICATION = {"application_id": "APP-1", "requested_amount": 3000.0,
               "applicant": {"name": "Wang Fang", "id_number": "110105199001011234"}}  # fmt: skip


def identity(url: str, **overrides) -> Vendor:
    http = {
        "url": url, "secret_id": "vendors/identity", "auth_prefix": "Bearer ",
        "headers": {"X-Client": "lendguard-test"},
        "request_template": {"idNo": "${application.applicant.id_number}", "name": "${application.applicant.name}",
                             "ref": "case-${application.application_id}", "amount": "${application.requested_amount}"},
        "response_map": {"match": "/data/result/match", "name_match": "/data/result/name_ok"},
    }  # fmt: skip
    http.update(overrides.pop("http", {}))
    settings = {"id": "identity", "service": "identity_check", "adapter": "http", "cost": 0.3, "timeout_ms": 300,
                "retries": 2, "backoff_base_ms": 10, "backoff_max_ms": 20, "http": http}  # fmt: skip
    return Vendor.model_validate({**settings, **overrides})


def registry(**kwargs) -> ProviderRegistry:
    return ProviderRegistry(secrets=lambda secret_id, field: f"token-for-{secret_id}", **kwargs)


def call(vendor: Vendor, reg: ProviderRegistry | None = None):
    req = CallRequest(case_id="C-1", application_id="APP-1", subject=SUBJECT, application=APPLICATION)
    return call_vendor(vendor, "identity", req, reg or registry(), MemoryArchive(keep=True))


def test_a_good_answer_is_mapped_by_json_pointer_and_the_request_is_templated(fake):
    before = fake.count("/ok")
    vendor = identity(
        fake.url("/ok"),
        http={"response_map": {"match": "/data/result/match", "name_match": "/data/result/name_ok"}},
    )
    out = call(vendor)
    assert out.call.status == "ok" and out.call.attempts == 1 and out.call.cost == 0.3
    assert out.facts == {"identity.match": True, "identity.name_match": True}
    assert fake.count("/ok") == before + 1
    sent = [r for r in fake.requests if r["path"] == "/ok"][-1]
    assert (
        sent["method"] == "POST" and sent["headers"]["Authorization"] == "Bearer token-for-vendors/identity"
    )
    assert (
        sent["headers"]["X-Client"] == "lendguard-test"
        and sent["headers"]["Content-Type"] == "application/json"
    )
    assert json.loads(sent["body"]) == {"idNo": "110105199001011234", "name": "Wang Fang", "ref": "case-APP-1",
                                        "amount": 3000.0}  # fmt: skip


def test_the_raw_answer_is_what_gets_archived(fake):
    provider = HttpJsonProvider(identity(fake.url("/ok")), lambda s, f: "t")
    response, raw = provider.fetch(SUBJECT, APPLICATION)
    assert json.loads(raw) == IDENTITY_DOC and response.match is True


def test_get_sends_the_template_as_query_parameters(fake):
    vendor = identity(
        fake.url("/ok"), http={"method": "GET", "request_template": {"id": "${subject.id_number}", "n": 2}}
    )
    assert call(vendor).call.status == "ok"
    sent = [r for r in fake.requests if r["path"] == "/ok"][-1]
    assert sent["method"] == "GET" and sent["query"] == {"id": ["idhash"], "n": ["2"]} and not sent["body"]


def test_a_slow_vendor_times_out_on_every_attempt(fake):
    started = time.perf_counter()
    out = call(identity(fake.url("/slow"), timeout_ms=200, retries=1))
    elapsed = time.perf_counter() - started
    assert out.call.status == "error" and out.call.error_type == "timeout" and out.call.attempts == 2
    assert out.facts is None and elapsed < 0.9  # 2 x 200 ms, far from 2 x SLOW_S


def test_500_is_retried_then_reported(fake):
    before = fake.count("/500")
    out = call(identity(fake.url("/500")))
    assert out.call.status == "error" and out.call.error_type == "http_5xx" and out.call.attempts == 3
    assert fake.count("/500") == before + 3 and "HTTP 500" in out.call.detail and out.call.cost == 0


def test_a_vendor_that_recovers_within_the_retries_is_paid_once(fake):
    out = call(identity(fake.url("/flaky")))
    assert out.call.status == "ok" and out.call.attempts == 3 and out.call.cost == 0.3 and out.call.billed


def test_invalid_json_is_retried_then_reported_as_malformed(fake):
    before = fake.count("/invalid")
    out = call(identity(fake.url("/invalid"), retries=1))
    assert out.call.error_type == "malformed" and "not JSON" in out.call.detail
    assert fake.count("/invalid") == before + 2


def test_json_of_the_wrong_shape_is_malformed_and_names_the_field(fake):
    out = call(identity(fake.url("/wrong"), retries=0))
    assert out.call.error_type == "malformed" and "field name_match" in out.call.detail
    vendor = identity(
        fake.url("/wrong"),
        retries=0,
        http={"response_map": {"match": "/data/result/match", "name_match": "/data/result/match"}},
    )
    out = call(vendor)
    assert out.call.error_type == "malformed" and "match: Input should be a valid boolean" in out.call.detail


def test_connection_refused_is_retried_then_reported(fake):
    out = call(identity(f"http://127.0.0.1:{closed_port()}/ok", retries=1))
    assert out.call.status == "error" and out.call.error_type == "unavailable" and out.call.attempts == 2
    assert "cannot connect" in out.call.detail


def test_4xx_redirects_and_oversized_answers_are_not_worth_retrying_or_trusting(fake):
    before = fake.count("/nowhere")
    out = call(identity(fake.url("/nowhere")))
    assert (
        out.call.error_type == "http_4xx" and out.call.attempts == 1 and fake.count("/nowhere") == before + 1
    )
    out = call(identity(fake.url("/redirect")))
    assert out.call.error_type == "http_3xx" and out.call.attempts == 1  # never followed
    out = call(identity(fake.url("/big"), retries=0, http={"max_response_bytes": 1024}))
    assert out.call.error_type == "malformed" and "max_response_bytes" in out.call.detail


def test_a_missing_secret_is_a_configuration_error_that_is_not_retried(fake):
    def no_secret(secret_id, field):
        raise RuntimeError(f"secret {secret_id!r}: ResourceNotFoundException")

    out = call(identity(fake.url("/ok")), ProviderRegistry(secrets=no_secret))
    assert out.call.error_type == "config" and out.call.attempts == 1
    assert "cannot read its secret: secret 'vendors/identity': ResourceNotFoundException" in out.call.detail
    out = call(identity(fake.url("/ok")), ProviderRegistry())
    assert out.call.error_type == "config" and "no secret reader" in out.call.detail


def test_the_auth_header_comes_from_secrets_manager(fake, monkeypatch):
    aws.reset_clients()
    vendor_secrets.clear_cache()
    try:
        with mock_aws():
            aws.client("secretsmanager").create_secret(
                Name="vendors/identity", SecretString=json.dumps({"token": "sm-token-9"})
            )
            vendor = identity(
                fake.url("/ok"), http={"secret_field": "token", "auth_header": "X-Api-Key", "auth_prefix": ""}
            )
            out = call(vendor, ProviderRegistry(secrets=vendor_secrets.get_vendor_secret))
    finally:
        aws.reset_clients()
        vendor_secrets.clear_cache()
    assert out.call.status == "ok"
    assert [r for r in fake.requests if r["path"] == "/ok"][-1]["headers"]["X-Api-Key"] == "sm-token-9"


def test_the_breaker_stops_calling_a_failing_vendor(fake):
    reg = registry()
    vendor = identity(fake.url("/500"), retries=0, breaker={"failure_threshold": 2, "cooldown_s": 60})
    call(vendor, reg)
    call(vendor, reg)
    before = fake.count("/500")
    out = call(vendor, reg)
    assert out.call.status == "skipped" and out.call.error_type == "circuit_open"
    assert fake.count("/500") == before  # not even one request while open


def test_an_http_bureau_in_a_policy_feeds_the_rules(fake, examples):
    data = copy.deepcopy(yaml.safe_load((default_policy_path()).read_text()))
    data["vendors"][3] = {
        "id": "bureau", "service": "bureau_report", "adapter": "http", "cost": 3.0, "timeout_ms": 500,
        "needs_consent": "bureau",
        "http": {"url": fake.url("/bureau"), "request_template": {"id": "${application.applicant.id_number}"},
                 "response_map": {"thin_file": "/report/thin", "multi_lender_7d": "/report/queries/d7",
                                  "multi_lender_30d": "/report/queries/d30", "multi_lender_90d": "/report/queries/d90",
                                  "open_loans": "/report/open", "monthly_debt": "/report/debt",
                                  "overdue_count_24m": "/report/overdue/count",
                                  "max_overdue_days": "/report/overdue/max_days",
                                  "phone_tenure_months": "/report/phone_tenure"}},
    }  # fmt: skip
    policy = load_policy_data(data)
    app = parse_application(examples["approve"], policy.products)
    state = validate.open_case(app, policy, "C-http", datetime(2026, 11, 22, tzinfo=UTC), LOCAL_SECRET)
    state.facts["lists.white.any"] = False
    archive = MemoryArchive(keep=True)
    external_data.run(state, policy, ProviderRegistry(), archive)
    bureau = state.trace.vendors[-1]
    assert bureau.status == "ok" and bureau.cost == 3.0 and state.facts["bureau.monthly_debt"] == 1250.5
    assert json.loads(archive.payloads[bureau.payload_ref]) == BUREAU_DOC
    seven = next(r for r in state.trace.rules if r.rule_id == "BUR_MULTI_LENDER_7D")
    assert seven.outcome == "no_hit" and seven.observed == {"bureau.multi_lender_7d": 1}

"""Vendor configuration is validated with errors that name the field; pointers and templates."""

import copy

import pytest
import yaml

from lendguard.core.errors import PolicyError
from lendguard.offline.project import default_policy_path
from lendguard.policy.loader import load_policy_data
from lendguard.policy.pointer import PointerError, PointerNotFound, parse_pointer, resolve_pointer
from lendguard.policy.template import TemplateError, check_template, render

BASE = yaml.safe_load((default_policy_path()).read_text())

HTTP_BUREAU = {
    "id": "bureau",
    "service": "bureau_report",
    "adapter": "http",
    "cost": 3.0,
    "needs_consent": "bureau",
    "http": {
        "url": "https://bureau.example.com/v2/report",
        "secret_id": "lendguard/bureau",
        "auth_prefix": "Bearer ",
        "request_template": {
            "id": "${application.applicant.id_number}",
            "name": "${application.applicant.name}",
        },
        "response_map": {
            "thin_file": "/report/thin",
            "multi_lender_7d": "/report/queries/d7",
            "multi_lender_30d": "/report/queries/d30",
            "multi_lender_90d": "/report/queries/d90",
            "open_loans": "/report/open",
            "monthly_debt": "/report/debt",
            "overdue_count_24m": "/report/overdue/count",
            "max_overdue_days": "/report/overdue/max_days",
            "phone_tenure_months": "/report/phone_tenure",
        },
    },
}


# policy_with puts the HTTP bureau last: the path validation errors name.
BUREAU_AT = f"vendors.{len(BASE['vendors']) - 1}"


def policy_with(**vendor_overrides):
    """The default policy with the bureau vendor replaced by ``HTTP_BUREAU`` + overrides."""
    data = copy.deepcopy(BASE)
    vendor = copy.deepcopy(HTTP_BUREAU)
    for key, value in vendor_overrides.items():
        if value is None:
            vendor.pop(key, None)
        else:
            vendor[key] = value
    data["vendors"] = [v for v in data["vendors"] if v["id"] != "bureau"] + [vendor]
    return data


def http_with(**http_overrides):
    block = {**HTTP_BUREAU["http"], **http_overrides}
    return policy_with(http={k: v for k, v in block.items() if v is not None})


def error_of(data) -> str:
    with pytest.raises(PolicyError) as info:
        load_policy_data(data, "p.yaml")
    return str(info.value)


def test_default_policy_vendors_have_safe_defaults(default_policy):
    bureau = default_policy.vendor_by_id["bureau"]
    assert bureau.kind == "bureau" and default_policy.vendor_by_id["fraud_score"].kind == "antifraud"
    assert bureau.breaker.failure_threshold == 5 and bureau.breaker.cooldown_s == 30
    assert bureau.faults is None and bureau.http is None
    assert bureau.backoff_base_ms <= bureau.backoff_max_ms


def test_an_http_vendor_loads():
    policy = load_policy_data(policy_with(), "p.yaml")
    bureau = policy.vendor_by_id["bureau"]
    assert bureau.adapter == "http" and bureau.http.method == "POST"
    assert bureau.http.response_map["max_overdue_days"] == "/report/overdue/max_days"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (policy_with(http=None), "adapter 'http' needs an 'http' block"),
        (policy_with(adapter="simulated"), "'http' only applies to adapter 'http'"),
        (policy_with(faults={"error_rate": 0.1}), "'faults' only applies to adapter 'simulated'"),
        (http_with(url="http://bureau.example.com/x"), "must use https (http is allowed only on loopback)"),
        (http_with(url="ftp://bureau.example.com/x"), "must be an absolute https URL"),
        (http_with(url="https://u:p@bureau.example.com/x"), "must not embed credentials"),
        (http_with(secret_id=None), "http.secret_field and http.auth_prefix need http.secret_id"),
        (http_with(headers={"authorization": "x"}), "http.headers must not set 'Authorization'"),
        (http_with(headers={"bad header": "x"}), f"{BUREAU_AT}.http.headers.bad header.[key]"),
        (http_with(request_template={"id": "${applicant.id_number}"}), "placeholder ${applicant.id_number}"),
        (http_with(request_template={"id": "${application.x"}), "unterminated placeholder"),
        (http_with(method="GET", request_template={"a": {"b": 1}}), "request_template.a: a GET query"),
        (http_with(response_map={**HTTP_BUREAU["http"]["response_map"], "score": "/s"}), "fields ['score']"),
        (http_with(response_map={"thin_file": "/t"}), "must map the required fields ['max_overdue_days'"),
        (
            http_with(response_map={**HTTP_BUREAU["http"]["response_map"], "thin_file": "report/thin"}),
            "http.response_map.thin_file: JSON pointer 'report/thin' must be empty or start with '/'",
        ),
        (http_with(max_response_bytes=10), f"{BUREAU_AT}.http.max_response_bytes"),
        (policy_with(backoff_base_ms=500, backoff_max_ms=100), "backoff_base_ms must not be above"),
        (policy_with(timeout_ms=9000, retries=2), "exceeds 20000 ms"),
        (policy_with(breaker={"failure_threshold": 0}), f"{BUREAU_AT}.breaker.failure_threshold"),
        (policy_with(cost=-1), f"{BUREAU_AT}.cost"),
        (policy_with(service="credit_score"), f"{BUREAU_AT}.service"),
    ],
)
def test_bad_vendor_configuration_names_the_field(data, expected):
    message = error_of(data)
    assert expected in message, message


def test_fault_injection_knobs_are_checked():
    data = copy.deepcopy(BASE)
    data["vendors"][0]["faults"] = {"error_rate": 0.6, "malformed_rate": 0.6}
    assert "error_rate + malformed_rate + slow_rate is 1.2" in error_of(data)
    data["vendors"][0]["faults"] = {"slow_rate": 0.1}
    assert "faults.slow_ms must be set" in error_of(data)
    data["vendors"][0]["faults"] = {"error_rate": 1.5}
    assert "vendors.0.faults.error_rate" in error_of(data)
    data["vendors"][0]["faults"] = {"latency_ms": 100, "error_rate": 0.1, "seed": 3}
    assert load_policy_data(data).vendors[0].faults.latency_ms == 100


def test_a_vendor_listed_twice_in_a_group_is_refused():
    data = copy.deepcopy(BASE)
    antifraud = next(g for g in data["vendor_groups"] if g["id"] == "antifraud")
    antifraud["vendors"] = ["fraud_blacklist", "fraud_score", "fraud_score"]
    assert "vendor_groups.antifraud: vendors listed twice: ['fraud_score']" in error_of(data)


# -- RFC 6901 ----------------------------------------------------------------------------------
RFC_DOC = {"foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3, "g|h": 4, "i\\j": 5,
           'k"l': 6, " ": 7, "m~n": 8}  # fmt: skip


@pytest.mark.parametrize(
    ("pointer", "value"),
    [
        ("", RFC_DOC), ("/foo", ["bar", "baz"]), ("/foo/0", "bar"), ("/", 0), ("/a~1b", 1), ("/c%d", 2),
        ("/e^f", 3), ("/g|h", 4), ("/i\\j", 5), ('/k"l', 6), ("/ ", 7), ("/m~0n", 8),
    ],
)  # fmt: skip
def test_rfc6901_examples(pointer, value):
    assert resolve_pointer(RFC_DOC, pointer) == value


def test_pointer_escapes_decode_in_order_and_bad_pointers_fail():
    assert parse_pointer("/~01") == ["~1"]  # not "/"
    for bad in ("foo", "/a~2", "/a~"):
        with pytest.raises(PointerError):
            parse_pointer(bad)
    for missing in ("/foo/2", "/foo/-", "/foo/01", "/nope", "/foo/0/x"):
        with pytest.raises(PointerNotFound):
            resolve_pointer(RFC_DOC, missing)


def test_template_keeps_types_for_whole_placeholders_and_interpolates_inside_strings():
    context = {"application": {"amount": 1200.5, "applicant": {"name": "Li"}}, "subject": {"phone": "h1"}}
    template = {"amount": "${application.amount}", "greeting": "hi ${application.applicant.name}!",
                "nested": [{"p": "${subject.phone}"}], "fixed": 3}  # fmt: skip
    assert render(template, context) == {
        "amount": 1200.5,
        "greeting": "hi Li!",
        "nested": [{"p": "h1"}],
        "fixed": 3,
    }
    assert check_template(template) == []
    with pytest.raises(TemplateError, match="'missing' is not in the request context"):
        render({"x": "${application.missing}"}, context)

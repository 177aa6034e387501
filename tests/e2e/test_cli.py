"""The `lendguard` command as a user runs it (real processes, real sockets on 127.0.0.1)."""

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest
from served import LENDGUARD, served_stack

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "applications"
ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
# The documented default users file `lendguard serve` reads: its loan-app backend and operator.
TOKENS = {u["sub"]: u["token"] for u in json.loads((ROOT / "examples" / "users.json").read_text())["users"]}
LOAN_APP = TOKENS["arn:aws:iam::000000000000:role/loan-app-backend"]
OPERATOR = TOKENS["olivia"]


def run(*args: str, timeout: float = 120, token: str = OPERATOR) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*LENDGUARD, *args], capture_output=True, text=True, timeout=timeout,
        env={**ENV, "LENDGUARD_TOKEN": token}, cwd=ROOT,
    )  # fmt: skip


def get(url: str) -> urllib.request.Request:
    return urllib.request.Request(url, headers={"Authorization": f"Bearer {OPERATOR}"})


def test_decide_prints_the_decision_as_json(default_model):
    result = run("decide", str(EXAMPLES / "approve.json"), "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["decision"] == "APPROVE" and body["credit_limit"] == 5000
    assert {"case_id", "reasons", "policy", "model", "stages", "vendor_cost", "execution_arn"} <= set(body)


def test_invalid_application_exits_2_and_names_each_field(default_model):
    result = run("decide", str(EXAMPLES / "invalid.json"))
    assert result.returncode == 2
    for field in ("requested_amount", "applicant.id_number", "applicant.phone", "promo_code"):
        assert field in result.stderr
    assert result.stdout == ""


def test_missing_file_exits_2():
    result = run("decide", "no-such-file.json")
    assert result.returncode == 2 and "no-such-file.json" in result.stderr


@pytest.fixture(scope="module")
def served(default_model, tmp_path_factory):
    with served_stack(tmp_path_factory.mktemp("serve") / "serve.log") as url:
        yield url


def test_served_stack_keeps_state_across_calls(served):
    result = run(
        "decide", str(EXAMPLES / "reject-admission.json"), "--json", "--endpoint", served, token=LOAN_APP
    )
    assert result.returncode == 0, result.stderr
    case_id = json.loads(result.stdout)["case_id"]

    with urllib.request.urlopen(get(f"{served}/v1/cases/{case_id}"), timeout=10) as resp:
        case = json.loads(resp.read())
    assert case["decision"] == "REJECT" and case["halted_at"] == "admission"

    listing = run("executions", "list", "--endpoint", served)
    assert listing.returncode == 0 and case_id in listing.stdout and "SUCCEEDED" in listing.stdout

    shown = run("executions", "show", case_id, "--endpoint", served)
    assert shown.returncode == 0
    assert "Admission" in shown.stdout and "ExternalData" not in shown.stdout


def test_the_token_comes_from_the_option_or_the_environment(served):
    shown = run("--token", OPERATOR, "executions", "list", "--endpoint", served, token="")
    assert shown.returncode == 0, shown.stderr
    refused = run("executions", "list", "--endpoint", served, token="lg-local-not-a-user-0000")
    assert refused.returncode == 2 and "unauthorized" in refused.stderr and "Authorization" in refused.stderr
    # A loan-app backend may decide but not read cases: 403, exit 2.
    forbidden = run("executions", "list", "--endpoint", served, token=LOAN_APP)
    assert forbidden.returncode == 2 and "needs one of: analyst, operator" in forbidden.stderr


def test_served_api_rejects_bad_input_with_field_errors(served):
    result = run("decide", str(EXAMPLES / "invalid.json"), "--endpoint", served, token=LOAN_APP)
    assert result.returncode == 2 and "applicant.id_number" in result.stderr
    request = urllib.request.Request(
        f"{served}/v1/decisions", data=b'{"application_id": 5}', method="POST",
        headers={"Authorization": f"Bearer {LOAN_APP}", "Content-Type": "application/json"},
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request, timeout=10)
    assert exc.value.code == 400
    body = json.loads(exc.value.read())
    assert body["error"] == "invalid application"
    assert {"field": "application_id", "message": "Input should be a valid string"} in body["details"]
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(get(f"{served}/v1/cases/C-does-not-exist"), timeout=10)
    assert exc.value.code == 404


def test_demo_reports_outcomes_funnel_spend_and_a_trace(default_model):
    result = run("demo", "-n", "30", "--seed", "3", timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for needle in (
        "Decisions (30 applications)",
        "Funnel",
        "vendor spend",
        "p50",
        "p95",
        "One full trace",
        "Rules",
        "payloads under s3://",
    ):
        assert needle in out

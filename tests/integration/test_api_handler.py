"""The deployed entry point: API Gateway proxy events through functions/api/handler.py."""

import json

from authn import USERS, caller_for, token_of

from lendguard import deployment
from lendguard.offline import project
from lendguard.offline.local.lambda_hook import LocalContext, load_handler
from lendguard.offline.local.server import proxy_event
from lendguard.offline.local.users import request_context_of


def call(method: str, path: str, body: dict | str | None = None) -> tuple[int, dict]:
    handler = load_handler(project.function_dir(deployment.API_FUNCTION), "lendguard_fn_api_test")
    raw = body if isinstance(body, str | None) else json.dumps(body)
    data = raw.encode() if raw else None
    context = request_context_of(USERS.find(token_of(caller_for(method, path, data))))
    event = proxy_event(method, path, {"Content-Type": "application/json"}, data, context)
    result = handler(event, LocalContext("lendguard-api"))
    return result["statusCode"], json.loads(result["body"])


def test_post_decision_through_the_lambda_handler(runtime, examples):
    status, body = call("POST", "/v1/decisions", examples["approve"])
    assert status == 200 and body["decision"] == "APPROVE"
    status, case = call("GET", f"/v1/cases/{body['case_id']}")
    assert status == 200 and case["case_id"] == body["case_id"] and case["status"] == "DECIDED"


def test_invalid_bodies_get_400_with_field_details(runtime, examples):
    status, body = call("POST", "/v1/decisions", examples["invalid"])
    assert status == 400 and body["error"] == "invalid application"
    assert {"field": "promo_code", "message": "unknown field"} in body["details"]
    status, body = call("POST", "/v1/decisions", None)
    assert status == 400 and body["details"] == [{"field": "(body)", "message": "request body is empty"}]
    status, body = call("POST", "/v1/decisions", "{not json")
    assert status == 400 and body["details"][0]["field"] == "(body)"


def test_unknown_case_is_404_and_bad_query_is_400(runtime):
    status, body = call("GET", "/v1/cases/C-nope")
    assert status == 404 and "C-nope" in body["error"]
    status, body = call("GET", "/v1/executions?limit=zero")
    assert status == 400 and body["details"][0]["field"] == "limit"

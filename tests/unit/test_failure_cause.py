"""A FAILED case's cause: what an exception quoted of the application is scrubbed."""

import json

from pydantic import BaseModel, ValidationError

from lendguard.cases.record import failed_case


def test_a_failure_cause_never_keeps_what_it_quoted_of_the_application():
    class Phone(BaseModel):
        phone: int

    try:
        Phone.model_validate({"phone": "13800138000 call me, Wang Fang"})
    except ValidationError as exc:
        message = str(exc)
    assert "13800138000" in message and "Wang Fang" in message
    cause = json.dumps(
        {"errorType": "ValidationError", "errorMessage": message + " card 6222 0212 3456 7894"}
    )
    case = failed_case({"case_id": "C-1", "error": {"Error": "ValidationError", "Cause": cause}})
    text = json.dumps(case.error)
    assert "13800138000" not in text and "Wang Fang" not in text and "3456" not in text
    assert case.error["cause"]["errorType"] == "ValidationError"

"""Request bodies: every way a body can fail to be a JSON object is named on field ``(body)``."""

import pytest

from lendguard.core.errors import InvalidInput, json_object


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (None, "request body is empty"),
        ("", "request body is empty"),
        (b"", "request body is empty"),
        ("{not json", "not JSON"),
        (b"\xff\xfe", "not valid UTF-8"),
        ("[1, 2]", "must be a JSON object"),
        ([1, 2], "must be a JSON object"),
        ("42", "must be a JSON object"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused_on_the_body_field(body, problem):
    with pytest.raises(InvalidInput) as caught:
        json_object(body, "invalid thing")
    assert caught.value.message == "invalid thing"
    [detail] = caught.value.details
    assert detail.field == "(body)" and detail.message.startswith(problem)


@pytest.mark.parametrize("body", ['{"a": 1}', b'{"a": 1}', {"a": 1}])
def test_text_bytes_and_parsed_objects_give_the_same_mapping(body):
    assert dict(json_object(body, "invalid thing")) == {"a": 1}

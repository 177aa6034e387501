"""The borrower-facing reasons table: mapping, and what it refuses to say."""

import copy

import pytest
import yaml
from pydantic import ValidationError

from lendguard.core.errors import PolicyError
from lendguard.decision.state import Reason
from lendguard.offline.project import default_policy_path
from lendguard.policy.borrower_reasons import BorrowerReasons
from lendguard.policy.loader import load_policy_data

BASE = yaml.safe_load(default_policy_path().read_text())


def reasons(*codes: str) -> list[Reason]:
    return [Reason(code=c, message="internal") for c in codes]


def test_codes_map_exactly_then_by_the_longest_prefix_then_to_the_default(default_policy):
    table = default_policy.borrower_reasons
    got = table.for_reasons(reasons("ADM_AGE", "BUR_MULTI_LENDER_7D", "MODEL_X", "LST_BLACK", "AF_BLACKLIST"))
    assert [r.code for r in got] == ["age", "credit_record", "overall_assessment"]  # each message once


@pytest.mark.parametrize(
    "text", ["You are on our blacklist", "Fraud screening refused you", "命中黑名单", "Rule LST"]
)
def test_a_message_naming_a_control_is_refused(text):
    with pytest.raises(ValidationError, match="must not be told"):
        BorrowerReasons(messages={"m": {"zh": "好", "en": text}}, default="m")


def test_unknown_message_ids_and_codes_no_rule_gives_are_refused():
    with pytest.raises(ValidationError, match="does not define"):
        BorrowerReasons(codes={"ADM_AGE": "nope"})
    data = copy.deepcopy(BASE)
    data["borrower_reasons"]["codes"]["ADM_AEG"] = "age"
    with pytest.raises(PolicyError, match="ADM_AEG"):
        load_policy_data(data)
    data = copy.deepcopy(BASE)
    data["borrower_reasons"]["messages"]["age"]["en"] = "ADM_AGE says no"
    with pytest.raises(PolicyError, match="names rule ADM_AGE"):
        load_policy_data(data)
